"""The job engine: the Jobs API's operations on the store, the clock and the timeline, behind one lock.

Every operation takes the lock, lets the scenario's script set the clock for this request, applies the events
that have fallen due (in timestamp order, each stamped with its own time), checks who may do what, and then does
its work. A request the domain refuses changes nothing and plays no step of the script. Nothing runs in the
background: the outcome depends only on the requests, their order and the clock.

No request holds the lock for work that grows with its own input times the store: what a request brings is
parsed and measured before the lock (specifications, the filters with their ``filterIds`` as a set), and browse,
search and utilization take a snapshot of the job references under the lock (jobs are immutable) and filter,
sort and render it after. The engine keeps at most ``Limits.max_jobs`` jobs of at most ``Limits.max_job_bytes``
each: to make room, the jobs that ended longest ago are forgotten; when every job is live, a create is refused.
"""

from __future__ import annotations

import contextlib
import itertools
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, TypeVar

from contracts.scenario import Scenario
from contracts.vocabulary import Vocabulary, default_vocabulary
from mockserver.domain import follow, overview, queries, sessions
from mockserver.domain.access import ADMIN, EDIT, READ, Caller, changed_acl, creator_acl
from mockserver.domain.bounds import Limits, job_bytes, stored
from mockserver.domain.clock import Clock, VirtualClock
from mockserver.domain.errors import (
    DomainError,
    InvalidRequest,
    ItemsNotFound,
    NotSupported,
    StoreFull,
    TooLarge,
    UnknownJob,
)
from mockserver.domain.jobs import Job
from mockserver.domain.lifecycle import Event, Extended, Suspended, Terminated, Unsuspended
from mockserver.domain.profiles import Profile
from mockserver.domain.render import Flags, JsonObject, Viewer
from mockserver.domain.snapshot import Snapshot
from mockserver.domain.state import MAX_CLOCK_MS, State

__all__ = ["MAX_CLOCK_MS", "Engine", "Job", "Limits"]

HOUR_MS = 3_600_000
#: Retrieved jobs whose rendering is kept, and the largest rendering kept (as ``sys.getsizeof`` counts it).
RENDER_MEMO_SIZE = 1024
RENDER_MEMO_BYTES = 16 * 1024
T = TypeVar("T")


class Engine(State):
    """The mock's state and the operations of the Jobs API on it."""

    def __init__(self, scenario: Scenario, *, profile: Profile | None = None, clock: Clock | None = None,
                 vocabulary: Vocabulary | None = None, limits: Limits | None = None) -> None:
        super().__init__(vocabulary or default_vocabulary(),
                         clock if clock is not None else VirtualClock(scenario.clock_start_ms), limits or Limits())
        self._load(scenario, profile, rewind=False)  # an injected clock keeps the time it was given

    def _load(self, scenario: Scenario, profile: Profile | None, *, rewind: bool = True) -> None:
        self._rendered: dict[str, tuple[Job, tuple[Any, ...], Any]] = {}
        super()._load(scenario, profile, rewind=rewind)
        self._sessions_opened = 0

    # ------------------------------------------------------------------ serving one request
    @contextlib.contextmanager
    def _request(self, caller: Caller, operation: str) -> Iterator[int]:
        """One request of ``caller``: the lock, the script's clock, what fell due; refused requests play no step."""
        with self._operation():
            now = self._begin(operation)
            try:
                self.access.enter(caller)
                yield now
            except DomainError:
                self.script.rollback()
                raise

    def _visible(self, caller: Caller, job_id: str, permission: str = READ) -> Job | None:
        job = self.store.get(job_id)
        return job if job is not None and self.access.may(job, caller, permission) else None

    def _permitted(self, caller: Caller, ids: Sequence[str], permission: str) -> list[Job]:
        """Every named job, or ``ItemsNotFound`` for the whole request if any is unknown or not permitted."""
        found = []
        for job_id in ids:
            job = self._visible(caller, job_id, permission)
            if job is None:
                raise ItemsNotFound
            found.append(job)
        return found

    def _supported(self, jobs: Sequence[Job], feature: str, why: str) -> None:
        """``NotSupported`` for the whole request if any job's product lacks ``feature``."""
        if not all(self.catalogue.supports(job.product, feature) for job in jobs):
            raise NotSupported(why)

    def _viewer(self, job: Job, caller: Caller) -> Viewer:
        return Viewer(self.access.permissions(job, caller), self.catalogue)

    # ------------------------------------------------------------------ operations
    def create(self, caller: Caller, items: Sequence[Mapping[str, Any]]) -> list[str]:
        """jobs.create: one queued job per item, ids from the script; all or nothing.

        ``TooLarge`` for a job past ``Limits.max_job_bytes``; ``StoreFull`` when the engine cannot make room.
        """
        specifications = [self._measured(caller, item, position) for position, item in enumerate(items)]
        with self._request(caller, "jobs.create") as now:
            for item in items:
                if self.catalogue.offer(item["product"]) is None:
                    product = item["product"]
                    raise InvalidRequest(f"{product['id']} / {product['category']} is not supported by the "
                                         f"provider {product['provider']}")
            allocations = [self._allocation(item, now) for item in items]
            self._check_room(len(items))
            ids = self._new_ids(len(items))
            self._make_room(len(items))
            created = []
            for job_id, (specification, size), allocation_ms in zip(ids, specifications, allocations, strict=True):
                self._created += 1
                job = self.lifecycle.create(
                    job_id=job_id, ordinal=self._created, created_by=sys.intern(caller.username),
                    project=caller.project, specification=specification, specification_bytes=size,
                    allocation_ms=allocation_ms, now=now, acl=creator_acl(caller.username, caller.project))
                self._admit(job, now)
                created.append(job.id)
            self._settle(now)
            return created

    def _measured(self, caller: Caller, item: Mapping[str, Any], position: int) -> tuple[dict[str, Any], int]:
        """The specification as the engine keeps it and its size; ``TooLarge`` past the limit (no lock held)."""
        specification, size = stored(item)
        whole = job_bytes(Job(id="", ordinal=0, created_by=caller.username, project=caller.project,
                              specification=specification, created_at=0, state="IN_QUEUE", allocation_ms=None,
                              acl=creator_acl(caller.username, caller.project), specification_bytes=size))
        limit = self.limits.max_job_bytes
        if whole > limit:
            raise TooLarge(f"Request is too large! The job at /items/{position} is {whole} bytes as the mock keeps "
                           f"it (its specification as compact JSON, its owner and ACL); the mock keeps jobs of at "
                           f"most {limit} bytes (ucloud-jobs serve --max-job-bytes)", whole, limit)
        return specification, size

    def _check_room(self, count: int) -> None:
        """``StoreFull`` unless ``count`` new jobs fit once the jobs that ended are forgotten."""
        limit = self.limits.max_jobs
        if count > limit:
            raise StoreFull(f"The request creates {count} jobs; the mock keeps at most {limit} "
                            "(ucloud-jobs serve --max-jobs)", limit)
        if len(self.store) - self.store.ended + count > limit:
            raise StoreFull(f"The mock keeps at most {limit} jobs and {len(self.store) - self.store.ended} of the "
                            f"{len(self.store)} it keeps are live (queued, running or suspended), so {count} more "
                            "do not fit: terminate some, or reset the mock (POST /_mock/reset); ucloud-jobs serve "
                            "--max-jobs raises the limit", limit)

    def _make_room(self, count: int) -> None:
        """Forget the jobs that ended longest ago until ``count`` new ones fit (``_check_room`` said they do)."""
        excess = len(self.store) + count - self.limits.max_jobs
        if excess <= 0:
            return
        forgotten = tuple(itertools.islice(self.store.evictable(), excess))
        for job_id in forgotten:
            self.store.remove(job_id)
            self._rendered.pop(job_id, None)
        self.evicted += len(forgotten)
        self._local.forgotten = forgotten

    def _allocation(self, item: Mapping[str, Any], now: int) -> int | None:
        allocation = item.get("timeAllocation")
        if allocation is None:
            return None
        allocation_ms = _millis(allocation)
        if allocation_ms <= 0:
            raise InvalidRequest("Time allocated for job is too short.")
        if now + allocation_ms > self.vocabulary.long_max:
            raise InvalidRequest("Time allocated for job is too long.")
        return allocation_ms

    def retrieve(self, caller: Caller, job_id: str, flags: Flags,
                 finish: Callable[[JsonObject], Any] = lambda rendered: rendered) -> Any:
        """jobs.retrieve: the job rendered by the profile, passed through ``finish``; or ``UnknownJob``.

        A job that has not changed renders the same for the same include flags and viewer, so what ``finish``
        made of it (the web layer encodes it) is kept per job and handed out again: callers must not change it.
        The newest RENDER_MEMO_SIZE jobs are kept, each only if at most RENDER_MEMO_BYTES; the key is the include
        flags that are on, the viewer's permissions (the rendering depends on nothing else; never on a filter's text)
        and ``finish``.
        """
        included = tuple(name for name, value in flags.items() if value is True and name.startswith("include"))
        with self._request(caller, "jobs.retrieve"):
            job = self._visible(caller, job_id)
            if job is None:
                raise UnknownJob
            viewer = self._viewer(job, caller)
            key = (included, viewer.permissions, finish)
            kept = self._rendered.get(job.id)
            if kept is not None and kept[0] is job and kept[1] == key:
                return kept[2]
            result = finish(self.profile.render(job, flags, viewer))
            if sys.getsizeof(result) <= RENDER_MEMO_BYTES:
                if len(self._rendered) >= RENDER_MEMO_SIZE and job.id not in self._rendered:
                    del self._rendered[next(iter(self._rendered))]
                self._rendered[job.id] = (job, key, result)
            return result

    def browse(self, caller: Caller, flags: Flags, page: queries.Page) -> JsonObject:
        """jobs.browse: the caller's workspace, newest first unless sorted, filtered by the flags."""
        keep = queries.Filters(flags)
        with self._request(caller, "jobs.browse"):
            snapshot = self._snapshot(caller)
        return snapshot.page(flags, page, keep)

    def search(self, caller: Caller, query: str, flags: Flags, page: queries.Page) -> JsonObject:
        """jobs.search: jobs whose name, application name or id contains ``query``, ignoring case."""
        matches, filters = queries.matches_query(query), queries.Filters(flags)
        with self._request(caller, "jobs.search"):
            snapshot = self._snapshot(caller)
        return snapshot.page(flags, page, lambda job: matches(job) and filters(job))

    def _snapshot(self, caller: Caller) -> Snapshot:
        """The caller's workspace as it stands (references to immutable jobs) and the rules to read it by."""
        return Snapshot(self.store.in_workspace(caller.workspace), caller, self.access, self.profile,
                         self.catalogue, self.vocabulary)

    def extend(self, caller: Caller, items: Sequence[Mapping[str, Any]]) -> None:
        """jobs.extend: every job's allocation grows by its requested time; all or nothing."""
        with self._request(caller, "jobs.extend") as now:
            jobs = self._permitted(caller, [item["jobId"] for item in items], EDIT)
            if not self.profile.supports_extension:
                raise NotSupported(self.profile.extension_unsupported)
            self._supported(jobs, "timeExtension", self.profile.extension_unsupported)
            changed: dict[str, Job] = {}
            for item, job in zip(items, jobs, strict=True):
                after = self.lifecycle.apply(changed.get(job.id, job), Extended(_millis(item["requestedTime"])), now)
                if (after.expires_at or 0) > self.vocabulary.long_max or \
                        (after.allocation_ms or 0) // HOUR_MS > self.vocabulary.int_max:
                    raise InvalidRequest("Time allocated for job is too long.")
                changed[job.id] = after
            for job in changed.values():
                self._store(job)

    def terminate(self, caller: Caller, ids: Sequence[str]) -> None:
        """jobs.terminate: every job ends in SUCCESS; final jobs stay as they are."""
        self._bulk(caller, ids, Terminated(), "jobs.terminate", None)

    def suspend(self, caller: Caller, ids: Sequence[str]) -> None:
        """jobs.suspend: running jobs become SUSPENDED; others are left as they are."""
        self._bulk(caller, ids, Suspended(), "jobs.suspend", "suspension")

    def unsuspend(self, caller: Caller, ids: Sequence[str]) -> None:
        """jobs.unsuspend: suspended jobs run again; others are left as they are."""
        self._bulk(caller, ids, Unsuspended(), "jobs.unsuspend", "suspension")

    def _bulk(self, caller: Caller, ids: Sequence[str], event: Event, operation: str, feature: str | None) -> None:
        with self._request(caller, operation) as now:
            jobs = self._permitted(caller, ids, EDIT)
            if feature is not None:
                self._supported(jobs, feature, "Suspension is not supported by the provider")
            for job in jobs:
                current = self.store.get(job.id)
                if current is not None:
                    self._store(self.lifecycle.apply(current, event, now))

    def open_sessions(self, caller: Caller, items: Sequence[Mapping[str, Any]]) -> list[JsonObject]:
        """jobs.openInteractiveSession: a session per item, on a rank of a running job whose product allows it."""
        with self._request(caller, "jobs.openInteractiveSession"):
            jobs = self._permitted(caller, [item["id"] for item in items], EDIT)
            for item, job in zip(items, jobs, strict=True):
                kind = sessions.FEATURE_OF[item["sessionType"]]
                self._supported([job], kind, f"This job does not support {kind} sessions")
                if job.state != "RUNNING":
                    raise InvalidRequest(f"Job {job.id} is not running")
                if not 0 <= item["rank"] < job.replicas:
                    raise InvalidRequest(f"Job {job.id} has no rank {item['rank']} (ranks 0 to {job.replicas - 1})")
            opened = []
            for item, job in zip(items, jobs, strict=True):
                self._sessions_opened += 1
                opened.append(sessions.open_session(job, item["rank"], item["sessionType"], self.scenario.sessions,
                                                    self._sessions_opened))
            return opened

    def products(self, caller: Caller) -> JsonObject:
        """jobs.retrieveProducts: the catalogue, by provider."""
        with self._request(caller, "jobs.retrieveProducts"):
            return {"productsByProvider": self.catalogue.by_provider()}

    def utilization(self, caller: Caller, job_id: str) -> JsonObject:
        """jobs.retrieveUtilization: the capacity and use of the cluster the job runs on."""
        with self._request(caller, "jobs.retrieveUtilization"):
            job = self._visible(caller, job_id)
            if job is None:
                raise UnknownJob
            self._supported([job], "utilization", "Utilization is not supported by the provider")
            jobs, catalogue, cluster = self.store.all(), self.catalogue, self.scenario.cluster
        return sessions.utilization(str(job.product["provider"]), jobs, catalogue, cluster)

    def update_acl(self, caller: Caller, items: Sequence[Mapping[str, Any]]) -> None:
        """jobs.updateAcl: grant and revoke on the jobs the caller administers; 404 if that is none of them."""
        with self._request(caller, "jobs.updateAcl"):
            changed = [changed_acl(job, item["added"], item["deleted"]) for item in items
                       if (job := self._visible(caller, item["id"], ADMIN)) is not None]
            if not changed:
                raise ItemsNotFound
            limit = self.limits.max_job_bytes
            for job in changed:
                if (size := job_bytes(job)) > limit:
                    raise TooLarge(f"Request is too large! With this ACL, job {job.id} would be {size} bytes as "
                                   f"the mock keeps it (its specification as compact JSON, its owner and ACL); the "
                                   f"mock keeps jobs of at most {limit} bytes (ucloud-jobs serve --max-job-bytes)",
                                   size, limit)
            for job in changed:
                self._store(job)

    def follow(self, caller: Caller, job_id: str, start: Callable[[Job, JsonObject], T]) -> T:
        """jobs.follow: the first message for ``caller`` about a job they may read (else ``UnknownJob``).

        ``start`` gets the job's current version and that message under the lock, after the versions this
        request made fall due were published (``changes``): the follower it registers then hears of every
        later version, and of none twice. Its result is returned.
        """
        with self.lock:
            with self._request(caller, "jobs.follow"):
                job = self._visible(caller, job_id)
                if job is None:
                    raise UnknownJob
                first = follow.first_message(job, self.profile, self._viewer(job, caller))
            return start(job, first)

    def follow_next(self, before: Job, after: Job) -> JsonObject | None:
        """The message a follower told ``before`` gets for ``after``; None when nothing they see changed."""
        return follow.next_message(before, after, self.profile, self.catalogue)

    def has_ended(self, job: Job) -> bool:
        """Whether the job is in a final state (its followers' streams end)."""
        return self.lifecycle.is_final(job)

    def init(self, caller: Caller) -> None:
        """jobs.init: nothing to do (UCloud's own implementation does nothing either)."""
        with self._request(caller, "jobs.init"):
            return

    # ------------------------------------------------------------------ looking on (the admin API's page)
    def job_table(self, *, state: str | None = None, owner: str | None = None, offset: int = 0,
                  limit: int = 50) -> JsonObject:
        """Every job, newest first, in ``state`` and of ``owner`` when given: one page of rows, with counts.

        Looking is no request: it plays no step and needs no permission.
        """
        return overview.table(self.jobs(), state=state, owner=owner, offset=offset, limit=limit)

    def job_detail(self, job_id: str) -> JsonObject:
        """A job's timeline: updates, what the clock will bring it, ACL, permissions, log; ``UnknownJob``."""
        with self.lock:
            self._settle(self.clock.now_ms())
            job = self.store.get(job_id)
            if job is None:
                raise UnknownJob
            return overview.detail(job, self.timeline.of(job_id), final=self.lifecycle.is_final(job),
                                   access=self.access, projects=self.scenario.projects,
                                   log_followed=self.catalogue.supports(job.product, "logs"))

    def upcoming(self, limit: int) -> JsonObject:
        """The clock's reading, the next ``limit`` events it will bring (of jobs that have not ended), and the
        script's next step with the time it is served at."""
        with self.lock:
            now = self.clock.now_ms()
            self._settle(now)
            def ongoing(job_id: str) -> bool:  # an ended job's scripted events change nothing
                job = self.store.get(job_id)
                return job is not None and not self.lifecycle.is_final(job)

            events = [overview.event_json(at, event, job_id)
                      for at, job_id, event in self.timeline.first(limit, ongoing)]
            step = self.script.next_step
            following = None if step is None else {
                "step": self.script.cursor + 1, "call": step.call, "note": step.note,
                "atMs": max(self.scenario.clock_start_ms + step.at_ms, now)}
            return {"nowMs": now, "upcoming": events, "nextStep": following}


def _millis(duration: Mapping[str, Any]) -> int:
    return int(duration["hours"]) * HOUR_MS + int(duration["minutes"]) * 60_000 + int(duration["seconds"]) * 1000
