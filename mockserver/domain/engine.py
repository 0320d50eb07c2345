"""The job engine: the Jobs API's operations on the store, the clock and the timeline, behind one lock.

Every operation takes the lock, lets the scenario's script set the clock for this request, applies the events
that have fallen due (in timestamp order, each stamped with its own time), and then does its work. Nothing runs
in the background: the outcome depends only on the requests, their order and the clock.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from contracts.scenario import Scenario
from contracts.vocabulary import Vocabulary, default_vocabulary
from mockserver.domain import queries
from mockserver.domain.access import Caller
from mockserver.domain.clock import Clock, VirtualClock
from mockserver.domain.errors import InvalidRequest, InvalidTime, ItemsNotFound, NotSupported, UnknownJob
from mockserver.domain.jobs import Job
from mockserver.domain.lifecycle import Event, Extended, Lifecycle, ProviderUpdate, Suspended, Terminated, Unsuspended
from mockserver.domain.profiles import Profile, profile_named
from mockserver.domain.render import Flags, JsonObject
from mockserver.domain.script import Script
from mockserver.domain.store import SequentialIds, Store
from mockserver.domain.timeline import Timeline

__all__ = ["MAX_CLOCK_MS", "Engine"]

MAX_CLOCK_MS = 253_402_300_799_999  # 9999-12-31T23:59:59.999Z: beyond it, timestamps stop making sense
HOUR_MS = 3_600_000
RENDER_MEMO_SIZE = 4096


class Engine:
    """The mock's state and the operations of the Jobs API on it."""

    def __init__(self, scenario: Scenario, *, profile: Profile | None = None, clock: Clock | None = None,
                 vocabulary: Vocabulary | None = None) -> None:
        self.lock = threading.RLock()
        self.vocabulary = vocabulary or default_vocabulary()
        self.clock: Clock = clock if clock is not None else VirtualClock(scenario.clock_start_ms)
        self._load(scenario, profile, rewind=False)  # an injected clock keeps the time it was given

    # ------------------------------------------------------------------ state
    def _load(self, scenario: Scenario, profile: Profile | None, *, rewind: bool = True) -> None:
        self.scenario = scenario
        self.profile = profile if profile is not None else profile_named(scenario.profile, scenario.era)
        self.lifecycle = Lifecycle(self.profile, scenario.messages, scenario.queue_delay_ms, self.vocabulary)
        self.store = Store()
        self.timeline = Timeline()
        self.script = Script(scenario)
        self._ids = SequentialIds(scenario.first_id)
        self._rendered: dict[str, tuple[Job, tuple[Any, ...], JsonObject]] = {}
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
        return self.script.served

    def jobs(self) -> list[Job]:
        """Every job as it stands now, oldest first."""
        with self.lock:
            self._settle(self.clock.now_ms())
            return self.store.all()

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
            clock = self._virtual()
            if ms < 0 or clock.now_ms() + ms > MAX_CLOCK_MS:
                raise InvalidTime(f"advanceMs must be between 0 and {MAX_CLOCK_MS - clock.now_ms()}")
            return self._settled(clock.advance(ms))

    def set_time(self, ms: int) -> int:
        """Move a virtual clock to ``ms`` (not into the past) and apply what falls due."""
        with self.lock:
            clock = self._virtual()
            if not clock.now_ms() <= ms <= MAX_CLOCK_MS:
                raise InvalidTime(f"setMs must be between the current time {clock.now_ms()} and {MAX_CLOCK_MS}; "
                                  "the clock only moves forward")
            return self._settled(clock.set(ms))

    def _virtual(self) -> VirtualClock:
        if not isinstance(self.clock, VirtualClock):
            raise InvalidTime("The clock is the system clock; it cannot be moved")
        return self.clock

    def _settled(self, now: int) -> int:
        self._settle(now)
        return now

    def _begin(self) -> int:
        """Start serving one request: the script's clock for this request, then what has fallen due."""
        if isinstance(self.clock, VirtualClock):
            now = self.clock.now_ms()
            scripted = min(self.script.next_request(now), MAX_CLOCK_MS)
            if scripted > now:
                self.clock.set(scripted)
        else:
            self.script.served += 1
        now = self.clock.now_ms()
        self._settle(now)
        return now

    def _settle(self, now: int) -> None:
        for at, job_id, event in self.timeline.pop_due(now):
            job = self.store.get(job_id)
            if job is not None:
                self._store(self.lifecycle.apply(job, event, at))

    def _store(self, job: Job) -> None:
        self.store.put(job)
        self.timeline.track(job.id, self.lifecycle.next_due(job))

    # ------------------------------------------------------------------ lookups
    def _visible(self, caller: Caller, job_id: str) -> Job | None:
        job = self.store.get(job_id)
        return job if job is not None and caller.can_see(job) else None

    def _all_visible(self, caller: Caller, ids: Sequence[str]) -> list[Job]:
        """Every named job, or ``ItemsNotFound`` for the whole request if any is unknown or not the caller's."""
        found = []
        for job_id in ids:
            job = self._visible(caller, job_id)
            if job is None:
                raise ItemsNotFound
            found.append(job)
        return found

    # ------------------------------------------------------------------ operations
    def create(self, caller: Caller, items: Sequence[Mapping[str, Any]]) -> list[str]:
        """jobs.create: one queued job per item, ids from the scenario's sequence; all or nothing."""
        with self.lock:
            now = self._begin()
            allocations = [self._allocation(item, now) for item in items]
            created = []
            for item, allocation_ms in zip(items, allocations, strict=True):
                ordinal = len(self.store) + 1
                job = self.lifecycle.create(
                    job_id=self._ids(), ordinal=ordinal, created_by=sys.intern(caller.username),
                    project=caller.project, specification=self.store.intern(item), allocation_ms=allocation_ms,
                    now=now)
                self.store.add(job, caller.workspace)
                self.timeline.track(job.id, self.lifecycle.next_due(job))
                for event in self.scenario.events:
                    if event.job == ordinal:
                        self.timeline.schedule(now + event.after_ms, job.id, ProviderUpdate(event.state, event.status))
                created.append(job.id)
            self._settle(now)
            return created

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

    def retrieve(self, caller: Caller, job_id: str, flags: Flags) -> JsonObject:
        """jobs.retrieve: the job rendered by the profile, or ``UnknownJob``.

        A job that has not changed renders the same for the same flags and viewer, so the rendering is kept per
        job (the newest few thousand) and handed out again: callers must not change it.
        """
        with self.lock:
            self._begin()
            job = self._visible(caller, job_id)
            if job is None:
                raise UnknownJob
            key = (tuple(flags.items()), caller.username)
            kept = self._rendered.get(job.id)
            if kept is not None and kept[0] is job and kept[1] == key:
                return kept[2]
            rendered = self.profile.render(job, flags, caller.username)
            if len(self._rendered) >= RENDER_MEMO_SIZE:
                del self._rendered[next(iter(self._rendered))]
            self._rendered[job.id] = (job, key, rendered)
            return rendered

    def browse(self, caller: Caller, flags: Flags, page: queries.Page) -> JsonObject:
        """jobs.browse: the caller's workspace, newest first unless sorted, filtered by the flags."""
        with self.lock:
            self._begin()
            return self._page(caller, flags, page, lambda job: True)

    def search(self, caller: Caller, query: str, flags: Flags, page: queries.Page) -> JsonObject:
        """jobs.search: jobs whose name, application name or id contains ``query``, ignoring case."""
        matches = queries.matches_query(query)
        with self.lock:
            self._begin()
            return self._page(caller, flags, page, matches)

    def _page(self, caller: Caller, flags: Flags, page: queries.Page, predicate: Callable[[Job], bool]) -> JsonObject:
        jobs = (job for job in self.store.newest_first(caller.workspace)
                if predicate(job) and queries.passes_filters(job, flags))
        selected, size, following = queries.page_of(jobs, page, self.vocabulary)
        items = [self.profile.render(job, flags, caller.username) for job in selected]
        return {"itemsPerPage": size, "items": items, "next": following}

    def extend(self, caller: Caller, items: Sequence[Mapping[str, Any]]) -> None:
        """jobs.extend: every job's allocation grows by its requested time; all or nothing."""
        with self.lock:
            now = self._begin()
            if not self.profile.supports_extension:
                raise NotSupported("Extension of deadline is not supported by the provider")
            jobs = self._all_visible(caller, [item["jobId"] for item in items])
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
        self._bulk(caller, ids, Terminated())

    def suspend(self, caller: Caller, ids: Sequence[str]) -> None:
        """jobs.suspend: running jobs become SUSPENDED; others are left as they are."""
        self._bulk(caller, ids, Suspended())

    def unsuspend(self, caller: Caller, ids: Sequence[str]) -> None:
        """jobs.unsuspend: suspended jobs run again; others are left as they are."""
        self._bulk(caller, ids, Unsuspended())

    def _bulk(self, caller: Caller, ids: Sequence[str], event: Event) -> None:
        with self.lock:
            now = self._begin()
            for job in self._all_visible(caller, ids):
                current = self.store.get(job.id)
                if current is not None:
                    self._store(self.lifecycle.apply(current, event, now))


def _millis(duration: Mapping[str, Any]) -> int:
    return int(duration["hours"]) * HOUR_MS + int(duration["minutes"]) * 60_000 + int(duration["seconds"]) * 1000
