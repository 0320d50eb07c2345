"""Who is acting, and which jobs they may see and change."""

from __future__ import annotations

from dataclasses import dataclass

from mockserver.domain.jobs import Job
from mockserver.domain.store import Workspace

__all__ = ["Caller"]


@dataclass(frozen=True, slots=True)
class Caller:
    """A username and the workspace (project) the caller acts in; ``project`` None is the personal workspace."""

    username: str
    project: str | None = None

    def can_see(self, job: Job) -> bool:
        """A user sees their own personal jobs and every job of the project they act in."""
        if self.project is not None:
            return job.project == self.project
        return job.project is None and job.created_by == self.username

    @property
    def workspace(self) -> Workspace:
        """The key of the workspace the caller acts in."""
        return (None, self.project) if self.project is not None else (self.username, None)
