"""A job as the engine holds it: immutable data, from which every rendering is computed."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

__all__ = ["AclEntry", "Job", "LogChunk", "Update"]


@dataclass(frozen=True, slots=True)
class Update:
    """One entry of a job's history."""

    timestamp: int
    state: str | None = None
    status: str | None = None
    new_time_allocation: int | None = None
    output_folder: str | None = None


@dataclass(frozen=True, slots=True)
class AclEntry:
    """Permissions granted to a user (``group`` None) or to a group of a project (``username`` None)."""

    permissions: tuple[str, ...]
    username: str | None = None
    project: str | None = None
    group: str | None = None

    @property
    def entity(self) -> tuple[str | None, str | None, str | None]:
        """Who the entry is for, as a key: (username, project, group)."""
        return (self.username, self.project, self.group)


@dataclass(frozen=True, slots=True)
class LogChunk:
    """Output of one rank of a job, at ``timestamp``."""

    timestamp: int
    rank: int
    stdout: str | None = None
    stderr: str | None = None


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
    acl: tuple[AclEntry, ...] = ()
    output_folder: str | None = None
    log: tuple[LogChunk, ...] = ()
    #: The size of the specification as the engine keeps it (``bounds.stored``).
    specification_bytes: int = 0

    @property
    def product(self) -> Mapping[str, Any]:
        """The ProductReference of the specification."""
        product: Mapping[str, Any] = self.specification["product"]
        return product

    @property
    def replicas(self) -> int:
        """How many nodes the job runs on."""
        replicas = self.specification.get("replicas")
        return 1 if replicas is None else int(replicas)

    def with_update(self, update: Update, keep: int, **changes: Any) -> Job:
        """The job with ``update`` appended to its history (the newest ``keep`` are kept), ``changes`` applied."""
        updates = (*self.updates, update)[-keep:]
        return replace(self, updates=updates, **changes)
