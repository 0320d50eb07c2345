"""Where the jobs live: by id, and by workspace in creation order, with one shared copy of each specification."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

from mockserver.domain.jobs import Job

__all__ = ["SequentialIds", "Store", "Workspace"]

Workspace = tuple[str | None, str | None]

_INTERNED_SPECIFICATIONS = 10_000


class SequentialIds:
    """Job ids from a counter: ``first``, ``first + 1``, ..."""

    def __init__(self, first: int) -> None:
        self._next = first

    def __call__(self) -> str:
        """The next id."""
        value = self._next
        self._next += 1
        return str(value)


class Store:
    """Every job by id, and each workspace's jobs in the order they were created."""

    def __init__(self) -> None:
        self._jobs: dict[str, Job] = {}
        self._workspaces: dict[Workspace, list[str]] = {}
        self._specifications: dict[str, Mapping[str, Any]] = {}

    def __len__(self) -> int:
        return len(self._jobs)

    def get(self, job_id: str) -> Job | None:
        """The job with this id, if any."""
        return self._jobs.get(job_id)

    def put(self, job: Job) -> None:
        """Store a new version of a job."""
        self._jobs[job.id] = job

    def add(self, job: Job, workspace: Workspace) -> None:
        """Store a new job in ``workspace``."""
        self._jobs[job.id] = job
        self._workspaces.setdefault(workspace, []).append(job.id)

    def newest_first(self, workspace: Workspace) -> Iterator[Job]:
        """The workspace's jobs, newest first."""
        jobs = self._jobs
        return (jobs[job_id] for job_id in reversed(self._workspaces.get(workspace, ())))

    def all(self) -> list[Job]:
        """Every job, oldest first."""
        return list(self._jobs.values())

    def intern(self, specification: Mapping[str, Any]) -> Mapping[str, Any]:
        """One shared copy of identical specifications: a soak of a million jobs must not hold a million."""
        key = json.dumps(specification, sort_keys=True, separators=(",", ":"))
        found = self._specifications.get(key)
        if found is None:
            found = json.loads(key)
            if len(self._specifications) < _INTERNED_SPECIFICATIONS:
                self._specifications[key] = found
        return found
