"""Small bounded memos for the request path, kept because the server benchmark shows they matter.

Clients repeat themselves: the same retrieve URL thousands of times, the same job unchanged between calls.
Without its memo, parsing and typing the query string takes about two fifths of a retrieve's time in the app,
matching the route a fifth and encoding the Job a third (benchmarks/RESULTS.md, "request path"); remembered
answers cost a lookup.
Each memo is bounded in entries and in the size of its keys, so a client sending endless distinct URLs costs
a bounded amount of memory.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

__all__ = ["Memo"]

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class Memo(Generic[K, V]):
    """Remembers what was computed for up to ``entries`` keys whose ``size`` is at most ``key_limit``.

    When full, the oldest entry goes. Values must be immutable, or never changed by whoever receives them.
    """

    def __init__(self, *, entries: int, key_limit: int, size: Callable[[K], int]) -> None:
        self._entries = entries
        self._key_limit = key_limit
        self._size = size
        self._known: dict[K, V] = {}
        self._lock = threading.Lock()

    def get(self, key: K, compute: Callable[[], V]) -> V:
        """The value remembered for ``key``, or ``compute()`` (remembered if the key is small enough)."""
        known = self._known.get(key)
        if known is not None:
            return known
        value = compute()
        if self._size(key) <= self._key_limit:
            with self._lock:
                if len(self._known) >= self._entries:
                    del self._known[next(iter(self._known))]
                self._known[key] = value
        return value

    def clear(self) -> None:
        """Forget everything."""
        with self._lock:
            self._known.clear()
