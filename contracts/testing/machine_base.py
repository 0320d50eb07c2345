"""What the state machine's rules share: the target, the recorder of calls, job references, and the plumbing
(calling, expecting, fetching, remembering what was seen). The rules are in ``statemachine`` and ``api_rules``.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine

from contracts.testing import invariants as inv
from contracts.testing.strategies import durations
from contracts.testing.tally import Tally
from contracts.testing.transport import Reply, Transport
from contracts.validation import Contract

__all__ = ["PRODUCT", "JobRef", "Plumbing", "Recorder", "Target", "lifecycle_specifications"]

RETRIEVE_FLAGS = {"includeUpdates": True}
#: The product every job of the machine runs on: the documented example's.
PRODUCT = {"id": "example-compute", "category": "example-compute", "provider": "example"}


def lifecycle_specifications(max_hours: int) -> st.SearchStrategy[dict[str, Any]]:
    """Small job specifications: the lifecycle depends only on the allocation, so shrinking stays quick.

    The whole space of specifications is the property tests' business (everything generated validates).
    """
    allocation = st.one_of(st.none(), durations(max_hours).filter(lambda d: any(d.values())))
    return st.fixed_dictionaries({
        "application": st.sampled_from([{"name": "acme-batch", "version": "1.0.0"},
                                        {"name": "acme-web-application", "version": "1.0.0"}]),
        "product": st.just(PRODUCT),
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
    #: A project in which the first user is PI and ``member`` (the second user's username) a plain member, for
    #: the rules about sharing; None skips them.
    project: str | None = None
    member: str | None = None


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
    """A job created by the machine, who owns it, and the project it lives in (None: the personal workspace)."""

    id: str
    owner: str
    project: str | None = None


class Plumbing(RuleBasedStateMachine):
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
        self.refs: dict[str, JobRef] = {}  # every job seen, by id: who owns it and where it lives
        self.ids: set[str] = set()
        self.granted: dict[str, set[str]] = {}  # what the member was granted on each job of the project
        transport = self.target.transport
        self.transport = transport
        self.owner = transport.users[0]
        self.stranger = transport.users[1] if len(transport.users) > 1 else None

    def call(self, operation: str, request: Any, user: str | None = None, project: str | None = None) -> Reply:
        reply = self.transport.call(operation, request, user=user, project=project)
        self.recorder.calls.append(reply)
        self.tally(inv.check_response, self.checker, operation, reply)
        return reply

    def expect(self, reply: Reply, status: int) -> Any:
        self.tally(inv.check_status, reply, status)
        return reply.body

    def fetch(self, job: JobRef) -> dict[str, Any]:
        reply = self.call("jobs.retrieve", {**RETRIEVE_FLAGS, "id": job.id}, job.owner, job.project)
        body = self.expect(reply, 200)
        before = self.seen.get(job.id)
        self.tally(inv.check_updates, before, body)
        if before is not None:
            self.tally(inv.check_final_unchanged, before, body)
        self.seen[job.id] = body
        self.refs[job.id] = job
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
        self.expect(self.call(call, {"items": [{"id": job.id}]}, job.owner, job.project), 200)
        self.tally(check, before, self.fetch(job))
