"""`ucloud-jobs verify` passes the mock, catches every deliberately broken provider, and reports fast and safely.

Most tests verify in process (a ``WsgiTransport`` with the mock's control, through ``verify_transport``, the
function the command and the plugin share) and do not shrink, since they only need to see a failure; two go
through ``ucloud-jobs verify`` over a real socket, which is what verify meets in the field. No test times
anything: benchmarks/bench_verify.py measures how long a failing run takes.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import pytest

from contracts.cli.verify import VerifyOptions, verify_transport
from contracts.cli.verify_output import summary
from contracts.scenario import list_scenarios, resolve_scenario
from contracts.testing.control import Stage
from contracts.testing.report import Finding, Observer, Report
from contracts.testing.statemachine import Target
from contracts.testing.transport import Reply, WsgiTransport
from contracts.testing.verify import run_state_machine
from mockserver.cli import main
from mockserver.server import HttpServer
from mockserver.web.app import MockApp, create_app
from tests.contracts.broken import DEFECTS, Defect, echo_token, extend_twice, others_visible, terminate_ignored

SCENARIOS = [resolve_scenario("extend-and-terminate")]
CURL_TIMEOUT = 30
# The check each defect breaks first, as the summary names it.
BROKEN_CHECK = {
    "extend_twice": "extend moves expiresAt (and, in the ucloud profile, timeAllocation) by exactly the requested "
                    "time",
    "terminate_ignored": "terminate ends the job",
    "wrong_type": "every response is JSON, valid for its operation and status",
    "error_500": "every call gets the status it should",
    "others_visible": "every call gets the status it should",
}


def mock(profile: str = "ucloud", defect: Defect | None = None,
         scenario: Any = "extend-and-terminate") -> tuple[WsgiTransport, MockApp]:
    """The mock in process, on ``scenario`` under ``profile``, with ``defect`` in front of it."""
    app = create_app(scenario=scenario, profile=profile)
    return WsgiTransport(defect(app) if defect else app, control=app.control), app


def run(transport: Any, **options: Any) -> tuple[Report, list[str]]:
    """Verify in process (10 examples, seed 1, no shrinking unless told); the report and every line said."""
    lines: list[str] = []
    chosen = VerifyOptions(**{"examples": 10, "seed": 1, "shrink_seconds": 0, **options})
    return verify_transport(transport, SCENARIOS, chosen, say=lines.append), lines


def curl_lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip().startswith("curl ")]


class Interrupting:
    """A transport that raises KeyboardInterrupt at its ``at``-th call, as Ctrl-C would."""

    def __init__(self, inner: WsgiTransport, at: int) -> None:
        self.inner, self.at, self.calls = inner, at, 0
        self.users, self.control = inner.users, inner.control

    def call(self, operation_id: str, request: Any, *, user: str | None = None, project: str | None = None) -> Reply:
        self.calls += 1
        if self.calls == self.at:
            raise KeyboardInterrupt
        return self.inner.call(operation_id, request, user=user, project=project)


# --------------------------------------------------------------------------- what verify finds


@pytest.mark.parametrize("profile", ["docs", "ucloud"])
def test_the_mock_passes_in_both_profiles(profile: str) -> None:
    report, lines = run(mock(profile)[0], examples=20)
    assert report.ok, "\n".join(lines)
    assert lines[0] == (f"verifying the target (the mock, expecting the {profile} profile): 1 scenario, then 20 "
                        "state-machine examples")
    assert "ok   scenario extend-and-terminate" in lines
    assert "ok   state machine" in lines
    assert "     state machine: 10 examples run" in lines
    assert "     state machine: 20 examples run" in lines
    assert lines[-1] == "2 of 2 phases passed. seed 1: --seed 1 repeats this run"
    rows = report.tally.rows()
    assert rows
    assert all(row.held == row.checked for row in rows)


@pytest.mark.parametrize(("defect", "phase", "evidence"), DEFECTS, ids=[defect.__name__ for defect, _, _ in DEFECTS])
def test_every_broken_provider_is_caught(defect: Defect, phase: str, evidence: str) -> None:
    report, lines = run(mock("ucloud", defect)[0])
    text = "\n".join(lines)
    assert not report.ok
    assert any(line.startswith(f"FAIL {phase}") for line in lines), text
    assert evidence in text
    reproduce = curl_lines(text)
    assert reproduce, "a failure must come with curl lines to reproduce it"
    assert all("http://ucloud.invalid/api/jobs" in line for line in reproduce)
    failed = [row.name for row in report.tally.rows() if row.failed]
    assert BROKEN_CHECK[defect.__name__] in failed, "\n".join(summary(report))


def test_the_first_failure_is_printed_while_the_state_machine_still_runs() -> None:
    """The state machine's first failing run is said at once; the calls after it (its replay) come later."""
    events: list[str] = []
    transport, _ = mock("ucloud", others_visible)

    class Watched:
        users, control = transport.users, transport.control

        def call(self, operation_id: str, request: Any, *, user: str | None = None,
                 project: str | None = None) -> Reply:
            events.append(f"call {operation_id}")
            return transport.call(operation_id, request, user=user, project=project)

    verify_transport(Watched(), [], VerifyOptions(examples=20, seed=1, shrink_seconds=0), say=events.append)
    first = next(index for index, event in enumerate(events) if event.startswith("FAIL state machine (the first"))
    assert events[first].startswith("FAIL state machine (the first failing run, in example ")
    assert any(event.startswith("call ") for event in events[first:]), "the failure was printed at the end"
    assert "FAIL state machine: the run above (not shrunk)" in events  # and not printed twice


class FirstRun(Observer):
    def __init__(self) -> None:
        self.first: Finding | None = None

    def failing_run(self, finding: Finding, example: int) -> None:
        self.first = finding


def test_shrinking_runs_when_allowed_and_never_reports_a_longer_run() -> None:
    """Shrinking simplifies Hypothesis's choices, which is not always fewer calls; the shorter run is reported.

    With this seed the first failing run has 24 calls and Hypothesis's shrunk one, on the machine this was
    written on, 7 (with other seeds the shrunk run is sometimes longer than the first one).
    """
    observer = FirstRun()
    transport, _ = mock("ucloud", extend_twice, scenario="blank")
    finding = run_state_machine(Target(transport, profile="ucloud"), examples=50, seed=5, shrink_seconds=2,
                                observer=observer)
    assert finding is not None
    assert observer.first is not None
    assert finding.shrinking is not None
    assert finding.shrinking.runs > 1, "no shrinking happened"
    assert finding.shrinking.first_calls == len(observer.first.curl)
    assert len(finding.curl) <= len(observer.first.curl), finding.render()
    assert finding.shrinking.kept_first == (finding.curl == observer.first.curl)
    assert str(finding.shrinking).startswith("the first failing run: " if finding.shrinking.kept_first else
                                             "the shortest failing run found in ")


def test_without_shrinking_the_first_failing_run_is_the_finding() -> None:
    observer = FirstRun()
    transport, _ = mock("ucloud", extend_twice, scenario="blank")
    finding = run_state_machine(Target(transport, profile="ucloud"), examples=50, seed=3, shrink_seconds=0,
                                observer=observer)
    assert finding is not None
    assert observer.first is not None
    assert (finding.curl, finding.problem, finding.note) == (observer.first.curl, observer.first.problem,
                                                             "not shrunk")


def test_a_passing_run_inside_an_exception_handler_is_not_a_failure() -> None:
    """The machine tells its own failure from an exception its caller was handling when it started."""
    observer = FirstRun()
    try:
        raise KeyError("the caller's")
    except KeyError:
        finding = run_state_machine(Target(mock("ucloud", scenario="blank")[0], profile="ucloud"), examples=5,
                                    seed=1, observer=observer)
    assert (finding, observer.first) == (None, None)


def test_a_seed_repeats_a_run() -> None:
    def found(seed: int) -> Finding | None:
        target = Target(mock("ucloud", extend_twice, scenario="blank")[0], profile="ucloud")
        return run_state_machine(target, examples=20, seed=seed, shrink_seconds=0)

    first, again = found(2), found(2)
    assert first is not None
    assert again is not None
    assert again.curl == first.curl
    assert found(3) != first  # another seed, another run: the seed is what repeats it


def test_the_seed_is_chosen_and_printed_when_not_given() -> None:
    report, lines = run(mock("docs")[0], seed=None, examples=5)
    assert isinstance(report.seed, int)
    assert f"state machine: seed {report.seed}; a failing run is reported as found" in lines
    assert lines[-1].endswith(f". seed {report.seed}: --seed {report.seed} repeats this run")


def test_fail_fast_stops_at_the_first_failure() -> None:
    report, lines = run(mock("docs", terminate_ignored)[0], fail_fast=True)
    assert "skip state machine: not run after the first failure (--fail-fast)" in lines
    assert (len(report.checks), report.skipped) == (1, ["state machine"])
    assert lines[-1] == ("0 of 1 phase passed; failed: scenario extend-and-terminate; skipped: state machine. "
                         "seed 1: --seed 1 repeats this run")
    suite = ET.fromstring(report.to_junit()).find("testsuite")
    assert suite is not None
    assert (suite.get("tests"), suite.get("failures"), suite.get("skipped")) == ("2", "1", "1")


def test_fail_fast_does_not_shrink() -> None:
    report, lines = run(mock("ucloud", others_visible)[0], fail_fast=True, shrink_seconds=30)
    assert "state machine: seed 1; a failing run is reported as found" in lines
    [finding] = report.findings
    assert finding.note == "not shrunk"


def test_the_summary_names_each_check_how_often_it_held_and_which_failed() -> None:
    report, lines = run(mock("ucloud", extend_twice)[0], examples=0)
    start = lines.index("checks made (not counting the re-runs of shrinking):")
    rows = {row.name: row for row in report.tally.rows()}
    extend = rows[BROKEN_CHECK["extend_twice"]]
    assert (extend.checked, extend.held, extend.failed) == (1, 0, 1)
    assert f"  FAIL  held     0 of 1      {extend.name}" in lines[start:]
    responses = rows["every response is JSON, valid for its operation and status"]
    assert responses.checked == responses.held == 4  # the scenario's four calls, up to the failing retrieve
    assert f"  ok    held     4 of 4      {responses.name}" in lines[start:]
    assert any(line.startswith("  not checked: ") and "ids are unique" not in line for line in lines[start:])


def test_junit_report() -> None:
    report, _ = run(mock("docs", terminate_ignored)[0])
    root = ET.fromstring(report.to_junit())
    suite = root.find("testsuite")
    assert suite is not None
    assert (suite.get("tests"), suite.get("failures")) == ("2", "2")
    assert [(p.get("name"), p.get("value")) for p in suite.iter("property")] == [("seed", "1")]
    failed = [case.get("name") for case in suite.iter("testcase") if case.find("failure") is not None]
    assert failed == ["scenario extend-and-terminate", "state machine"]
    failure = next(case for case in suite.iter("testcase") if case.get("name") == "state machine").find("failure")
    assert failure is not None
    assert "/api/jobs/terminate" in (failure.text or "")


# --------------------------------------------------------------------------- what verify leaves behind


def test_the_mock_is_put_back_on_the_scenario_it_was_playing() -> None:
    transport, app = mock("docs")
    _, lines = run(transport, examples=5)
    assert app.control.stage() == Stage("extend-and-terminate", "docs")
    assert ("the mock plays extend-and-terminate under the docs profile; verify restarts that scenario when it "
            "ends, so the jobs the mock has now will be gone (--no-restore leaves it on the stage verify used)"
            ) in lines
    assert ("put the mock back: extend-and-terminate restarted under the docs profile (the jobs it had before "
            "verify are gone)") in lines


def test_no_restore_leaves_the_mock_where_verify_left_it() -> None:
    transport, app = mock("docs")
    _, lines = run(transport, examples=5, restore=False)
    assert app.control.stage() == Stage("blank", "docs")
    assert ("left the mock on blank (docs profile) (--no-restore); it was playing extend-and-terminate (docs "
            "profile)") in lines


@pytest.mark.parametrize("at", [3, 40], ids=["in a scenario", "in the state machine"])
def test_the_mock_is_put_back_after_a_failure_or_ctrl_c(at: int) -> None:
    transport, app = mock("ucloud", extend_twice)
    report, lines = run(transport)
    assert not report.ok
    assert app.control.stage() == Stage("extend-and-terminate", "ucloud")
    assert lines[lines.index("checks made (not counting the re-runs of shrinking):") - 2].startswith(
        "put the mock back: extend-and-terminate restarted")
    interrupted, app = mock("ucloud")
    said: list[str] = []
    with pytest.raises(KeyboardInterrupt):
        verify_transport(Interrupting(interrupted, at), SCENARIOS, VerifyOptions(examples=20, seed=1),
                         say=said.append)
    assert app.control.stage() == Stage("extend-and-terminate", "ucloud")
    assert said[-1].startswith("put the mock back: extend-and-terminate restarted")


def test_a_scenario_the_mock_cannot_load_by_name_is_reported_not_restored(tmp_path: Path) -> None:
    own = tmp_path / "own.yaml"
    own.write_text(list_scenarios()["blank"].read_text().replace("name: blank", "name: my-own-flow"))
    transport, app = mock("docs", scenario=resolve_scenario(str(own), allow_paths=True))
    _, lines = run(transport, examples=2)
    assert any(line.startswith("could not put the mock back on my-own-flow (docs profile): unknown scenario "
                               "'my-own-flow'") for line in lines), lines
    assert app.control.stage() == Stage("blank", "docs")


# --------------------------------------------------------------------------- over a socket, through the command


@pytest.fixture
def serve() -> Iterator[Callable[..., str]]:
    servers: list[HttpServer] = []

    def start(profile: str = "docs", defect: Defect | None = None) -> str:
        app: Any = create_app(profile=profile)
        server = HttpServer(defect(app) if defect else app, "127.0.0.1", 0).start()
        servers.append(server)
        return server.url

    yield start
    for server in servers:
        server.stop()


@pytest.mark.skipif(shutil.which("curl") is None or shutil.which("bash") is None,
                    reason="pasting a curl line needs curl and bash on PATH")
def test_the_command_fails_a_broken_provider_with_curl_lines_that_paste(
        serve: Callable[..., str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    url = serve("docs", terminate_ignored)
    monkeypatch.setenv("UCLOUD_TOKEN", "a-token-of-the-first-user")
    assert main(["verify", "--url", url, "--examples", "5", "--shrink-time", "0", "--seed", "1"]) == 1
    out = capsys.readouterr().out
    reproduce = curl_lines(out)
    assert reproduce
    assert all(line.startswith("curl -X ") and url in line for line in reproduce)
    # Pasted into a shell with the token exported, the first line (the create) is answered 200 with JSON.
    environment = {**os.environ, "UCLOUD_TOKEN": "a-token-of-the-first-user", "no_proxy": "*", "NO_PROXY": "*"}
    done = subprocess.run(["bash", "-c", reproduce[0] + " -s -o /dev/null -w '%{http_code}'"], env=environment,
                          capture_output=True, text=True, timeout=CURL_TIMEOUT, check=False)
    assert done.stdout == "200", done.stderr


def test_no_output_of_a_failing_run_holds_a_token(serve: Callable[..., str], capsys: pytest.CaptureFixture[str],
                                                  monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A provider that echoes the Authorization header: stdout, stderr and the JUnit file hold neither token."""
    first, second = "tok-FIRST-0123456789", "tok-SECOND-0123456789"
    monkeypatch.setenv("UCLOUD_TOKEN", first)
    monkeypatch.setenv("UCLOUD_SECOND_TOKEN", second)
    junit = tmp_path / "verify.xml"
    url = serve("ucloud", echo_token)
    assert main(["verify", "--url", url, "--examples", "10", "--shrink-time", "0", "--junit-xml", str(junit)]) == 1
    captured = capsys.readouterr()
    channels = {"stdout": captured.out, "stderr": captured.err, "junit": junit.read_text()}
    for name, text in channels.items():
        assert first not in text, name
        assert second not in text, name
    assert "Bearer $UCLOUD_TOKEN may not extend jobs" in captured.out  # the echo is there, redacted


# --------------------------------------------------------------------------- usage errors


@pytest.mark.parametrize(("arguments", "message"), [
    (["--url", "not a url", "--token", "t"], "'not a url' is not an http(s) URL"),
    (["--url", "http://127.0.0.1:9", "--token", "t", "--scenario", "nope"],
     "unknown scenario 'nope'; known scenarios: blank, extend-and-terminate, extend-and-terminate-2024"),
    (["--url", "http://127.0.0.1:9"], "no token: give --token or set UCLOUD_TOKEN"),
    (["--url", "http://127.0.0.1:9", "--token", "t", "--examples", "-1"],
     "argument --examples: -1 is negative; give 0 or more (see 'ucloud-jobs verify --help')"),
    (["--url", "http://127.0.0.1:9", "--token", "t", "--shrink-time", "-2"],
     "argument --shrink-time: -2 is not 0 or a positive number of seconds (see 'ucloud-jobs verify --help')"),
    (["--url", "http://127.0.0.1:9", "--token", "t", "--seed", "x"],
     "argument --seed: 'x' is not a whole number (see 'ucloud-jobs verify --help')"),
])
def test_usage_errors_are_one_line_and_exit_2(arguments: list[str], message: str, capsys: pytest.CaptureFixture[str],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("UCLOUD_TOKEN", raising=False)
    assert main(["verify", *arguments]) == 2
    captured = capsys.readouterr()
    assert (captured.out, captured.err) == ("", f"ucloud-jobs verify: error: {message}\n")


def test_an_unreachable_host_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["verify", "--url", "http://127.0.0.1:9", "--token", "t"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("ucloud-jobs verify: error: cannot reach http://127.0.0.1:9: ")
    assert captured.err.count("\n") == 1
