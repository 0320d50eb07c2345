"""Where the jobs live: by id, by workspace in creation order, and the finished ones in the order they ended.

The store keeps what it is given; the engine decides how many jobs it may hold and which go first
(``evictable``: the jobs that reached a final state longest ago).
"""

from __future__ import annotations

from collections.abc import Collection, Iterator

from mockserver.domain.jobs import Job

__all__ = ["SequentialIds", "Store", "Workspace", "workspace_of"]

Workspace = tuple[str | None, str | None]


def workspace_of(job: Job) -> Workspace:
    """The workspace a job lives in: its project's, or its creator's own."""
    return (None, job.project) if job.project is not None else (job.created_by, None)


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
    """Every job by id, each workspace's jobs in the order they were created, and the order jobs ended in."""

    def __init__(self, final_states: Collection[str] = ()) -> None:
        self._final_states = frozenset(final_states)
        self._jobs: dict[str, Job] = {}
        self._workspaces: dict[Workspace, dict[str, Job]] = {}
        self._ended: dict[str, None] = {}  # ids of the jobs in a final state, in the order they reached it

    def __len__(self) -> int:
        return len(self._jobs)

    def get(self, job_id: str) -> Job | None:
        """The job with this id, if any."""
        return self._jobs.get(job_id)

    def put(self, job: Job) -> None:
        """Store a new version of a job (or a new job, at the end of its workspace)."""
        self._jobs[job.id] = job
        self._workspaces.setdefault(workspace_of(job), {})[job.id] = job
        if job.state in self._final_states and job.id not in self._ended:
            self._ended[job.id] = None

    def remove(self, job_id: str) -> None:
        """Forget a job."""
        job = self._jobs.pop(job_id, None)
        if job is None:
            return
        self._ended.pop(job_id, None)
        workspace = workspace_of(job)
        jobs = self._workspaces[workspace]
        del jobs[job_id]
        if not jobs:
            del self._workspaces[workspace]

    @property
    def ended(self) -> int:
        """How many jobs are in a final state."""
        return len(self._ended)

    def evictable(self) -> Iterator[str]:
        """The ids of the jobs in a final state, the one that reached it first first."""
        return iter(self._ended)

    def in_workspace(self, workspace: Workspace) -> list[Job]:
        """The workspace's jobs as they stand, oldest first (a copy: it does not change with the store)."""
        jobs = self._workspaces.get(workspace)
        return list(jobs.values()) if jobs is not None else []

    def all(self) -> list[Job]:
        """Every job, oldest first."""
        return list(self._jobs.values())
