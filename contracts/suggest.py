""""Did you mean ...?": the known name closest to a mistyped one (difflib, with case ignored)."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = ["closest", "did_you_mean"]

# difflib's own default: below this similarity ratio a name is a different word, not a typo of it.
_CUTOFF = 0.6


def closest(word: str, options: Iterable[str]) -> str | None:
    """The option most like ``word``, or None when none is close; ``running`` is close to ``RUNNING``."""
    by_folded: dict[str, str] = {}
    for option in options:
        by_folded.setdefault(option.casefold(), option)
    folded = word.casefold()
    # What every option starts with says nothing about which one is meant: `jobs.nope` is not `jobs.browse`.
    shared = _shared_prefix(list(by_folded)) if len(by_folded) > 1 else ""
    if not folded.startswith(shared):
        shared = ""
    rests = {option[len(shared):]: option for option in by_folded}
    found = difflib.get_close_matches(folded[len(shared):], list(rests), n=1, cutoff=_CUTOFF)
    return by_folded[rests[found[0]]] if found else None


def _shared_prefix(names: list[str]) -> str:
    first, last = min(names), max(names)  # the sorted extremes differ first where any two names do
    size = 0
    while size < min(len(first), len(last)) and first[size] == last[size]:
        size += 1
    return first[:size]


def did_you_mean(word: object, options: Iterable[object]) -> str:
    """``"; did you mean X?"`` when ``word`` is a string close to one of the string ``options``, else ``""``."""
    if not isinstance(word, str):
        return ""
    match = closest(word, (option for option in options if isinstance(option, str)))
    return "" if match is None else f"; did you mean {match}?"
