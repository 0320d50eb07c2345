"""A bounded record of the recent requests and what the mock answered, for tests and debugging."""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass
from typing import Any

__all__ = ["Entry", "Journal"]

_BODY_LIMIT = 4096


def _text(body: bytes, size: int) -> str:
    text = body.decode("utf-8", errors="replace")
    return text if size <= _BODY_LIMIT else text + f"... ({size} bytes)"


@dataclass(frozen=True, slots=True)
class Entry:
    """One request and its answer (bodies kept as clipped bytes; decoded only when someone looks)."""

    seq: int
    clock_ms: int
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

    def to_dict(self) -> dict[str, Any]:
        """The entry as the admin API shows it."""
        return {"seq": self.seq, "clockMs": self.clock_ms, "method": self.method, "path": self.path,
                "query": self.query, "operation": self.operation, "user": self.user, "status": self.status,
                "request": _text(self.request, self.request_size),
                "response": _text(self.response, self.response_size), "script": self.script}


class Journal:
    """The newest ``capacity`` entries; older ones are dropped and counted, so memory stays flat."""

    def __init__(self, capacity: int = 1000) -> None:
        self.capacity = capacity
        self._entries: deque[Entry] = deque(maxlen=capacity)
        self._seq = 0
        self._lock = threading.Lock()

    def record(self, *, clock_ms: int, method: str, path: str, query: str, operation: str | None,
               user: str | None, status: int, request: bytes, response: bytes, script: str | None = None) -> None:
        """Add an entry (bodies are clipped to 4 KiB)."""
        if self.capacity <= 0:
            return
        with self._lock:
            self._seq += 1
            self._entries.append(Entry(self._seq, clock_ms, method, path, query[:_BODY_LIMIT], operation, user,
                                       status, request[:_BODY_LIMIT], len(request), response[:_BODY_LIMIT],
                                       len(response), script))

    def clear(self) -> None:
        """Forget every entry."""
        with self._lock:
            self._entries.clear()
            self._seq = 0

    def snapshot(self, limit: int | None = None) -> dict[str, Any]:
        """The entries (the newest ``limit``), oldest first, with how many were dropped."""
        with self._lock:
            entries = list(self._entries)
            seq = self._seq
        if limit is not None:
            entries = entries[-limit:] if limit > 0 else []
        return {"capacity": self.capacity, "recorded": seq, "dropped": max(0, seq - len(self._entries)),
                "entries": [entry.to_dict() for entry in entries]}
