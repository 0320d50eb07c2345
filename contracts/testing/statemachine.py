"""The invariants as a Hypothesis state machine that drives any target through a ``Transport``.

Rules create, retrieve, browse, extend, terminate, suspend and unsuspend jobs, move the clock (where the target
has a control) and act as a second user; after each, the invariants of ``contracts.testing.invariants`` are
checked (through a ``Tally``, which counts them) and every response is validated against the spec for its
operation and status. The calls of the last run are recorded, so a failure can be replayed as curl lines; the
recorder also counts the runs and hears about the first one that fails, as it fails.
"""

from __future__ import annotations

import sys
from typing import Any

from hypothesis import strategies as st
from hypothesis.errors import HypothesisException
from hypothesis.stateful import Bundle, RuleBasedStateMachine, initialize, invariant, multiple, precondition, rule

from contracts.testing import invariants as inv
from contracts.testing.api_rules import WholeApiRules
from contracts.testing.machine_base import RETRIEVE_FLAGS, JobRef, Recorder, Target, lifecycle_specifications
from contracts.testing.strategies import durations
from contracts.testing.tally import Tally
from contracts.validation import Contract, default_contract
from contracts.vocabulary import default_vocabulary

__all__ = ["JobsStateMachine", "Recorder", "Target", "build_state_machine", "lifecycle_specifications"]

UNKNOWN_ID = "9223372036854775807"
MAX_EXTEND_HOURS = 48
ONE_HOUR = {"hours": 1, "minutes": 0, "seconds": 0}
CLOCK_STEPS_MS = (1_000, 5_000, 60_000, 3_600_000, 6 * 3_600_000, 13 * 3_600_000)


class JobsStateMachine(WholeApiRules):
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
        reply = self.expect(self.call("jobs.extend", {"items": items}, job.owner, job.project), 200)
        self.tally(inv.check_bulk_response, "jobs.extend", items, reply)
        self.tally(inv.check_extended, before, self.fetch(job), inv.duration_ms(duration) or 0, self.target.profile)

    @rule(job=jobs)
    def terminate(self, job: JobRef) -> None:
        before = self.current(job)
        items = [{"id": job.id}]
        self.tally(inv.check_bulk_response, "jobs.terminate", items,
                   self.expect(self.call("jobs.terminate", {"items": items}, job.owner, job.project), 200))
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
        for ref in list(self.refs.values()):
            self.fetch(ref)

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
                self.transport.call("jobs.terminate", {"items": [{"id": job_id}]}, user=self.owner,
                                    project=self.refs[job_id].project)


def build_state_machine(target: Target, recorder: Recorder | None = None, contract: Contract | None = None,
                        tally: Tally | None = None) -> type[RuleBasedStateMachine]:
    """The state machine bound to ``target`` (one class per target; Hypothesis instantiates it)."""
    bound = {"target": target, "recorder": recorder if recorder is not None else Recorder(),
             "checker": contract or default_contract(), "tally": tally if tally is not None else Tally()}
    return type("JobsStateMachine", (JobsStateMachine,), bound)
