"""The clock readings of a recording: when, on the upstream's clock, each call was served.

The proxy times each call on its own clock (the wall clock, injected). The upstream's clock is another: a real
deployment's runs beside the wall clock, perhaps skewed; a mock's is virtual and jumps. The answers say where
the upstream's clock stood: a job's ``createdAt`` is its clock at the create (an anchor), the stamp of the
update a terminate caused is its clock at the terminate (an anchor too), and every time stamp an answer shows
had passed when it was answered (a lower bound). Between anchors the proxy's own timing fills in, and the
readings never go back.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

__all__ = ["readings"]


def readings(walls: Sequence[int], anchors: Mapping[int, int], lower: Sequence[int]) -> tuple[list[int], list[str]]:
    """The upstream's clock at each call (by index), and where the evidence disagreed.

    ``walls`` are the proxy's readings, ``anchors`` the known upstream readings of some calls, ``lower`` the
    least reading each call's answer allows. Before the first anchor, the first anchor's offset is used.
    """
    marks = sorted(anchors)
    found: list[int] = []
    notes: list[str] = []
    latest: int | None = None
    position = -1
    for index, wall in enumerate(walls):
        while position + 1 < len(marks) and marks[position + 1] <= index:
            position += 1
        reference = marks[position] if position >= 0 else (marks[0] if marks else None)
        offset = 0 if reference is None else anchors[reference] - walls[reference]
        value = max(wall + offset, lower[index])
        if index in anchors:
            value = anchors[index]
            if value < lower[index]:
                notes.append(f"call {index + 1}: its answer shows a time ({lower[index]}) after the upstream's "
                             f"clock at it ({value})")
        if latest is not None and value < latest:
            if index in anchors:
                notes.append(f"call {index + 1}: the upstream's clock read {value}, before the {latest} of an "
                             "earlier call; the recording keeps the clock from going back")
            value = latest
        found.append(value)
        latest = value
    return found, notes
