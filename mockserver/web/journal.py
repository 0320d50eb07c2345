"""A bounded record of the recent requests and what the mock answered, for tests, the page and debugging.

Each entry (``Entry.to_dict``, what ``GET /_mock/journal`` and ``MockServer.journal`` give) has these fields:

- ``seq``: its number since the journal was last cleared (1, 2, ...);
- ``clockMs``: the mock's virtual clock when the answer was sent; ``wallTime``: the wall clock then (UTC, ISO);
- ``method``, ``path``, ``query``: the request line (the query as sent, each clipped to 4 KiB);
- ``operation``: the operationId the path and method name, or null for an unknown route;
- ``user``: who the bearer token named (clipped to 4 KiB), or null if it was refused before that;
- ``status``: the answer's status; ``script``: which step of the scenario the request played (or why none);
- ``request``, ``response``: the bodies as JSON values (null for an empty body);
- ``requestText``, ``responseText``: present only when a body is not JSON or was clipped (bodies are kept up to
  4 KiB; the text then ends with its full size), and ``request``/``response`` are null;
- ``requestBytes``, ``responseBytes``: the full sizes of the bodies;
- ``evicted``: present only on a create that made room by forgetting jobs that had ended (``serve
  --max-jobs``): ``count``, how many, and ``ids``, the first 16 of them.

The journal is bounded twice: the newest ``capacity`` entries (``serve --journal-size``), and the newest whose
sizes add up to at most ``byte_limit`` (``serve --journal-bytes``), an entry's size being what its fields take in
memory (``sys.getsizeof``), at most about 17 KiB. Older entries are dropped and counted (``dropped``); the
snapshot says ``bytes`` and ``byteLimit``. ``GET /_mock/journal`` is encoded an entry at a time, so reading it
costs about its own size, never the bodies' JSON as objects all at once.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

__all__ = ["BODY_LIMIT", "DEFAULT_JOURNAL_BYTES", "DEFAULT_JOURNAL_SIZE", "NO_OPERATION", "Entry", "Journal",
           "Selection"]

#: Bodies, queries and every other text field are kept up to this many bytes.
BODY_LIMIT = 4096
#: The operation filter that selects requests of no operation (an unknown path or method).
NO_OPERATION = "-"
_EVICTED_IDS = 16  # the ids of evicted jobs an entry names
_ENTRY_BYTES = 200  # an Entry itself (slots), its ints and its empty tuple, as sys.getsizeof counts them
_BYTES_BYTES = 33  # a bytes object besides its contents (a string: 80, and 8 for its place in a tuple)
#: Entries kept unless told (``serve --journal-size``).
DEFAULT_JOURNAL_SIZE = 1000
#: What the entries take together at most unless told (``serve --journal-bytes``).
DEFAULT_JOURNAL_BYTES = 4 * 1024 * 1024


def _body(name: str, body: bytes, size: int) -> dict[str, Any]:
    """The body as JSON under ``name``, or as text under ``nameText`` when it is not JSON or was clipped."""
    if size == 0:
        return {name: None}
    if size <= BODY_LIMIT:
        try:
            return {name: json.loads(body)}
        except (ValueError, RecursionError):
            pass
    text = body.decode("utf-8", errors="replace")
    return {name: None, f"{name}Text": text if size <= BODY_LIMIT else text + f"... ({size} bytes)"}


@dataclass(frozen=True, slots=True)
class Entry:
    """One request and its answer (bodies kept as clipped bytes; decoded only when someone looks)."""

    seq: int
    clock_ms: int
    wall_ms: int
    method: str
    path: str
    query: str
    operation: str | None
    user: str | None
    status: int
    request: bytes
    request_size: int
    response: bytes
    response_size: int
    script: str | None = None
    evicted: tuple[str, ...] = ()
    evicted_count: int = 0
    #: More fields of this entry (the proxy's findings and upstream time); None for the mock's entries.
    extra: Mapping[str, Any] | None = None

    @property
    def size(self) -> int:
        """What the entry takes in memory, at most: the entry and each of its fields (a string at four bytes a
        character unless it is ASCII; ``str.isascii`` is a flag, not a scan; ``extra`` at four times its text)."""
        size = _ENTRY_BYTES + 2 * _BYTES_BYTES + len(self.request) + len(self.response)
        for text in (self.method, self.path, self.query, self.operation, self.user, self.script, *self.evicted):
            if text is not None:
                size += 88 + (len(text) if text.isascii() else 4 * len(text))
        return size if self.extra is None else size + 4 * len(repr(self.extra))

    def to_dict(self) -> dict[str, Any]:
        """The entry as the admin API shows it (the fields are listed in the module's docstring)."""
        wall = datetime.fromtimestamp(self.wall_ms / 1000, tz=timezone.utc).isoformat(timespec="milliseconds")
        return {"seq": self.seq, "clockMs": self.clock_ms, "wallTime": wall.replace("+00:00", "Z"),
                "method": self.method, "path": self.path, "query": self.query, "operation": self.operation,
                "user": self.user, "status": self.status, "script": self.script,
                **_body("request", self.request, self.request_size),
                **_body("response", self.response, self.response_size),
                "requestBytes": self.request_size, "responseBytes": self.response_size,
                **({"evicted": {"count": self.evicted_count, "ids": list(self.evicted)}} if self.evicted_count else {}),
                **(self.extra or {})}


class Journal:
    """The newest ``capacity`` entries that fit in ``byte_limit``; older ones are dropped and counted."""

    def __init__(self, capacity: int = DEFAULT_JOURNAL_SIZE, byte_limit: int = DEFAULT_JOURNAL_BYTES) -> None:
        self.capacity = capacity
        self.byte_limit = byte_limit
        self._entries: deque[Entry] = deque()
        self._sizes: deque[int] = deque()  # each entry's size, in the same order
        self._bytes = 0
        self._seq = 0
        self._lock = threading.Lock()

    def record(self, *, clock_ms: int, wall_ms: int, method: str, path: str, query: str, operation: str | None,
               user: str | None, status: int, request: bytes, response: bytes, script: str | None = None,
               evicted: tuple[str, ...] = (), extra: Mapping[str, Any] | None = None) -> None:
        """Add an entry (every field clipped to 4 KiB, the evicted ids to 16), dropping the oldest ones it has no
        room for; ``extra`` adds fields of its own."""
        if self.capacity <= 0:
            return
        with self._lock:
            self._seq += 1
            entry = Entry(self._seq, clock_ms, wall_ms, method[:BODY_LIMIT], path[:BODY_LIMIT],
                          query[:BODY_LIMIT], operation, None if user is None else user[:BODY_LIMIT], status,
                          request[:BODY_LIMIT], len(request), response[:BODY_LIMIT], len(response),
                          None if script is None else script[:BODY_LIMIT],
                          tuple(job_id[:BODY_LIMIT] for job_id in evicted[:_EVICTED_IDS]), len(evicted), extra)
            size = entry.size
            self._entries.append(entry)
            self._sizes.append(size)
            self._bytes += size
            while self._entries and (len(self._entries) > self.capacity or self._bytes > self.byte_limit):
                self._entries.popleft()
                self._bytes -= self._sizes.popleft()

    def clear(self) -> None:
        """Forget every entry."""
        with self._lock:
            self._entries.clear()
            self._sizes.clear()
            self._bytes = 0
            self._seq = 0

    def snapshot(self, limit: int | None = None) -> dict[str, Any]:
        """The entries (the newest ``limit``), oldest first, with how many were dropped."""
        found = self.select(limit=limit)
        return {**found.counts(), "entries": [entry.to_dict() for entry in found.entries]}

    def select(self, *, limit: int | None = None, operation: str | None = None, statuses: range | None = None,
               before: int | None = None) -> Selection:
        """The newest ``limit`` entries (oldest first) of ``operation`` (``NO_OPERATION``: of no operation), with a
        status in ``statuses``, older than the entry numbered ``before``; and how many match in all."""
        with self._lock:
            entries = list(self._entries)
            seq, held = self._seq, self._bytes
        if operation is not None or statuses is not None or before is not None:
            wanted = None if operation == NO_OPERATION else operation
            entries = [entry for entry in entries
                       if (operation is None or entry.operation == wanted)
                       and (statuses is None or entry.status in statuses)
                       and (before is None or entry.seq < before)]
        matched = len(entries)
        if limit is not None:
            entries = entries[-limit:] if limit > 0 else []
        return Selection(self.capacity, seq, max(0, seq - len(self._entries)), matched, entries, self.byte_limit,
                         held)


@dataclass(frozen=True)
class Selection:
    """Some entries of the journal, oldest first, and the journal's counts."""

    capacity: int
    recorded: int
    dropped: int
    matched: int
    entries: list[Entry]
    byte_limit: int = DEFAULT_JOURNAL_BYTES
    held: int = 0

    def counts(self) -> dict[str, int]:
        """The journal's bounds, what it holds, how many entries it recorded and dropped since it was cleared."""
        return {"capacity": self.capacity, "byteLimit": self.byte_limit, "bytes": self.held,
                "recorded": self.recorded, "dropped": self.dropped}
