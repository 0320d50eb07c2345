"""What a person looking at the mock sees of its jobs: rows of a table, a job's history, who may do what to it,
its log, and what the clock will bring it next.

Plain data for the admin API's page, computed from the state when asked and never stored. Times are epoch
milliseconds on the mock's clock; nothing here formats them for people.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from operator import attrgetter
from typing import Any

from contracts.scenario import Project
from mockserver.domain.access import Access, Caller, acl_json
from mockserver.domain.jobs import Job, LogChunk, Update
from mockserver.domain.lifecycle import Event, Expired, Logged, ProviderUpdate, Started
from mockserver.domain.render import log_chunk

__all__ = ["MAX_OWNERS", "detail", "event_json", "permissions", "row", "table"]

JsonObject = dict[str, Any]

#: Owners listed for the owner filter's suggestions: enough for any hand-written scenario, bounded for a soak.
MAX_OWNERS = 200
_STATE = attrgetter("state")
_OWNER = attrgetter("created_by")


def row(job: Job) -> JsonObject:
    """A job as one row of the jobs table."""
    spec = job.specification
    application = spec["application"]
    product = job.product
    return {"id": job.id, "name": spec.get("name"), "owner": job.created_by, "project": job.project,
            "application": {"name": application["name"], "version": application["version"]},
            "product": {"id": product["id"], "category": product["category"], "provider": product["provider"]},
            "state": job.state, "createdAt": job.created_at, "expiresAt": job.expires_at}


def table(jobs: Sequence[Job], *, state: str | None, owner: str | None, offset: int, limit: int) -> JsonObject:
    """One page of the jobs (given oldest first; shown newest first) that are in ``state`` and owned by ``owner``.

    ``states`` counts every job by state and ``owners`` names the first owners in creation order, so that the
    filters can offer what there is to filter.
    """
    # The page asks for this every second: one C-speed pass per count (10,000 jobs take about a millisecond).
    if state is None and owner is None:
        selected = list(reversed(jobs))
    else:
        selected = [job for job in reversed(jobs)
                    if (state is None or job.state == state) and (owner is None or job.created_by == owner)]
    owners = list(dict.fromkeys(map(_OWNER, jobs)))[:MAX_OWNERS]
    return {"total": len(jobs), "matched": len(selected), "offset": offset, "limit": limit,
            "items": [row(job) for job in selected[offset:offset + limit]],
            "states": dict(Counter(map(_STATE, jobs))), "owners": owners}


def event_json(at: int, event: Event, job_id: str | None = None) -> JsonObject:
    """An event the clock will bring: when, what kind, and what it changes."""
    found: JsonObject = {"atMs": at, "kind": "provider", "state": None, "status": None, "outputFolder": None,
                         "log": None}
    if job_id is not None:
        found["jobId"] = job_id
    if isinstance(event, Started):
        found.update(kind="queue", state="RUNNING")
    elif isinstance(event, Expired):
        found.update(kind="expiry", state="EXPIRED")
    elif isinstance(event, ProviderUpdate):
        found.update(state=event.state, status=event.status, outputFolder=event.output_folder)
    elif isinstance(event, Logged):
        found.update(kind="log", log={"rank": event.rank, "stdout": event.stdout, "stderr": event.stderr})
    return found


def _update(update: Update) -> JsonObject:
    return {"timestamp": update.timestamp, "state": update.state, "status": update.status,
            "newTimeAllocationMs": update.new_time_allocation, "outputFolder": update.output_folder}


def _chunk(chunk: LogChunk) -> JsonObject:
    """A chunk of the log as a follower receives it (``JobsLog``), with the time it was written."""
    return {"timestamp": chunk.timestamp, **log_chunk(chunk)}


def _people(job: Job, projects: Mapping[str, Project]) -> list[str]:
    """Everyone who might hold a permission on the job: its creator, its project's people, its ACL's users."""
    people = [job.created_by]
    project = projects.get(job.project) if job.project is not None else None
    if project is not None:
        people += [project.pi, *project.admins, *project.members,
                   *(member for group in project.groups.values() for member in group)]
    people += [entry.username for entry in job.acl if entry.username is not None]
    return list(dict.fromkeys(people))


def permissions(job: Job, access: Access, projects: Mapping[str, Project]) -> list[JsonObject]:
    """Who may do what to the job, acting in its workspace: each person's role and permissions."""
    found = []
    for person in _people(job, projects):
        role = access.role(job.project, person) if job.project is not None else None
        found.append({"user": person, "creator": person == job.created_by, "role": role,
                      "permissions": list(access.permissions(job, Caller(person, job.project)))})
    return found


def detail(job: Job, upcoming: Sequence[tuple[int, Event]], *, final: bool, access: Access,
           projects: Mapping[str, Project], log_followed: bool) -> JsonObject:
    """A job's timeline: its row, its updates in order, what the clock will bring it, its ACL, who may do
    what, and its log: the chunks ``jobs.follow`` sends, and whether it sends them (``log_followed``: the
    job's product supports logs). A job that has ended expects nothing more: the lifecycle ignores its events."""
    spec = job.specification
    return {"job": row(job), "allocationMs": job.allocation_ms, "startedAt": job.started_at,
            "replicas": job.replicas, "outputFolder": job.output_folder,
            "timeAllocation": spec.get("timeAllocation"),
            "updates": [_update(update) for update in job.updates],
            "upcoming": [] if final else [event_json(at, event) for at, event in upcoming],
            "acl": acl_json(job), "permissions": permissions(job, access, projects),
            "log": [_chunk(chunk) for chunk in job.log], "logFollowed": log_followed}
