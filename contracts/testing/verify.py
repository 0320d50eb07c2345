"""Provider verification: replay the bundled scenarios against a live target, then run the state machine.

Every response is checked against the spec (for its operation and status) and against the invariants; exact
timestamps and ids are not compared, since a live system does not share them. A failure carries the calls
that led to it as curl lines a person can paste. Every check goes through the report's ``Tally``; an
``Observer`` hears each phase's result, the state machine's progress and its first failing run as they happen.
"""

from __future__ import annotations

import contextlib
import threading
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from hypothesis import HealthCheck, Phase, Verbosity, settings
from hypothesis import seed as seeded
from hypothesis.errors import Flaky
from hypothesis.stateful import run_state_machine_as_test

from contracts.errors import ContractError, ContractViolation, Violation
from contracts.scenario import Scenario
from contracts.streams import default_streams
from contracts.testing import invariants as inv
from contracts.testing.following import Follow, Following
from contracts.testing.report import Finding, Observer, Report, Shrinking
from contracts.testing.statemachine import Recorder, Target, build_state_machine
from contracts.testing.stream_checks import check_stream
from contracts.testing.tally import Tally
from contracts.testing.transport import Reply, Transport
from contracts.validation import Contract, default_contract

STATE_MACHINE_STAGE = "blank"  # the stage of the state machine: a bundled scenario with no script

__all__ = ["DEFAULT_SHRINK_SECONDS", "Finding", "Observer", "Report", "replay_scenario", "run_state_machine",
           "verify"]

#: How long a failure of the state machine is shrunk by default: over HTTP shrinking can take minutes, while
#: the first failure is found in a second or two, and most of the shortening happens early.
DEFAULT_SHRINK_SECONDS = 5.0

BULK_CALLS = ("jobs.extend", "jobs.terminate", "jobs.suspend", "jobs.unsuspend")


class _Replay:
    """Replays one scenario and checks each observation against what came before."""

    def __init__(self, transport: Transport, scenario: Scenario, profile: str | None, contract: Contract,
                 tally: Tally) -> None:
        self.transport = transport
        self.scenario = scenario
        self.profile = profile
        self.contract = contract
        self.tally = tally
        self.calls: list[Reply] = []
        self.created: list[str] = []
        self.last: dict[str, dict[str, Any]] = {}
        self.pending: dict[str, list[tuple[str, dict[str, Any], int]]] = {}
        self.streams: list[Following] = []

    def user(self, name: str | None) -> str:
        users = self.transport.users
        if name is None or name == self.scenario.user:
            return users[0]
        if len(users) > 1:
            return users[1]
        raise ContractError(f"the scenario acts as {name!r}, but only one user's token was given")

    def run(self) -> None:
        try:
            self.play()
            for following in self.streams:  # what the steps' streams got, checked once the steps are done
                check_stream(following.take(0.5), self.contract, self.tally)
        finally:
            for following in self.streams:
                following.close()

    def play(self) -> None:
        streams = default_streams()
        for index, step in enumerate(self.scenario.steps, start=1):
            request = step.bind(self.created)
            follow: Follow | None = getattr(self.transport, "follow", None)
            if step.call in streams:  # a WebSocket call: its frames are checked at the end (none to follow: skip)
                if follow is not None:
                    self.streams.append(follow(request["id"], self.user(step.user), step.project))
                continue
            reply = self.transport.call(step.call, request, user=self.user(step.user), project=step.project)
            self.calls.append(reply)
            where = f"step {index} ({step.call})" + (f": {step.note}" if step.note else "")
            self.tally(inv.check_response, self.contract, step.call, reply)
            self.tally(inv.check_status, reply, step.expect_status, where)
            if reply.status == 200:
                self.observe(step.call, request, reply.body)

    def observe(self, call: str, request: Any, body: Any) -> None:
        if call == "jobs.create":
            self.tally(inv.check_bulk_response, call, request["items"], body)
            self.tally(inv.check_new_ids, self.created, body["responses"])
            self.created += [entry["id"] for entry in body["responses"] if entry is not None]
        elif call in BULK_CALLS:
            self.tally(inv.check_bulk_response, call, request["items"], body)
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
            self.tally(inv.check_updates, before, job)
        if before is not None:
            self.tally(inv.check_final_unchanged, before, job)
        synchronous = self.transport.control is not None
        for call, earlier, requested in self.pending.pop(job_id, []):
            if call == "jobs.extend":
                self.tally(inv.check_extended, earlier, job, requested, self.profile)
            elif call == "jobs.terminate":
                self.tally(inv.check_terminated, earlier, job, synchronous=synchronous)
            elif call == "jobs.suspend" and synchronous:
                self.tally(inv.check_suspended, earlier, job)
            elif call == "jobs.unsuspend" and synchronous:
                self.tally(inv.check_unsuspended, earlier, job)
        self.last[job_id] = job


def replay_scenario(transport: Transport, scenario: Scenario, *, profile: str | None,
                    contract: Contract | None = None, tally: Tally | None = None) -> Finding | None:
    """Replay ``scenario``'s steps on ``transport``; the first violation as a ``Finding``, or None."""
    replay = _Replay(transport, scenario, profile, contract or default_contract(),
                     tally if tally is not None else Tally())
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
                      seed: int | None = None, shrink_seconds: float | None = DEFAULT_SHRINK_SECONDS,
                      contract: Contract | None = None, tally: Tally | None = None,
                      observer: Observer | None = None) -> Finding | None:
    """Run the invariants' state machine on ``target``; the shortest failing run found as a ``Finding``, or None.

    ``seed`` repeats a run (the same examples in the same order); without it the run is derandomized when
    ``derandomize`` is true. ``shrink_seconds`` bounds the time spent shrinking a failure (0: none, the first
    failing run is reported as found). ``observer`` hears every finished example and, at once, the first
    failing run; ``tally`` counts the checks until then (not the re-runs of shrinking).
    """
    observer = observer or Observer()
    tally = tally if tally is not None else Tally()
    recorder = Recorder()
    first: list[tuple[Finding, float]] = []

    def failed(error: BaseException) -> None:
        tally.counting = False  # shrinking's re-runs would count one defect many times
        first.append((Finding("state machine", _problem(error), tuple(recorder.curl_lines())), time.monotonic()))
        observer.failing_run(first[0][0], recorder.runs)

    recorder.on_run = lambda count: observer.examples(count) if not first else None
    recorder.on_failure = failed
    machine = build_state_machine(target, recorder, contract, tally)
    phases = tuple(Phase) if shrink_seconds != 0 else tuple(p for p in Phase if p is not Phase.shrink)
    chosen = settings(max_examples=max(1, examples), stateful_step_count=max(1, steps), deadline=None,
                      derandomize=derandomize and seed is None, database=None, print_blob=False,
                      report_multiple_bugs=False, suppress_health_check=list(HealthCheck), phases=phases,
                      verbosity=Verbosity.quiet)  # its notes (the "five minutes" of shrinking) are not ours
    if seed is not None:
        machine = seeded(seed)(machine)
    try:
        with shrink_budget(shrink_seconds):
            run_state_machine_as_test(machine, settings=chosen)
    except Exception as problem:  # whatever ended the run is the finding
        finding = Finding("state machine", _problem(problem), tuple(recorder.curl_lines()))
        return _shortest(finding, first[0] if first else None, recorder, shrink_seconds)
    finally:
        tally.counting = True
    return None


def _problem(error: BaseException) -> str:
    """A violation's own text; anything else the target made the client raise, named as such."""
    if isinstance(error, (AssertionError, Flaky)):
        return str(error).strip()
    text = "".join(traceback.format_exception_only(type(error), error)).strip()
    return f"the target broke the client: {text}"


def _shortest(final: Finding, first: tuple[Finding, float] | None, recorder: Recorder,
              shrink_seconds: float | None) -> Finding:
    """The run to report: Hypothesis's final one, or the first failing run when that has fewer calls.

    Shrinking makes Hypothesis's choices simpler, which is not always fewer calls (a simple step may cost
    more calls than the steps it replaced), and a bounded shrink may stop early; either way the shorter
    reproduction is the more useful.
    """
    if first is None:
        return final
    found, at = first
    if shrink_seconds == 0:
        return Finding(final.where, final.problem, final.curl, "not shrunk")
    runs = max(0, recorder.runs - (recorder.failed_run or 0) - 1)  # the last run is the final replay
    kept_first = len(found.curl) < len(final.curl)
    chosen = found if kept_first else final
    return Finding(chosen.where, chosen.problem, chosen.curl,
                   shrinking=Shrinking(len(found.curl), runs, time.monotonic() - at, kept_first))


FOLLOW_WAIT_S = 30.0  # how long a live provider may take for each frame of a followed job


def follow_phase(transport: Transport, *, contract: Contract | None = None, tally: Tally | None = None,
                 wait: float = FOLLOW_WAIT_S) -> Finding | None:
    """Follow a new job while it runs and is terminated; every frame checked (``check_stream``). None if the
    target cannot be followed or every check held; a mock's clock is moved, a live provider is waited for."""
    from contracts.scenario import resolve_scenario  # noqa: PLC0415

    follow: Follow | None = getattr(transport, "follow", None)
    if follow is None:
        return None
    contract, tally = contract or default_contract(), tally if tally is not None else Tally()
    calls: list[Reply] = []
    item = resolve_scenario("extend-and-terminate").steps[0].bind([])["items"][0]
    try:
        created = transport.call("jobs.create", {"items": [{**item, "timeAllocation": {"hours": 1, "minutes": 0,
                                                                                       "seconds": 0}}]})
        calls.append(created)
        tally(inv.check_status, created, 200, "follow: create a job")
        following = follow(created.body["responses"][0]["id"], None, None)
        try:
            frames = following.take(wait)
            if transport.control is not None:
                transport.control.advance(60_000)  # out of the queue
            terminated = transport.call("jobs.terminate", {"items": [{"id": created.body["responses"][0]["id"]}]})
            calls.append(terminated)
            tally(inv.check_status, terminated, 200, "follow: terminate it")
            frames += following.take(wait)
        finally:
            following.close()
        check_stream(frames, contract, tally)
        if not frames or frames[-1].get("type") != "response":
            raise ContractViolation("jobs.follow", [Violation("", "end", "a response frame", "none",
                                                              f"the stream did not end within {wait:g} s of the "
                                                              "job's termination")])
    except (ContractViolation, ContractError) as problem:
        return Finding("follow", str(problem), tuple(reply.curl for reply in calls))
    return None


def sharing_project(member: str) -> str | None:
    """The project of the state machine's stage (blank) in which ``member`` is a member, for the sharing rules."""
    from contracts.scenario import resolve_scenario  # noqa: PLC0415 - only with a mock's second user

    stage = resolve_scenario(STATE_MACHINE_STAGE)
    return next((name for name, project in stage.projects.items() if member in project.members), None)


def verify(transport: Transport, scenarios: Sequence[Scenario], *, examples: int, profile: str | None,
           prepare: Callable[[Scenario | None], None] | None = None, observer: Observer | None = None,
           seed: int | None = None, shrink_seconds: float | None = DEFAULT_SHRINK_SECONDS,
           fail_fast: bool = False, member: str | None = None) -> Report:
    """Replay each scenario, then run the state machine for ``examples`` examples; every result in the report.

    ``prepare`` is called before each phase with its scenario (None before the state machine), to put a mock
    target on the right stage; a live target needs nothing. With ``fail_fast`` the first failing phase ends
    the verification (the phases after it are reported as skipped) and a failure is not shrunk.
    """
    observer = observer or Observer()
    report = Report(seed=seed)

    def run(name: str, phase: Callable[[], Finding | None]) -> None:
        if fail_fast and not report.ok:
            report.skipped.append(name)
            observer.skipped(name)
            return
        finding = phase()
        report.checks.append((name, finding))
        observer.finished(name, finding)

    def scenario_phase(scenario: Scenario) -> Callable[[], Finding | None]:
        def phase() -> Finding | None:
            if prepare is not None:
                prepare(scenario)
            return replay_scenario(transport, scenario, profile=profile, tally=report.tally)

        return phase

    def machine_phase() -> Finding | None:
        if prepare is not None:
            prepare(None)
        mock = transport.control is not None
        target = Target(transport, profile=profile, synchronous=mock, frozen_clock=mock, suspension=mock,
                        project=sharing_project(member) if mock and member else None, member=member)
        return run_state_machine(target, examples=examples, seed=seed,
                                 shrink_seconds=0 if fail_fast else shrink_seconds, tally=report.tally,
                                 observer=observer)

    for scenario in scenarios:
        run(f"scenario {scenario.name}", scenario_phase(scenario))
    def follow_stage() -> Finding | None:
        if prepare is not None:
            prepare(None)  # the blank stage
        return follow_phase(transport, tally=report.tally)

    if getattr(transport, "follow", None) is not None:
        run("follow", follow_stage)
    if examples > 0:
        run("state machine", machine_phase)
    return report
