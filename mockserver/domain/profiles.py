"""Behaviour profiles: what each event does to a job's fields, and which rendering a client sees.

``docs`` follows UCloud's documented examples exactly; ``ucloud`` follows what the real service does
(REFERENCE.md §4 and §6). A profile is a policy object: another provider's behaviour is one more subclass,
registered under a name of ``contracts.profiles``.
"""

from __future__ import annotations

from dataclasses import replace

from contracts.profiles import DEFAULT_ERA, DOCS, ERAS, UCLOUD
from contracts.profiles import PROFILES as PROFILE_NAMES
from mockserver.domain import render
from mockserver.domain.jobs import Job, Update
from mockserver.domain.render import Flags, JsonObject, Viewer

__all__ = ["PROFILES", "DocsProfile", "Profile", "UcloudProfile", "profile_named"]


class Profile:
    """The behaviour shared by every profile; subclasses override what differs."""

    name = "base"
    #: Whether the provider supports ``jobs.extend`` at all; a provider that does not answers 400.
    supports_extension = True
    #: UCloud's words when a job's product does not support time extension.
    extension_unsupported = "Extension of deadline is not supported by the provider"
    #: Whether the first message of jobs.follow carries the whole job (``initialJob``; the newer service does).
    follows_with_job = False

    def __init__(self, era: str = DEFAULT_ERA) -> None:
        if era not in ERAS:
            raise ValueError(f"unknown era {era!r}; known eras: {', '.join(ERAS)}")
        #: The era of the documentation this profile renders (the service has one rendering, today's).
        self.era = era

    def on_created(self, job: Job, now: int) -> Job:
        """Fields set when the job is created."""
        return job

    def on_running(self, job: Job, now: int) -> Job:
        """Fields set when the job (re)enters RUNNING."""
        return job

    def on_extended(self, job: Job, ms: int, now: int) -> tuple[Job, Update | None]:
        """The job after its allocation was extended by ``ms``, and the update that records it, if any."""
        return job, None

    def on_ended(self, job: Job, now: int) -> Job:
        """Fields set when the job reaches a final state."""
        return job

    def render(self, job: Job, flags: Flags, viewer: Viewer) -> JsonObject:
        """The job as the API returns it to ``viewer``."""
        raise NotImplementedError

    def render_status(self, job: Job, viewer: Viewer) -> JsonObject:
        """The job's JobStatus, as a retrieve shows it."""
        status: JsonObject = self.render(job, {}, viewer)["status"]
        return status

    def render_update(self, update: Update) -> JsonObject:
        """One JobUpdate in this profile's layout."""
        return render.update_2024(update)


class DocsProfile(Profile):
    """The documented examples, exactly: the shapes and semantics of the seed flow.

    expiresAt is createdAt + timeAllocation; extend moves expiresAt and leaves timeAllocation alone; terminate
    clears expiresAt; startedAt stays null; updates are always returned and include flags are not honoured;
    ``permissions`` and ``output`` are null; ``acl`` is null and ``billing`` is ``{}`` as in the seed.
    """

    name = DOCS

    def on_created(self, job: Job, now: int) -> Job:
        """expiresAt = createdAt + timeAllocation."""
        if job.allocation_ms is None:
            return job
        return replace(job, expires_at=job.created_at + job.allocation_ms)

    def on_extended(self, job: Job, ms: int, now: int) -> tuple[Job, Update | None]:
        """expiresAt moves by ``ms``; the allocation is left as it is and no update is recorded."""
        if job.expires_at is None:
            return job, None
        return replace(job, expires_at=job.expires_at + ms), None

    def on_ended(self, job: Job, now: int) -> Job:
        """A job that has ended has no expiresAt."""
        return replace(job, expires_at=None)

    def render(self, job: Job, flags: Flags, viewer: Viewer) -> JsonObject:
        """The layout of the era's documentation."""
        return render.job_2021(job) if self.era == "2021" else render.documented_2024(job)

    def render_update(self, update: Update) -> JsonObject:
        """The era's layout of a JobUpdate."""
        return render.update_2021(update) if self.era == "2021" else render.update_2024(update)


class UcloudProfile(Profile):
    """What the real service does.

    startedAt is set on every move to RUNNING and expiresAt = startedAt + timeAllocation, kept after the job
    ends; extend grows timeAllocation and appends an update carrying the new allocation; updates are returned
    only with includeUpdates=true; permissions are filled for the owner; every include flag is honoured.
    """

    name = UCLOUD
    follows_with_job = True
    extension_unsupported = "Failure while trying to extend duration. This operation is not supported by the provider."

    def on_running(self, job: Job, now: int) -> Job:
        """startedAt = now; expiresAt = startedAt + timeAllocation."""
        expires = None if job.allocation_ms is None else now + job.allocation_ms
        return replace(job, started_at=now, expires_at=expires)

    def on_extended(self, job: Job, ms: int, now: int) -> tuple[Job, Update | None]:
        """The allocation grows by ``ms`` (the provider's update says so) and expiresAt follows."""
        allocation = (job.allocation_ms or 0) + ms
        expires = None if job.expires_at is None else job.expires_at + ms
        return (replace(job, allocation_ms=allocation, expires_at=expires),
                Update(timestamp=now, new_time_allocation=allocation))

    def render(self, job: Job, flags: Flags, viewer: Viewer) -> JsonObject:
        """The 2024 layout, honouring the include flags."""
        return render.job_2024(job, flags, viewer)


PROFILES: dict[str, type[Profile]] = {DocsProfile.name: DocsProfile, UcloudProfile.name: UcloudProfile}
if set(PROFILES) != set(PROFILE_NAMES):  # pragma: no cover - a profile named in contracts but not built here
    raise ImportError(f"mockserver implements {sorted(PROFILES)}; contracts.profiles names {sorted(PROFILE_NAMES)}")


def profile_named(name: str, era: str = DEFAULT_ERA) -> Profile:
    """A fresh profile object by name, for an era; ``ValueError`` listing the known names otherwise."""
    try:
        kind = PROFILES[name]
    except KeyError:
        raise ValueError(f"unknown profile {name!r}; known profiles: {', '.join(PROFILES)}") from None
    return kind(era)
