"""The job's lifecycle as a small, pure state machine: ``(job, event, now) -> job``.

What is legal is decided here, once, for every profile: a final job never changes; only a queued job starts;
only a running job is suspended or expires; only a suspended one is resumed. What an event does to the job's
fields (expiresAt, the allocation) is the profile's business; the history of updates is kept here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from contracts.scenario import Messages
from contracts.vocabulary import Vocabulary
from mockserver.domain.jobs import AclEntry, Job, LogChunk, Update
from mockserver.domain.profiles import Profile

__all__ = [
    "Event",
    "Expired",
    "Extended",
    "Lifecycle",
    "Logged",
    "ProviderUpdate",
    "Started",
    "Suspended",
    "Terminated",
    "Unsuspended",
]


@dataclass(frozen=True)
class Started:
    """The queue delay has passed: the provider starts the job."""


@dataclass(frozen=True)
class Extended:
    """The user extended the job's allocation by ``ms``."""

    ms: int


@dataclass(frozen=True)
class Terminated:
    """The user terminated the job."""


@dataclass(frozen=True)
class Suspended:
    """The user suspended the job."""


@dataclass(frozen=True)
class Unsuspended:
    """The user resumed the job."""


@dataclass(frozen=True)
class Expired:
    """The clock passed the job's expiresAt."""


@dataclass(frozen=True)
class ProviderUpdate:
    """A scripted update from the provider: a new state, a status message, an output folder (any of them)."""

    state: str | None = None
    status: str | None = None
    output_folder: str | None = None


@dataclass(frozen=True)
class Logged:
    """Output of one rank of the job (for jobs.follow); it adds no update."""

    rank: int
    stdout: str | None = None
    stderr: str | None = None


Event = Started | Extended | Terminated | Suspended | Unsuspended | Expired | ProviderUpdate | Logged


class Lifecycle:
    """Applies events to jobs under one profile, with the scenario's queue delay and messages."""

    def __init__(self, profile: Profile, messages: Messages, queue_delay_ms: int, vocabulary: Vocabulary) -> None:
        self.profile = profile
        self.messages = messages
        self.queue_delay_ms = queue_delay_ms
        self._final = vocabulary.final_states
        self._keep = vocabulary.max_updates

    def is_final(self, job: Job) -> bool:
        """Whether the job has ended for good."""
        return job.state in self._final

    def create(self, *, job_id: str, ordinal: int, created_by: str, project: str | None,
               specification: Mapping[str, Any], allocation_ms: int | None, now: int,
               acl: tuple[AclEntry, ...] = (), specification_bytes: int = 0) -> Job:
        """A new job, queued at ``now``."""
        job = Job(id=job_id, ordinal=ordinal, created_by=created_by, project=project, specification=specification,
                  created_at=now, state="IN_QUEUE", allocation_ms=allocation_ms, acl=acl,
                  specification_bytes=specification_bytes)
        job = self._record(job, Update(timestamp=now, state="IN_QUEUE", status=self.messages.queued))
        return self.profile.on_created(job, now)

    def apply(self, job: Job, event: Event, now: int) -> Job:
        """The job after ``event`` at ``now``; the same job when the event does not apply in its state."""
        if self.is_final(job):
            return job
        if isinstance(event, Started):
            return self._run(job, now) if job.state == "IN_QUEUE" else job
        if isinstance(event, Extended):
            return self._extend(job, event.ms, now)
        if isinstance(event, Terminated):
            return self._end(job, "SUCCESS", self.messages.cancelled, now)
        if isinstance(event, Suspended):
            if job.state != "RUNNING":
                return job
            return self._record(job, Update(timestamp=now, state="SUSPENDED", status=self.messages.suspended),
                                state="SUSPENDED")
        if isinstance(event, Unsuspended):
            return self._run(job, now) if job.state == "SUSPENDED" else job
        if isinstance(event, Expired):
            return self._end(job, "EXPIRED", self.messages.expired, now) if job.state == "RUNNING" else job
        if isinstance(event, Logged):
            return replace(job, log=(*job.log, LogChunk(now, event.rank, event.stdout, event.stderr)))
        return self._provider_update(job, event, now)

    def _record(self, job: Job, update: Update, **changes: Any) -> Job:
        return job.with_update(update, self._keep, **changes)

    def _run(self, job: Job, now: int) -> Job:
        running = self._record(job, Update(timestamp=now, state="RUNNING", status=self.messages.running),
                               state="RUNNING", running_since=now)
        return self.profile.on_running(running, now)

    def _extend(self, job: Job, ms: int, now: int) -> Job:
        if job.allocation_ms is None:
            return job
        extended, update = self.profile.on_extended(job, ms, now)
        return extended if update is None else self._record(extended, update)

    def _end(self, job: Job, state: str, status: str | None, now: int) -> Job:
        ended = self._record(job, Update(timestamp=now, state=state, status=status), state=state)
        return self.profile.on_ended(ended, now)

    def _provider_update(self, job: Job, event: ProviderUpdate, now: int) -> Job:
        update = Update(timestamp=now, state=event.state, status=event.status, output_folder=event.output_folder)
        if event.output_folder is not None:
            job = replace(job, output_folder=event.output_folder)
        if event.state is None or event.state == job.state:
            return self._record(job, update)
        if event.state == "RUNNING":
            return self.profile.on_running(self._record(job, update, state="RUNNING", running_since=now), now)
        moved = self._record(job, update, state=event.state)
        return self.profile.on_ended(moved, now) if self.is_final(moved) else moved

    def next_due(self, job: Job) -> tuple[int, Event] | None:
        """The job's next event that time alone brings about (leaving the queue, expiry), if any."""
        if job.state == "IN_QUEUE":
            return job.created_at + self.queue_delay_ms, Started()
        if job.state == "RUNNING" and job.expires_at is not None:
            return max(job.expires_at, job.running_since or job.expires_at), Expired()
        return None
