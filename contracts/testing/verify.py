"""Provider verification: replay the bundled scenarios against a live target, then run the state machine.

Every response is checked against the spec (for its operation and status) and against the invariants; exact
timestamps and ids are not compared, since a live system does not share them. A failure carries the calls
that led to it as curl lines a person can paste.
"""

from __future__ import annotations

import contextlib
import threading
import traceback
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from hypothesis import HealthCheck, Phase, settings
from hypothesis import seed as seeded
from hypothesis.errors import Flaky
from hypothesis.stateful import run_state_machine_as_test

from contracts.errors import ContractError, ContractViolation
from contracts.scenario import Scenario
from contracts.testing import invariants as inv
from contracts.testing.statemachine import Recorder, Target, build_state_machine
from contracts.testing.transport import Reply, Transport
from contracts.validation import Contract, default_contract

__all__ = ["Finding", "Report", "replay_scenario", "run_state_machine", "verify"]

BULK_CALLS = ("jobs.extend", "jobs.terminate", "jobs.suspend", "jobs.unsuspend")


@dataclass(frozen=True)
class Finding:
    """One violation: where it happened, what was wrong, and the calls that reproduce it."""

    where: str
    problem: str
    curl: tuple[str, ...] = ()

    def render(self) -> str:
        """The finding as text: a headline, the problem, and the reproduction."""
        lines = [f"FAIL {self.where}", *("  " + line for line in self.problem.splitlines())]
        if self.curl:
            lines.append(f"  reproduce ({len(self.curl)} call{'s' if len(self.curl) != 1 else ''}):")
            lines += [f"    {command}" for command in self.curl]
        return "\n".join(lines)


@dataclass
class Report:
    """What a verification found, phase by phase."""

    checks: list[tuple[str, Finding | None]] = field(default_factory=list)

    @property
    def findings(self) -> list[Finding]:
        """Every failure."""
        return [finding for _, finding in self.checks if finding is not None]

    @property
    def ok(self) -> bool:
        """Whether nothing failed."""
        return not self.findings

    def to_junit(self) -> bytes:
        """The report as JUnit XML: one testcase per scenario and one for the state machine."""
        from xml.etree import ElementTree as ET  # noqa: PLC0415 - only for this report

        suite = ET.Element("testsuite", name="ucloud-jobs verify", tests=str(len(self.checks)),
                           failures=str(len(self.findings)), errors="0", skipped="0")
        for name, finding in self.checks:
            case = ET.SubElement(suite, "testcase", classname="ucloud-jobs verify", name=name)
            if finding is not None:
                failure = ET.SubElement(case, "failure", type="ContractViolation",
                                        message=finding.problem.splitlines()[0][:200])
                failure.text = _xml_safe(finding.render())
        root = ET.Element("testsuites")
        root.append(suite)
        return bytes(ET.tostring(root, encoding="utf-8", xml_declaration=True))


def _xml_safe(text: str) -> str:
    return "".join(ch if ch in "\t\n\r" or ord(ch) >= 32 else f"\\x{ord(ch):02x}" for ch in text)


class _Replay:
    """Replays one scenario and checks each observation against what came before."""

    def __init__(self, transport: Transport, scenario: Scenario, profile: str | None, contract: Contract) -> None:
        self.transport = transport
        self.scenario = scenario
        self.profile = profile
        self.contract = contract
        self.calls: list[Reply] = []
        self.created: list[str] = []
        self.last: dict[str, dict[str, Any]] = {}
        self.pending: dict[str, list[tuple[str, dict[str, Any], int]]] = {}

    def user(self, name: str | None) -> str:
        users = self.transport.users
        if name is None or name == self.scenario.user:
            return users[0]
        if len(users) > 1:
            return users[1]
        raise ContractError(f"the scenario acts as {name!r}, but only one user's token was given")

    def run(self) -> None:
        for index, step in enumerate(self.scenario.steps, start=1):
            request = step.bind(self.created)
            reply = self.transport.call(step.call, request, user=self.user(step.user))
            self.calls.append(reply)
            where = f"step {index} ({step.call})" + (f": {step.note}" if step.note else "")
            if not reply.is_json:
                raise ContractViolation(f"{where}: {reply.request_line} answered {reply.status} without JSON", [])
            self.contract.validate_response(step.call, reply.status, reply.body)
            if reply.status != step.expect_status:
                raise ContractViolation(
                    f"{where}: expected {step.expect_status}, {reply.request_line} answered {reply.status} "
                    f"{reply.body}", [])
            if reply.status == 200:
                self.observe(step.call, request, reply.body)

    def observe(self, call: str, request: Any, body: Any) -> None:
        if call == "jobs.create":
            inv.check_bulk_response(call, request["items"], body)
            self.created += [entry["id"] for entry in body["responses"] if entry is not None]
        elif call in BULK_CALLS:
            inv.check_bulk_response(call, request["items"], body)
            for item in request["items"]:
                job_id = item.get("jobId", item.get("id"))
                before = self.last.get(job_id)
                if before is not None:
                    requested = inv.duration_ms(item.get("requestedTime")) or 0
                    self.pending.setdefault(job_id, []).append((call, before, requested))
        elif call == "jobs.retrieve":
            self.retrieved(body)

    def retrieved(self, job: dict[str, Any]) -> None:
        job_id = str(job["id"])
        before = self.last.get(job_id)
        if before is not None and before.get("updates") and job.get("updates"):
            inv.check_updates(before, job)
        if before is not None:
            inv.check_final_unchanged(before, job)
        synchronous = self.transport.control is not None
        for call, earlier, requested in self.pending.pop(job_id, []):
            if call == "jobs.extend":
                inv.check_extended(earlier, job, requested, self.profile)
            elif call == "jobs.terminate":
                inv.check_terminated(earlier, job, synchronous=synchronous)
            elif call == "jobs.suspend" and synchronous:
                inv.check_suspended(earlier, job)
            elif call == "jobs.unsuspend" and synchronous:
                inv.check_unsuspended(earlier, job)
        self.last[job_id] = job


def replay_scenario(transport: Transport, scenario: Scenario, *, profile: str | None,
                    contract: Contract | None = None) -> Finding | None:
    """Replay ``scenario``'s steps on ``transport``; the first violation as a ``Finding``, or None."""
    replay = _Replay(transport, scenario, profile, contract or default_contract())
    try:
        replay.run()
    except (ContractViolation, ContractError) as problem:
        return Finding(f"scenario {scenario.name}", str(problem), tuple(reply.curl for reply in replay.calls))
    return None


@contextlib.contextmanager
def shrink_budget(seconds: float | None) -> Iterator[None]:
    """Let Hypothesis shrink a failure for at most ``seconds`` (None: its own limit of several minutes).

    Hypothesis has no setting for this; its engine reads the limit from a module constant each time it starts
    shrinking, so the constant is set for the duration of the run (under a lock: runs in threads share it).
    Shrinking over HTTP can take minutes, while the first failure is found in a second.
    """
    from hypothesis.internal.conjecture import engine  # noqa: PLC0415 - Hypothesis's engine, for its limit

    if seconds is None or not hasattr(engine, "MAX_SHRINKING_SECONDS"):
        yield
        return
    with _SHRINK_LOCK:
        saved = engine.MAX_SHRINKING_SECONDS
        engine.MAX_SHRINKING_SECONDS = seconds  # type: ignore[assignment]
        try:
            yield
        finally:
            engine.MAX_SHRINKING_SECONDS = saved


_SHRINK_LOCK = threading.Lock()


def run_state_machine(target: Target, *, examples: int, steps: int = 20, derandomize: bool = True,
                      seed: int | None = None, shrink_seconds: float | None = 5.0,
                      contract: Contract | None = None) -> Finding | None:
    """Run the invariants' state machine on ``target``; the shortest failing run found as a ``Finding``, or None.

    ``shrink_seconds`` bounds the time spent shrinking a failure (0 reports the first failing run as found).
    """
    recorder = Recorder()
    machine = build_state_machine(target, recorder, contract)
    phases = tuple(Phase) if shrink_seconds != 0 else tuple(p for p in Phase if p is not Phase.shrink)
    chosen = settings(max_examples=max(1, examples), stateful_step_count=max(1, steps), deadline=None,
                      derandomize=derandomize and seed is None, database=None, print_blob=False,
                      report_multiple_bugs=False, suppress_health_check=list(HealthCheck), phases=phases)
    if seed is not None:
        machine = seeded(seed)(machine)
    try:
        with shrink_budget(shrink_seconds):
            run_state_machine_as_test(machine, settings=chosen)
    except (AssertionError, Flaky) as problem:
        return Finding("state machine", str(problem).strip(), tuple(recorder.curl_lines()))
    except Exception as problem:
        text = "".join(traceback.format_exception_only(type(problem), problem)).strip()
        return Finding("state machine", f"the target broke the client: {text}", tuple(recorder.curl_lines()))
    return None


def verify(transport: Transport, scenarios: Sequence[Scenario], *, examples: int, profile: str | None,
           prepare: Callable[[Scenario | None], None] | None = None,
           progress: Callable[[str, Finding | None], None] | None = None) -> Report:
    """Replay each scenario, then run the state machine for ``examples`` examples; every result in the report.

    ``prepare`` is called before each phase with its scenario (None before the state machine), to put a mock
    target on the right stage; a live target needs nothing.
    """
    report = Report()

    def record(name: str, finding: Finding | None) -> None:
        report.checks.append((name, finding))
        if progress is not None:
            progress(name, finding)

    for scenario in scenarios:
        if prepare is not None:
            prepare(scenario)
        record(f"scenario {scenario.name}", replay_scenario(transport, scenario, profile=profile))
    if examples > 0:
        if prepare is not None:
            prepare(None)
        mock = transport.control is not None
        target = Target(transport, profile=profile, synchronous=mock, frozen_clock=mock, suspension=mock)
        record("state machine", run_state_machine(target, examples=examples))
    return report
