"""Small bounded memos for the request path, kept because the server benchmark shows they matter.

Clients repeat themselves: the same retrieve URL thousands of times, the same job unchanged between calls.
Without its memo, parsing and typing the query string takes about two fifths of a retrieve's time in the app,
matching the route a fifth and encoding the Job a third (benchmarks/RESULTS.md, "request path"); remembered
answers cost a lookup. Each memo is bounded in entries and in the size of its keys (``serve --cache-key-bytes``,
2 KiB unless told), and keeps only values made from its key, so a client sending endless distinct or endless long
URLs and tokens costs a bounded amount of memory: a longer key is computed every time, never remembered.
``POST /_mock/reset`` empties every memo.
"""

from __future__ import annotations

import threading
import urllib.parse
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

__all__ = ["DEFAULT_KEY_BYTES", "Memo", "UrlCache"]

#: The longest key a memo remembers unless told (``serve --cache-key-bytes``).
DEFAULT_KEY_BYTES = 2048

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

    def __len__(self) -> int:
        return len(self._known)

    def keys(self) -> list[K]:
        """The keys remembered, oldest first."""
        with self._lock:
            return list(self._known)

    def clear(self) -> None:
        """Forget everything."""
        with self._lock:
            self._known.clear()


class UrlCache:
    """The standard library's own memo of split URLs, which anything on the request path that splits a URL fills.

    ``urllib.parse.urlsplit`` remembers its newest 128 arguments and results (Python 3.11 and later), so 128
    request lines of 256 KiB would hold 64 MB. ``forget_if_long`` empties it after a request whose target is
    longer than the memos' key limit; ``clear`` empties it (a reset).
    """

    def __init__(self, key_limit: int) -> None:
        self._key_limit = key_limit
        # Undocumented, but present in every supported Python: it empties urlsplit's cache.
        self._clear: Callable[[], None] = getattr(urllib.parse, "clear_cache", lambda: None)

    def forget_if_long(self, length: int) -> None:
        """Empty the cache if a request target of ``length`` characters may be in it."""
        if length > self._key_limit:
            self._clear()

    def clear(self) -> None:
        """Empty the cache."""
        self._clear()
