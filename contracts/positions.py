"""Where a JSON pointer's value starts in a JSON text: line and column, for reports a person or an editor can follow.

``locate(text, pointers)`` scans the text once, without building the document again, and descends only into
the containers that lie on the way to a pointer; everything else is skipped as text. A pointer to a member
that is not there (a missing required property) gets the position of the nearest value that is there, the
parent object. As with ``json.loads``, the last of repeated keys is the one a pointer means.

The text must be JSON (the caller has parsed it); lines and columns count from 1, columns in characters.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable
from dataclasses import dataclass
from json.decoder import scanstring  # type: ignore[attr-defined]  # the C string scanner; typeshed omits it

__all__ = ["Position", "locate", "parse_pointer"]

_SPACE = re.compile(r"[ \t\n\r]*")
_SCALAR_END = re.compile(r"[^ \t\n\r,\]}]*")
_STRUCTURE = re.compile(r'["{}\[\]]')

Path = tuple[str, ...]


@dataclass(frozen=True, order=True)
class Position:
    """A place in a text: ``offset`` counts characters from 0; ``line`` and ``column`` count from 1."""

    offset: int
    line: int
    column: int


def parse_pointer(pointer: str) -> Path:
    """The reference tokens of a JSON pointer (RFC 6901): ``/a~1b/0`` is ``("a/b", "0")``."""
    if not pointer:
        return ()
    return tuple(part.replace("~1", "/").replace("~0", "~") for part in pointer[1:].split("/"))


def locate(text: str, pointers: Iterable[str]) -> dict[str, Position]:
    """The position of each pointer's value in ``text`` (of its nearest present ancestor when it is absent)."""
    paths = {pointer: parse_pointer(pointer) for pointer in pointers}
    wanted = {path[:depth] for path in paths.values() for depth in range(len(path) + 1)}
    try:
        offsets = _Scanner(text, wanted).run()
    except (IndexError, ValueError):  # not JSON after all: say nothing rather than something wrong
        return {}
    lines = _line_starts(text)
    found: dict[str, Position] = {}
    for pointer, path in paths.items():
        present = path
        while present not in offsets and present:
            present = present[:-1]
        if present in offsets:
            offset = offsets[present]
            line = bisect.bisect_right(lines, offset)
            found[pointer] = Position(offset, line, offset - lines[line - 1] + 1)
    return found


def _line_starts(text: str) -> list[int]:
    return [0, *(match.end() for match in re.finditer("\n", text))]


class _Scanner:
    """One pass over a JSON text, recording where the values on the wanted paths start."""

    def __init__(self, text: str, wanted: set[Path]) -> None:
        self.text = text
        self.wanted = wanted
        self.found: dict[Path, int] = {}

    def run(self) -> dict[Path, int]:
        """The offsets of the wanted values that are present."""
        text = self.text
        position = self._space(0)
        path: Path = ()
        stack: list[tuple[str, Path, int]] = []  # the open containers: kind, path, index of the current item
        while True:
            # A value for `path` starts at `position`.
            if path in self.wanted:
                if path in self.found:  # a repeated key: the last one counts, and nothing inside the earlier
                    self._forget_inside(path)
                self.found[path] = position
            if path in self.wanted and text[position] in "{[":
                stack.append((text[position], path, 0))
                position = self._space(position + 1)
                if text[position] not in "}]":
                    path, position = self._item(stack[-1], position)
                    continue
            else:
                position = self._skip(position)
            following = self._after_value(stack, position)
            if following is None:
                return self.found
            path, position = following

    def _forget_inside(self, path: Path) -> None:
        for found in [found for found in self.found if found[: len(path)] == path]:
            del self.found[found]

    def _after_value(self, stack: list[tuple[str, Path, int]], position: int) -> tuple[Path, int] | None:
        """The next item of the innermost open container, closing those that end; None at the end of the text.

        ``position`` is just after a value, or at the closing bracket of a container that was entered empty.
        """
        text = self.text
        while stack:
            position = self._space(position)
            if text[position] == ",":
                kind, parent, index = stack[-1]
                stack[-1] = (kind, parent, index + 1)
                return self._item(stack[-1], self._space(position + 1))
            stack.pop()
            position += 1
        return None

    def _item(self, container: tuple[str, Path, int], position: int) -> tuple[Path, int]:
        """The path and start of the item at ``position``: after its key and colon in an object."""
        kind, parent, index = container
        if kind == "[":
            return (*parent, str(index)), position
        key, end = scanstring(self.text, position + 1)
        colon = self._space(end)
        return (*parent, key), self._space(colon + 1)

    def _space(self, position: int) -> int:
        match = _SPACE.match(self.text, position)
        return match.end() if match else position

    def _skip(self, position: int) -> int:
        """The offset just after the value that starts at ``position``."""
        text = self.text
        first = text[position]
        if first == '"':
            return int(scanstring(text, position + 1)[1])
        if first not in "{[":
            match = _SCALAR_END.match(text, position)
            return match.end() if match else position + 1
        depth = 0
        while True:
            match = _STRUCTURE.search(text, position)
            if match is None:
                raise ValueError("unbalanced brackets")
            character, position = match[0], match.end()
            if character == '"':
                position = int(scanstring(text, position)[1])
            elif character in "{[":
                depth += 1
            else:
                depth -= 1
                if depth == 0:
                    return position
