"""The job engine: the state of every job, the clock, and the events that time brings, behind one lock.

Every operation takes the lock, lets the scenario set the clock for this step, applies the events that have
fallen due (in timestamp order, each stamped with its own time), and then does its work. Nothing runs in the
background: the outcome depends only on the requests, their order and the clock.
"""

from __future__ import annotations

import heapq
import itertools
import json
import sys
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from contracts.scenario import Scenario
from mockserver.clock import Clock, VirtualClock
from mockserver.encoding import Encoded, encode
from mockserver.errors import BULK_NOT_FOUND, ApiError
from mockserver.lifecycle import (
    Event,
    Extended,
    Job,
    Lifecycle,
    ProviderUpdate,
    Suspended,
    Terminated,
    Unsuspended,
)
from mockserver.profiles import Flags, Profile, profile_named

__all__ = ["LONG_MAX", "MAX_CLOCK_MS", "Caller", "Engine"]

LONG_MAX = 2**63 - 1
INT_MAX = 2**31 - 1
MAX_CLOCK_MS = 253_402_300_799_999  # 9999-12-31T23:59:59.999Z: beyond it, timestamps stop making sense
PAGE_SIZES = frozenset({10, 25, 50, 100, 250, 1000})
DEFAULT_PAGE_SIZE = 50
HOUR_MS = 3_600_000
RENDER_CACHE_SIZE = 4096


@dataclass(frozen=True, slots=True)
class Caller:
    """Who is calling: a username and the workspace (project) chosen with the ``Project`` header."""

    username: str
    project: str | None = None

    def can_see(self, job: Job) -> bool:
        """A user sees their own personal jobs and every job of the project they act in."""
        if self.project is not None:
            return job.project == self.project
        return job.project is None and job.created_by == self.username


@dataclass(order=True, frozen=True, slots=True)
class _Due:
    at: int
    seq: int
    job_id: str
    event: Event
    natural: bool


class Engine:
    """The mock's state and the operations of the Jobs API on it."""

    def __init__(self, scenario: Scenario, *, profile: Profile | None = None, clock: Clock | None = None) -> None:
        self.lock = threading.RLock()
        self.clock: Clock = clock if clock is not None else VirtualClock(scenario.clock_start_ms)
        self._load(scenario, profile, rewind=False)  # an injected clock keeps the time it was given

    # ------------------------------------------------------------------ state
    def _load(self, scenario: Scenario, profile: Profile | None, *, rewind: bool = True) -> None:
        self.scenario = scenario
        self.profile = profile if profile is not None else profile_named(scenario.profile)
        self.lifecycle = Lifecycle(self.profile, scenario.messages, scenario.queue_delay_ms)
        self.jobs: dict[str, Job] = {}
        self._workspaces: dict[tuple[str | None, str | None], list[str]] = {}
        self._next_id = scenario.first_id
        self._created = 0
        self._requests = 0
        self._due: list[_Due] = []
        self._natural: dict[str, tuple[int, type]] = {}
        self._seq = itertools.count()
        self._specs: dict[str, Mapping[str, Any]] = {}
        self._rendered: dict[str, tuple[Job, tuple[Any, ...], Encoded]] = {}
        if rewind and isinstance(self.clock, VirtualClock):
            self.clock.reset(scenario.clock_start_ms)

    def reset(self, scenario: Scenario | None = None, profile: Profile | None = None) -> None:
        """Forget every job and start the scenario (this one, or the current one) from its beginning."""
        with self.lock:
            keep_profile = profile if profile is not None else (self.profile if scenario is None else None)
            self._load(scenario or self.scenario, keep_profile)

    @property
    def requests_seen(self) -> int:
        """How many API requests the engine has served since the last reset."""
        return self._requests

    # ------------------------------------------------------------------ time
    def now(self) -> int:
        """The clock, after applying every event that has fallen due."""
        with self.lock:
            now = self.clock.now_ms()
            self._settle(now)
            return now

    def advance(self, ms: int) -> int:
        """Move a virtual clock forward by ``ms`` and apply what falls due."""
        with self.lock:
            if not isinstance(self.clock, VirtualClock):
                raise ApiError(400, "The clock is the system clock; it cannot be moved")
            if ms < 0 or self.clock.now_ms() + ms > MAX_CLOCK_MS:
                raise ApiError(400, f"advanceMs must be between 0 and {MAX_CLOCK_MS - self.clock.now_ms()}")
            return self._settled(self.clock.advance(ms))

    def set_time(self, ms: int) -> int:
        """Move a virtual clock to ``ms`` (not into the past) and apply what falls due."""
        with self.lock:
            if not isinstance(self.clock, VirtualClock):
                raise ApiError(400, "The clock is the system clock; it cannot be moved")
            if not self.clock.now_ms() <= ms <= MAX_CLOCK_MS:
                raise ApiError(400, f"setMs must be between the current time {self.clock.now_ms()} and "
                                    f"{MAX_CLOCK_MS}; the clock only moves forward")
            return self._settled(self.clock.set(ms))

    def _settled(self, now: int) -> int:
        self._settle(now)
        return now

    def _begin(self) -> int:
        """Start serving one request: the scenario's clock for this step, then what has fallen due."""
        if isinstance(self.clock, VirtualClock):
            scripted = self.scenario.step_time(self._requests)
            if scripted is not None:
                if scripted > self.clock.now_ms():
                    self.clock.set(min(scripted, MAX_CLOCK_MS))
            elif self.scenario.tick_after_script_ms:
                self.clock.set(min(self.clock.now_ms() + self.scenario.tick_after_script_ms, MAX_CLOCK_MS))
        self._requests += 1
        now = self.clock.now_ms()
        self._settle(now)
        return now

    def _settle(self, now: int) -> None:
        due = self._due
        while due and due[0].at <= now:
            entry = heapq.heappop(due)
            job = self.jobs.get(entry.job_id)
            if job is None:
                continue
            if entry.natural:
                if self._natural.get(entry.job_id) != (entry.at, type(entry.event)):
                    continue  # superseded: the job changed since this was scheduled
                del self._natural[entry.job_id]
            self._store(self.lifecycle.apply(job, entry.event, entry.at))

    def _schedule(self, at: int, job_id: str, event: Event, natural: bool) -> None:
        heapq.heappush(self._due, _Due(at, next(self._seq), job_id, event, natural))

    def _store(self, job: Job) -> None:
        self.jobs[job.id] = job
        due = self.lifecycle.next_due(job)
        if due is None:
            self._natural.pop(job.id, None)
        elif self._natural.get(job.id) != (due[0], type(due[1])):
            self._natural[job.id] = (due[0], type(due[1]))
            self._schedule(due[0], job.id, due[1], natural=True)
            if len(self._due) > 2 * len(self._natural) + 1024:
                self._compact()

    def _compact(self) -> None:
        """Drop superseded entries, so that a job extended a million times costs one entry, not a million."""
        self._due = [entry for entry in self._due
                     if not entry.natural or self._natural.get(entry.job_id) == (entry.at, type(entry.event))]
        heapq.heapify(self._due)

    # ------------------------------------------------------------------ lookups
    def _visible(self, caller: Caller, job_id: str) -> Job | None:
        job = self.jobs.get(job_id)
        return job if job is not None and caller.can_see(job) else None

    def _all_visible(self, caller: Caller, ids: Sequence[str]) -> list[Job]:
        """Every named job, or 404 for the whole request if any is unknown or not the caller's."""
        found = []
        for job_id in ids:
            job = self._visible(caller, job_id)
            if job is None:
                raise ApiError(404, BULK_NOT_FOUND)
            found.append(job)
        return found

    def _workspace_key(self, caller: Caller) -> tuple[str | None, str | None]:
        return (None, caller.project) if caller.project is not None else (caller.username, None)

    # ------------------------------------------------------------------ operations
    def create(self, caller: Caller, items: Sequence[Mapping[str, Any]]) -> list[dict[str, str]]:
        """jobs.create: one queued job per item, ids from the counter."""
        with self.lock:
            now = self._begin()
            responses = []
            for item in items:
                allocation = item.get("timeAllocation")
                allocation_ms = None if allocation is None else _millis(allocation)
                if allocation_ms is not None and allocation_ms <= 0:
                    raise ApiError(400, "Time allocated for job is too short.")
                if allocation_ms is not None and now + allocation_ms > LONG_MAX:
                    raise ApiError(400, "Time allocated for job is too long.")
            for item in items:
                job_id = str(self._next_id)
                self._next_id += 1
                self._created += 1
                allocation = item.get("timeAllocation")
                job = self.lifecycle.create(
                    job_id=job_id, ordinal=self._created, created_by=sys.intern(caller.username),
                    project=caller.project, specification=self._intern(item),
                    allocation_ms=None if allocation is None else _millis(allocation), now=now)
                self._store(job)
                self._workspaces.setdefault(self._workspace_key(caller), []).append(job_id)
                for event in self.scenario.events:
                    if event.job == self._created:
                        self._schedule(now + event.after_ms, job_id, ProviderUpdate(event.state, event.status),
                                       natural=False)
                responses.append({"id": job_id})
            self._settle(now)
            return responses

    def _intern(self, item: Mapping[str, Any]) -> Mapping[str, Any]:
        """Share one copy of identical specifications: a soak of a million jobs must not hold a million."""
        key = json.dumps(item, sort_keys=True, separators=(",", ":"))
        found = self._specs.get(key)
        if found is None:
            found = json.loads(key)
            if len(self._specs) < 10_000:
                self._specs[key] = found
        return found

    def retrieve(self, caller: Caller, job_id: str, flags: Flags) -> Encoded:
        """jobs.retrieve: the job rendered by the profile, as JSON, or 404 "Unknown job".

        A job that has not changed renders the same for the same flags and viewer: the JSON is kept per job
        (the newest few thousand), so retrieving the same job again costs a lookup.
        """
        with self.lock:
            self._begin()
            job = self._visible(caller, job_id)
            if job is None:
                raise ApiError(404, "Unknown job")
            key = (tuple(flags.items()), caller.username)
            cached = self._rendered.get(job.id)
            if cached is not None and cached[0] is job and cached[1] == key:
                return cached[2]
            body = encode(self.profile.render(job, flags, caller.username))
            if len(self._rendered) >= RENDER_CACHE_SIZE:
                del self._rendered[next(iter(self._rendered))]
            self._rendered[job.id] = (job, key, body)
            return body

    def browse(self, caller: Caller, flags: Flags, page: Mapping[str, Any]) -> dict[str, Any]:
        """jobs.browse: the caller's workspace, newest first unless sorted, filtered by the flags."""
        with self.lock:
            self._begin()
            return self._page(caller, flags, page, lambda job: True)

    def search(self, caller: Caller, query: str, flags: Flags, page: Mapping[str, Any]) -> dict[str, Any]:
        """jobs.search: jobs whose name, application name or id contains ``query``, ignoring case."""
        needle = query.casefold()

        def matches(job: Job) -> bool:
            spec = job.specification
            name = spec.get("name") or ""
            return (needle in name.casefold() or needle in spec["application"]["name"].casefold()
                    or needle in job.id.casefold())

        with self.lock:
            self._begin()
            return self._page(caller, flags, page, matches)

    def _page(self, caller: Caller, flags: Flags, page: Mapping[str, Any],
              predicate: Callable[[Job], bool]) -> dict[str, Any]:
        # JSON Schema's integers include 10.0: the page arithmetic needs int.
        size = page.get("itemsPerPage")
        size = int(size) if size in PAGE_SIZES else DEFAULT_PAGE_SIZE
        skip = int(page.get("itemsToSkip") or 0)
        ids = self._workspaces.get(self._workspace_key(caller), [])
        # Past the last job the page is empty, whatever the offset (itemsToSkip may be a Long's maximum).
        offset = min(_offset(page.get("next")) + skip, len(ids))
        jobs = (job for job in (self.jobs[i] for i in reversed(ids)) if predicate(job) and _passes(job, flags))
        if page.get("sortBy") == "name":
            ordered = sorted(jobs, key=lambda job: ((job.specification.get("name") or "").casefold(), job.id))
            if page.get("sortDirection") == "descending":
                ordered.reverse()
            selected = ordered[offset: offset + size + 1]
        else:
            selected = list(itertools.islice(_ascending(jobs, page), offset, offset + size + 1))
        items = [self.profile.render(job, flags, caller.username) for job in selected[:size]]
        more = len(selected) > size
        return {"itemsPerPage": size, "items": items, "next": str(offset + size) if more else None}

    def extend(self, caller: Caller, items: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """jobs.extend: every job's allocation grows by its requested time; all or nothing."""
        with self.lock:
            now = self._begin()
            if not self.profile.supports_extension:
                raise ApiError(400, "Extension of deadline is not supported by the provider",
                               "FEATURE_NOT_SUPPORTED_BY_PROVIDER")
            jobs = self._all_visible(caller, [item["jobId"] for item in items])
            changed: dict[str, Job] = {}
            for item, job in zip(items, jobs, strict=True):
                current = changed.get(job.id, job)
                after = self.lifecycle.apply(current, Extended(_millis(item["requestedTime"])), now)
                if (after.expires_at or 0) > LONG_MAX or (after.allocation_ms or 0) // HOUR_MS > INT_MAX:
                    raise ApiError(400, "Time allocated for job is too long.")
                changed[job.id] = after
            for job in changed.values():
                self._store(job)
            return [{} for _ in items]

    def terminate(self, caller: Caller, ids: Sequence[str]) -> list[dict[str, Any]]:
        """jobs.terminate: every job ends in SUCCESS ("Your job has been cancelled!"); final jobs stay."""
        return self._bulk(caller, ids, Terminated())

    def suspend(self, caller: Caller, ids: Sequence[str]) -> list[dict[str, Any]]:
        """jobs.suspend: running jobs become SUSPENDED; others are left as they are."""
        return self._bulk(caller, ids, Suspended())

    def unsuspend(self, caller: Caller, ids: Sequence[str]) -> list[dict[str, Any]]:
        """jobs.unsuspend: suspended jobs run again; others are left as they are."""
        return self._bulk(caller, ids, Unsuspended())

    def _bulk(self, caller: Caller, ids: Sequence[str], event: Event) -> list[dict[str, Any]]:
        with self.lock:
            now = self._begin()
            for job in self._all_visible(caller, ids):
                self._store(self.lifecycle.apply(self.jobs[job.id], event, now))
            return [{} for _ in ids]

    def iter_jobs(self) -> Iterator[Job]:
        """Every job, oldest first (for the admin API and tests)."""
        with self.lock:
            self._settle(self.clock.now_ms())
            return iter(list(self.jobs.values()))


def _millis(duration: Mapping[str, Any]) -> int:
    return int(duration["hours"]) * HOUR_MS + int(duration["minutes"]) * 60_000 + int(duration["seconds"]) * 1000


def _offset(token: Any) -> int:
    """Where a page starts: a token the mock did not issue starts at the beginning.

    So does UCloud: K24's ``ResourceStore.browse`` reads ``next?.toLongOrNull() ?: -1L`` (and its sorted browse
    ``next?.toIntOrNull() ?: 0``), so a stale or made-up token is not an error.
    """
    if isinstance(token, str) and token.isascii() and token.isdigit() and len(token) <= 18:
        return int(token)
    return 0


def _ascending(jobs: Iterator[Job], page: Mapping[str, Any]) -> Iterator[Job]:
    if page.get("sortDirection") == "ascending":
        return iter(reversed(list(jobs)))
    return jobs


def _passes(job: Job, flags: Flags) -> bool:
    """Whether the job passes the filters of the include flags."""
    spec = job.specification
    product = spec["product"]
    checks: tuple[tuple[str, Callable[[Any], bool]], ...] = (
        ("filterState", lambda v: job.state == v),
        ("filterApplication", lambda v: spec["application"]["name"] == v),
        ("filterCreatedBy", lambda v: job.created_by == v),
        ("filterCreatedAfter", lambda v: job.created_at >= v),
        ("filterCreatedBefore", lambda v: job.created_at <= v),
        ("filterProvider", lambda v: product["provider"] == v),
        ("filterProductId", lambda v: product["id"] == v),
        ("filterProductCategory", lambda v: product["category"] == v),
        ("filterIds", lambda v: job.id in v.split(",")),
        ("filterProviderIds", lambda v: False),  # the mock's provider generates no ids of its own
        ("hideProductId", lambda v: product["id"] != v),
        ("hideProductCategory", lambda v: product["category"] != v),
        ("hideProvider", lambda v: product["provider"] != v),
    )
    return all(check(flags[name]) for name, check in checks if flags.get(name) is not None)

