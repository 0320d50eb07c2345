"""The engine's state and its time: the store, the timeline, the script, the clock, and the jobs a scenario
brings with it. ``Engine`` adds the Jobs API's operations on top.

Time is applied here: events that have fallen due are applied in timestamp order, each stamped with its own
time, whenever the clock is read or moved or a request begins.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

from contracts.scenario import PresetJob, Scenario
from contracts.vocabulary import Vocabulary
from mockserver.domain.access import Access, acl_entries, creator_acl
from mockserver.domain.changes import Changes
from mockserver.domain.clock import Clock, VirtualClock
from mockserver.domain.errors import InvalidRequest, InvalidTime
from mockserver.domain.jobs import Job
from mockserver.domain.lifecycle import Event, Lifecycle, Logged, ProviderUpdate
from mockserver.domain.products import Catalogue
from mockserver.domain.profiles import Profile, profile_named
from mockserver.domain.script import Cue, Script
from mockserver.domain.store import SequentialIds, Store
from mockserver.domain.timeline import Timeline

__all__ = ["MAX_CLOCK_MS", "State"]

MAX_CLOCK_MS = 253_402_300_799_999  # 9999-12-31T23:59:59.999Z: beyond it, timestamps stop making sense
_LATEST = f"{MAX_CLOCK_MS} (9999-12-31T23:59:59.999Z)"


class State:
    """Everything the engine holds, and the clock that moves it."""

    def __init__(self, vocabulary: Vocabulary, clock: Clock) -> None:
        self.lock = threading.RLock()
        self.vocabulary = vocabulary
        self.clock = clock
        #: Who hears of each new version of a job, once the operation that made it ends (jobs.follow).
        self.changes = Changes()

    @contextlib.contextmanager
    def _operation(self) -> Iterator[None]:
        """The lock, and the versions made under it published when the outermost operation ends."""
        with self.lock, self.changes.operation():
            yield

    def _load(self, scenario: Scenario, profile: Profile | None, *, rewind: bool = True) -> None:
        self.scenario = scenario
        self.profile = profile if profile is not None else profile_named(scenario.profile, scenario.era)
        self.lifecycle = Lifecycle(self.profile, scenario.messages, scenario.queue_delay_ms, self.vocabulary)
        self.store = Store()
        self.timeline = Timeline()
        self.script = Script(scenario)
        self.access = Access(scenario.projects)
        self.catalogue = Catalogue(scenario.products)
        self._counter = SequentialIds(scenario.first_id)
        self._sequence = list(scenario.id_sequence)
        self._created = 0
        if rewind and isinstance(self.clock, VirtualClock):
            self.clock.reset(scenario.clock_start_ms)
        for preset in scenario.jobs:
            self._preset(preset)

    def reset(self, scenario: Scenario | None = None, profile: Profile | None = None) -> None:
        """Forget every job and start the scenario (this one, or the current one) from its beginning."""
        with self._operation():
            keep_profile = profile if profile is not None else (self.profile if scenario is None else None)
            self._load(scenario or self.scenario, keep_profile)
            self.changes.restarted()

    def cue(self) -> Cue | None:
        """How this thread's last request met the script (None: it never reached the engine)."""
        return self.script.cue()

    def forget_cue(self) -> None:
        """A new request of this thread begins."""
        self.script.forget()

    @contextlib.contextmanager
    def probing(self) -> Iterator[None]:
        """Requests of this thread look without playing a step of the script (HEAD)."""
        with self.script.probing():
            yield

    @property
    def requests_seen(self) -> int:
        """How many API requests the engine has served since the last reset."""
        return self.script.served

    def jobs(self) -> list[Job]:
        """Every job as it stands now, oldest first."""
        with self._operation():
            self._settle(self.clock.now_ms())
            return self.store.all()

    # ------------------------------------------------------------------ time
    def now(self) -> int:
        """The clock, after applying every event that has fallen due."""
        with self._operation():
            now = self.clock.now_ms()
            self._settle(now)
            return now

    def advance(self, ms: int) -> int:
        """Move a virtual clock forward by ``ms`` and apply what falls due."""
        with self._operation():
            clock = self._virtual()
            now = clock.now_ms()
            if ms < 0:
                raise InvalidTime(f"the clock only moves forward: it cannot move by {ms} ms")
            if now + ms > MAX_CLOCK_MS:
                raise InvalidTime(f"the clock cannot move by {ms} ms: it reads {now}, and {_LATEST} is "
                                  f"{MAX_CLOCK_MS - now} ms away")
            return self._settled(clock.advance(ms))

    def set_time(self, ms: int) -> int:
        """Move a virtual clock to ``ms`` (not into the past) and apply what falls due."""
        with self._operation():
            clock = self._virtual()
            now = clock.now_ms()
            if ms < now:
                raise InvalidTime(f"the clock only moves forward: it reads {now}, so it cannot be set to {ms}")
            if ms > MAX_CLOCK_MS:
                raise InvalidTime(f"the clock cannot be set to {ms}: {_LATEST} is the latest time")
            return self._settled(clock.set(ms))

    def _virtual(self) -> VirtualClock:
        if not isinstance(self.clock, VirtualClock):
            raise InvalidTime("The clock is the system clock; it cannot be moved")
        return self.clock

    def _settled(self, now: int) -> int:
        self._settle(now)
        return now

    def _begin(self, operation: str) -> int:
        """Start serving one request: the script's clock for it, then what has fallen due."""
        now = self.clock.now_ms()
        scripted = min(self.script.next_request(now, operation), MAX_CLOCK_MS)
        if isinstance(self.clock, VirtualClock) and scripted > now:
            self.clock.set(scripted)
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
        self.changes.record(job)

    # ------------------------------------------------------------------ new jobs
    def _new_ids(self, count: int) -> list[str]:
        """Ids for ``count`` new jobs: the step's own, then the scenario's sequence, then the counter."""
        given = list(self.script.step_ids())
        ids = []
        for position in range(count):
            if position < len(given):
                job_id = given[position]
            elif self._sequence:
                job_id = self._sequence.pop(0)
            else:
                job_id = next(i for i in iter(self._counter, None) if self.store.get(i) is None)
            if self.store.get(job_id) is not None or job_id in ids:
                raise InvalidRequest(f"The scenario gives the id {job_id} to two jobs")
            ids.append(job_id)
        return ids

    def _admit(self, job: Job, created: int) -> None:
        """Store a new job in its workspace and schedule what time will bring it."""
        self.store.add(job, (None, job.project) if job.project is not None else (job.created_by, None))
        self.timeline.track(job.id, self.lifecycle.next_due(job))
        for scripted in self.scenario.events:
            if scripted.job in (job.ordinal, job.id):
                at = created + scripted.after_ms
                if scripted.state is not None or scripted.status is not None or scripted.output_folder is not None:
                    self.timeline.schedule(at, job.id, ProviderUpdate(scripted.state, scripted.status,
                                                                       scripted.output_folder))
                if scripted.log is not None:
                    self.timeline.schedule(at, job.id, _logged(scripted.log))

    def _preset(self, preset: PresetJob) -> None:
        """A job that existed before the flow, with its history; its events count from the scenario's start."""
        specification = self.store.intern(preset.specification)
        allocation = specification.get("timeAllocation")
        job = self.lifecycle.create(
            job_id=preset.id, ordinal=0, created_by=preset.user, project=preset.project,
            specification=specification, now=preset.created_at,
            allocation_ms=None if allocation is None else _millis(allocation),
            acl=(*creator_acl(preset.user, preset.project), *acl_entries(preset.acl)))
        for update in preset.updates:
            job = self.lifecycle.apply(job, ProviderUpdate(update.state, update.status, update.output_folder),
                                       preset.created_at + update.after_ms)
        self._admit(job, self.scenario.clock_start_ms)
        self._settle(self.clock.now_ms())


def _logged(log: object) -> Event:
    entry = dict(log) if isinstance(log, dict) else {}
    return Logged(int(entry.get("rank", 0)), entry.get("stdout"), entry.get("stderr"))


def _millis(duration: object) -> int:
    parts = duration if isinstance(duration, dict) else {}
    return int(parts.get("hours", 0)) * 3_600_000 + int(parts.get("minutes", 0)) * 60_000 + \
        int(parts.get("seconds", 0)) * 1000

