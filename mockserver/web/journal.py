"""A bounded record of the recent requests and what the mock answered, for tests, the page and debugging.

Each entry (``Entry.to_dict``, what ``GET /_mock/journal`` and ``MockServer.journal`` give) has these fields:

- ``seq``: its number since the journal was last cleared (1, 2, ...);
- ``clockMs``: the mock's virtual clock when the answer was sent; ``wallTime``: the wall clock then (UTC, ISO);
- ``method``, ``path``, ``query``: the request line (the query as sent);
- ``operation``: the operationId the path and method name, or null for an unknown route;
- ``user``: who the bearer token named, or null if it was refused before that;
- ``status``: the answer's status; ``script``: which step of the scenario the request played (or why none);
- ``request``, ``response``: the bodies as JSON values (null for an empty body);
- ``requestText``, ``responseText``: present only when a body is not JSON or was clipped (bodies are kept up to
  4 KiB; the text then ends with its full size), and ``request``/``response`` are null;
- ``requestBytes``, ``responseBytes``: the full sizes of the bodies.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

__all__ = ["BODY_LIMIT", "NO_OPERATION", "Entry", "Journal", "Selection"]

#: Bodies and queries are kept up to this many bytes.
BODY_LIMIT = 4096
#: The operation filter that selects requests of no operation (an unknown path or method).
NO_OPERATION = "-"


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
    #: More fields of this entry (the proxy's findings and upstream time); None for the mock's entries.
    extra: Mapping[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        """The entry as the admin API shows it (the fields are listed in the module's docstring)."""
        wall = datetime.fromtimestamp(self.wall_ms / 1000, tz=timezone.utc).isoformat(timespec="milliseconds")
        return {"seq": self.seq, "clockMs": self.clock_ms, "wallTime": wall.replace("+00:00", "Z"),
                "method": self.method, "path": self.path, "query": self.query, "operation": self.operation,
                "user": self.user, "status": self.status, "script": self.script,
                **_body("request", self.request, self.request_size),
                **_body("response", self.response, self.response_size),
                "requestBytes": self.request_size, "responseBytes": self.response_size, **(self.extra or {})}


class Journal:
    """The newest ``capacity`` entries; older ones are dropped and counted, so memory stays flat."""

    def __init__(self, capacity: int = 1000) -> None:
        self.capacity = capacity
        self._entries: deque[Entry] = deque(maxlen=capacity)
        self._seq = 0
        self._lock = threading.Lock()

    def record(self, *, clock_ms: int, wall_ms: int, method: str, path: str, query: str, operation: str | None,
               user: str | None, status: int, request: bytes, response: bytes, script: str | None = None,
               extra: Mapping[str, Any] | None = None) -> None:
        """Add an entry (bodies and the query are clipped to 4 KiB); ``extra`` adds fields of its own."""
        if self.capacity <= 0:
            return
        with self._lock:
            self._seq += 1
            self._entries.append(Entry(self._seq, clock_ms, wall_ms, method, path[:BODY_LIMIT], query[:BODY_LIMIT],
                                       operation, user, status, request[:BODY_LIMIT], len(request),
                                       response[:BODY_LIMIT], len(response), script, extra))

    def clear(self) -> None:
        """Forget every entry."""
        with self._lock:
            self._entries.clear()
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
            seq = self._seq
        if operation is not None or statuses is not None or before is not None:
            wanted = None if operation == NO_OPERATION else operation
            entries = [entry for entry in entries
                       if (operation is None or entry.operation == wanted)
                       and (statuses is None or entry.status in statuses)
                       and (before is None or entry.seq < before)]
        matched = len(entries)
        if limit is not None:
            entries = entries[-limit:] if limit > 0 else []
        return Selection(self.capacity, seq, max(0, seq - len(self._entries)), matched, entries)


@dataclass(frozen=True)
class Selection:
    """Some entries of the journal, oldest first, and the journal's counts."""

    capacity: int
    recorded: int
    dropped: int
    matched: int
    entries: list[Entry]

    def counts(self) -> dict[str, int]:
        """The journal's size, how many entries it recorded and dropped since it was cleared."""
        return {"capacity": self.capacity, "recorded": self.recorded, "dropped": self.dropped}
