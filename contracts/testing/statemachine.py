"""The invariants as a Hypothesis state machine that drives any target through a ``Transport``.

Rules create, retrieve, browse, extend, terminate, suspend and unsuspend jobs, move the clock (where the target
has a control) and act as a second user; after each, the invariants of ``contracts.testing.invariants`` are
checked (through a ``Tally``, which counts them) and every response is validated against the spec for its
operation and status. The calls of the last run are recorded, so a failure can be replayed as curl lines; the
recorder also counts the runs and hears about the first one that fails, as it fails.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from hypothesis import strategies as st
from hypothesis.errors import HypothesisException
from hypothesis.stateful import Bundle, RuleBasedStateMachine, initialize, invariant, multiple, precondition, rule

from contracts.testing import invariants as inv
from contracts.testing.strategies import durations
from contracts.testing.tally import Tally
from contracts.testing.transport import Reply, Transport
from contracts.validation import Contract, default_contract
from contracts.vocabulary import default_vocabulary

__all__ = ["JobsStateMachine", "Recorder", "Target", "build_state_machine"]

RETRIEVE_FLAGS = {"includeUpdates": True}
UNKNOWN_ID = "9223372036854775807"
MAX_EXTEND_HOURS = 48
ONE_HOUR = {"hours": 1, "minutes": 0, "seconds": 0}
CLOCK_STEPS_MS = (1_000, 5_000, 60_000, 3_600_000, 6 * 3_600_000, 13 * 3_600_000)


def lifecycle_specifications(max_hours: int) -> st.SearchStrategy[dict[str, Any]]:
    """Small job specifications: the lifecycle depends only on the allocation, so shrinking stays quick.

    The whole space of specifications is the property tests' business (everything generated validates).
    """
    allocation = st.one_of(st.none(), durations(max_hours).filter(lambda d: any(d.values())))
    return st.fixed_dictionaries({
        "application": st.sampled_from([{"name": "acme-batch", "version": "1.0.0"},
                                        {"name": "acme-web-application", "version": "1.0.0"}]),
        "product": st.just({"id": "example-compute", "category": "example-compute", "provider": "example"}),
        "timeAllocation": allocation,
    })


@dataclass
class Target:
    """What is being verified and what it can do.

    ``profile`` is a profile name or None (check only what holds in every profile). ``synchronous`` targets end
    a terminated job at once (the mock); ``frozen_clock`` ones only move time when told (the mock's virtual
    clock).
    """

    transport: Transport
    profile: str | None = None
    synchronous: bool = True
    frozen_clock: bool = True
    suspension: bool = True


@dataclass
class Recorder:
    """The calls of the current (in the end: the last, shrunk) run, and how the runs went.

    ``runs`` counts the finished runs (examples, and later the re-runs of shrinking); ``on_run`` hears each
    count, and ``on_failure`` hears the first run that failed, with its calls still recorded, once.
    """

    calls: list[Reply] = field(default_factory=list)
    runs: int = 0
    failed_run: int | None = None
    on_run: Callable[[int], None] | None = None
    on_failure: Callable[[BaseException], None] | None = None

    def curl_lines(self) -> list[str]:
        """One pasteable curl command per call, in order."""
        return [reply.curl for reply in self.calls]

    def finished(self, error: BaseException | None) -> None:
        """A run ended, with ``error`` if it failed."""
        self.runs += 1
        if self.on_run is not None:
            self.on_run(self.runs)
        if error is not None and self.failed_run is None:
            self.failed_run = self.runs
            if self.on_failure is not None:
                self.on_failure(error)


@dataclass(frozen=True)
class JobRef:
    """A job created by the machine, and who owns it."""

    id: str
    owner: str


class _Plumbing(RuleBasedStateMachine):
    """Calls, checks and bookkeeping shared by the rules; ``build_state_machine`` binds the class attributes."""

    target: ClassVar[Target]
    recorder: ClassVar[Recorder]
    checker: ClassVar[Contract]
    tally: ClassVar[Tally]

    def __init__(self) -> None:
        super().__init__()
        self.recorder.calls.clear()
        # The exception being handled around this run, if any: not this run's failure (see teardown).
        self.ambient = sys.exc_info()[1]
        self.seen: dict[str, dict[str, Any]] = {}
        self.ids: set[str] = set()
        transport = self.target.transport
        self.transport = transport
        self.owner = transport.users[0]
        self.stranger = transport.users[1] if len(transport.users) > 1 else None

    def call(self, operation: str, request: Any, user: str | None = None) -> Reply:
        reply = self.transport.call(operation, request, user=user)
        self.recorder.calls.append(reply)
        self.tally(inv.check_response, self.checker, operation, reply)
        return reply

    def expect(self, reply: Reply, status: int) -> Any:
        self.tally(inv.check_status, reply, status)
        return reply.body

    def fetch(self, job: JobRef) -> dict[str, Any]:
        body = self.expect(self.call("jobs.retrieve", {**RETRIEVE_FLAGS, "id": job.id}, job.owner), 200)
        before = self.seen.get(job.id)
        self.tally(inv.check_updates, before, body)
        if before is not None:
            self.tally(inv.check_final_unchanged, before, body)
        self.seen[job.id] = body
        return dict(body)

    def current(self, job: JobRef) -> dict[str, Any]:
        """The job before a change: on a frozen clock the last retrieve is still true (a rule checks it)."""
        if self.target.frozen_clock and job.id in self.seen:
            return dict(self.seen[job.id])
        return self.fetch(job)

    def created(self, body: Any) -> list[JobRef]:
        self.tally(inv.check_new_ids, self.ids, body["responses"])
        refs = [JobRef(entry["id"], self.owner) for entry in body["responses"] if entry is not None]
        self.ids.update(ref.id for ref in refs)
        return refs

    def check_created_at(self, refs: list[JobRef]) -> None:
        control = self.transport.control
        now = control.now_ms() if self.target.frozen_clock and control is not None else None
        for ref in refs:
            created = self.fetch(ref)
            if now is not None:
                self.tally(inv.check_created_at, created, now)

    def move(self, job: JobRef, call: str, check: Callable[[dict[str, Any], dict[str, Any]], None]) -> None:
        before = self.current(job)
        self.expect(self.call(call, {"items": [{"id": job.id}]}, job.owner), 200)
        self.tally(check, before, self.fetch(job))


class JobsStateMachine(_Plumbing):
    """The rules and invariants; bound to a target by ``build_state_machine``."""

    jobs = Bundle("jobs")

    @initialize()
    def start(self) -> None:
        if self.transport.control is not None:
            self.transport.control.reset()

    @rule(target=jobs, specs=st.lists(lifecycle_specifications(12), min_size=1, max_size=2))
    def create(self, specs: list[dict[str, Any]]) -> Any:
        body = self.expect(self.call("jobs.create", {"items": specs}, self.owner), 200)
        self.tally(inv.check_bulk_response, "jobs.create", specs, body)
        refs = self.created(body)
        self.check_created_at(refs)
        return multiple(*refs)

    @rule(job=jobs)
    def retrieve_twice(self, job: JobRef) -> None:
        first = self.fetch(job)
        second = self.fetch(job)
        if self.target.frozen_clock:
            self.tally(inv.check_retrieves_agree, first, second)

    @rule()
    def browse(self) -> None:
        page = self.expect(self.call("jobs.browse", {"itemsPerPage": 250, **RETRIEVE_FLAGS}, self.owner), 200)
        self.tally(inv.check_browse_owner, page["items"], self.owner, self.ids)

    @rule(job=jobs, duration=durations(MAX_EXTEND_HOURS))
    def extend(self, job: JobRef, duration: dict[str, int]) -> None:
        before = self.current(job)
        items = [{"jobId": job.id, "requestedTime": duration}]
        reply = self.expect(self.call("jobs.extend", {"items": items}, job.owner), 200)
        self.tally(inv.check_bulk_response, "jobs.extend", items, reply)
        self.tally(inv.check_extended, before, self.fetch(job), inv.duration_ms(duration) or 0, self.target.profile)

    @rule(job=jobs)
    def terminate(self, job: JobRef) -> None:
        before = self.current(job)
        items = [{"id": job.id}]
        self.tally(inv.check_bulk_response, "jobs.terminate", items,
                   self.expect(self.call("jobs.terminate", {"items": items}, job.owner), 200))
        self.tally(inv.check_terminated, before, self.fetch(job), synchronous=self.target.synchronous)

    @precondition(lambda self: self.target.suspension)
    @rule(job=jobs)
    def suspend(self, job: JobRef) -> None:
        self.move(job, "jobs.suspend", inv.check_suspended)

    @precondition(lambda self: self.target.suspension)
    @rule(job=jobs)
    def unsuspend(self, job: JobRef) -> None:
        self.move(job, "jobs.unsuspend", inv.check_unsuspended)

    @precondition(lambda self: self.transport.control is not None)
    @rule(ms=st.sampled_from(CLOCK_STEPS_MS))
    def advance_clock(self, ms: int) -> None:
        control = self.transport.control
        assert control is not None  # the precondition
        control.advance(ms)
        for job_id in list(self.seen):
            self.fetch(JobRef(job_id, self.owner))

    @precondition(lambda self: self.stranger is not None)
    @rule(job=jobs, call=st.sampled_from(["jobs.retrieve", "jobs.extend", "jobs.terminate"]))
    def as_another_user(self, job: JobRef, call: str) -> None:
        before = self.current(job)
        request: Any = {
            "jobs.retrieve": {"id": job.id},
            "jobs.extend": {"items": [{"jobId": job.id, "requestedTime": ONE_HOUR}]},
            "jobs.terminate": {"items": [{"id": job.id}]},
        }[call]
        self.expect(self.call(call, request, self.stranger), 404)
        self.tally(inv.check_foreign_request, before, self.fetch(job))

    @rule(job=jobs, call=st.sampled_from(["jobs.extend", "jobs.terminate", "jobs.suspend"]))
    def bulk_with_unknown_id(self, job: JobRef, call: str) -> None:
        before = self.current(job)
        items: list[dict[str, Any]]
        if call == "jobs.extend":
            items = [{"jobId": job.id, "requestedTime": ONE_HOUR}, {"jobId": UNKNOWN_ID, "requestedTime": ONE_HOUR}]
        else:
            items = [{"id": job.id}, {"id": UNKNOWN_ID}]
        self.expect(self.call(call, {"items": items}, job.owner), 404)
        self.tally(inv.check_refused_bulk, before, self.fetch(job))

    @invariant()
    def states_are_known(self) -> None:
        for job in self.seen.values():
            self.tally(inv.check_state_known, job)

    def teardown(self) -> None:
        # Hypothesis calls teardown in the `finally` of each run, so the exception being handled here is the
        # one that ended the run, unless it is the one that was already being handled when the run began.
        error = sys.exc_info()[1]
        failed = error is not None and error is not self.ambient and isinstance(error, Exception) \
            and not isinstance(error, HypothesisException)  # not Hypothesis's own control flow
        self.recorder.finished(error if failed else None)
        if self.transport.control is not None:
            return
        # A live provider keeps what we made: end every job we created and left running.
        final = default_vocabulary().final_states
        for job_id, job in self.seen.items():
            if job["status"]["state"] not in final:
                self.transport.call("jobs.terminate", {"items": [{"id": job_id}]}, user=self.owner)


def build_state_machine(target: Target, recorder: Recorder | None = None, contract: Contract | None = None,
                        tally: Tally | None = None) -> type[RuleBasedStateMachine]:
    """The state machine bound to ``target`` (one class per target; Hypothesis instantiates it)."""
    bound = {"target": target, "recorder": recorder if recorder is not None else Recorder(),
             "checker": contract or default_contract(), "tally": tally if tally is not None else Tally()}
    return type("JobsStateMachine", (JobsStateMachine,), bound)
