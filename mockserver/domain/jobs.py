"""A job as the engine holds it: immutable data, from which every rendering is computed."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

__all__ = ["Job", "Update"]


@dataclass(frozen=True, slots=True)
class Update:
    """One entry of a job's history."""

    timestamp: int
    state: str | None = None
    status: str | None = None
    new_time_allocation: int | None = None


@dataclass(frozen=True, slots=True)
class Job:
    """Everything the mock knows about a job; the JSON a client sees is rendered from it by the profile."""

    id: str
    ordinal: int
    created_by: str
    project: str | None
    specification: Mapping[str, Any]
    created_at: int
    state: str
    allocation_ms: int | None
    expires_at: int | None = None
    started_at: int | None = None
    running_since: int | None = None
    updates: tuple[Update, ...] = ()

    def with_update(self, update: Update, keep: int, **changes: Any) -> Job:
        """The job with ``update`` appended to its history (the newest ``keep`` are kept), ``changes`` applied."""
        updates = (*self.updates, update)[-keep:]
        return replace(self, updates=updates, **changes)
