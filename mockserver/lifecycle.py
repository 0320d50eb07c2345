"""The job's lifecycle as a small, pure state machine: ``(job, event, now) -> job``.

What is legal is decided here, once, for every profile: a final job (SUCCESS, FAILURE, EXPIRED) never changes;
only a queued job starts; only a running job is suspended or expires; only a suspended one is resumed. What an
event does to the job's fields (expiresAt, the allocation, the updates) is the profile's business.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from contracts.scenario import Messages

if TYPE_CHECKING:
    from mockserver.profiles import Profile

__all__ = [
    "FINAL_STATES",
    "MAX_UPDATES",
    "Event",
    "Expired",
    "Extended",
    "Job",
    "Lifecycle",
    "ProviderUpdate",
    "Started",
    "Suspended",
    "Terminated",
    "Unsuspended",
    "Update",
]

FINAL_STATES = frozenset({"SUCCESS", "FAILURE", "EXPIRED"})
MAX_UPDATES = 64  # UCloud keeps the newest 64 updates of a resource


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

    @property
    def is_final(self) -> bool:
        """Whether the job has ended for good."""
        return self.state in FINAL_STATES

    def with_update(self, update: Update, **changes: Any) -> Job:
        """The job with ``update`` appended to its history (the newest 64 are kept) and ``changes`` applied."""
        updates = (*self.updates, update)[-MAX_UPDATES:]
        return replace(self, updates=updates, **changes)


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
    """A scripted update from the provider: a new state and/or a status message."""

    state: str | None
    status: str | None


Event = Started | Extended | Terminated | Suspended | Unsuspended | Expired | ProviderUpdate


class Lifecycle:
    """Applies events to jobs under one profile, with the scenario's queue delay and messages."""

    def __init__(self, profile: Profile, messages: Messages, queue_delay_ms: int) -> None:
        self.profile = profile
        self.messages = messages
        self.queue_delay_ms = queue_delay_ms

    def create(self, *, job_id: str, ordinal: int, created_by: str, project: str | None,
               specification: Mapping[str, Any], allocation_ms: int | None, now: int) -> Job:
        """A new job, queued at ``now``."""
        job = Job(id=job_id, ordinal=ordinal, created_by=created_by, project=project,
                  specification=specification, created_at=now, state="IN_QUEUE", allocation_ms=allocation_ms)
        job = job.with_update(Update(timestamp=now, state="IN_QUEUE", status=self.messages.queued))
        return self.profile.on_created(job, now)

    def apply(self, job: Job, event: Event, now: int) -> Job:
        """The job after ``event`` at ``now``; the same job when the event does not apply in its state."""
        if job.is_final:
            return job
        state = job.state
        if isinstance(event, Started):
            if state != "IN_QUEUE":
                return job
            return self._run(job, now)
        if isinstance(event, Extended):
            if job.allocation_ms is None:
                return job
            return self.profile.on_extended(job, event.ms, now)
        if isinstance(event, Terminated):
            ended = job.with_update(Update(timestamp=now, state="SUCCESS", status=self.messages.cancelled),
                                    state="SUCCESS")
            return self.profile.on_ended(ended, now)
        if isinstance(event, Suspended):
            if state != "RUNNING":
                return job
            return job.with_update(Update(timestamp=now, state="SUSPENDED", status=self.messages.suspended),
                                   state="SUSPENDED")
        if isinstance(event, Unsuspended):
            if state != "SUSPENDED":
                return job
            return self._run(job, now)
        if isinstance(event, Expired):
            if state != "RUNNING":
                return job
            ended = job.with_update(Update(timestamp=now, state="EXPIRED", status=self.messages.expired),
                                    state="EXPIRED")
            return self.profile.on_ended(ended, now)
        return self._provider_update(job, event, now)

    def _run(self, job: Job, now: int) -> Job:
        running = job.with_update(Update(timestamp=now, state="RUNNING", status=self.messages.running),
                                  state="RUNNING", running_since=now)
        return self.profile.on_running(running, now)

    def _provider_update(self, job: Job, event: ProviderUpdate, now: int) -> Job:
        update = Update(timestamp=now, state=event.state, status=event.status)
        if event.state is None or event.state == job.state:
            return job.with_update(update)
        if event.state == "RUNNING":
            return self.profile.on_running(job.with_update(update, state="RUNNING", running_since=now), now)
        moved = job.with_update(update, state=event.state)
        return self.profile.on_ended(moved, now) if moved.is_final else moved

    def next_due(self, job: Job) -> tuple[int, Event] | None:
        """The job's next event that time alone brings about (leaving the queue, expiry), if any."""
        if job.state == "IN_QUEUE":
            return job.created_at + self.queue_delay_ms, Started()
        if job.state == "RUNNING" and job.expires_at is not None:
            return max(job.expires_at, job.running_since or job.expires_at), Expired()
        return None
