"""``ucloud-jobs serve`` as people run it: in a subprocess, stopped with a signal; usage errors through ``main``.

Each server runs in its own process on a port it picks itself (``--port 0``); the tests read the URL it prints,
talk to it over HTTP and stop it with SIGINT or SIGTERM. Every process has a timeout and is killed in a
``finally`` block, so a hang fails a test instead of stalling the run.
"""

from __future__ import annotations

import base64
import http.client
import json
import re
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from contracts.paths import spec_path
from mockserver.cli import main
from tests.mockserver.support import job_spec
from tests.serve_process import IO_TIMEOUT, PYTHON_M, STARTUP_TIMEOUT, served

CONSOLE_SCRIPT = Path(sys.executable).with_name("ucloud-jobs")
STOPPED = "ucloud-jobs mock stopped"


def _steady(line: str) -> str:
    """A text log line without what differs from run to run (the wall time, the duration) or by job (its size)."""
    return re.sub(r" \d+B \d+\.\dms", " SIZE TIME", re.sub(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z ", "WALL ", line))
CREATE_BODY = json.dumps({"items": [job_spec()]}).encode()
SEED_START_MS = 1633329776235
SEED_FIRST_ID = "62348"


def _raw(url: str, method: str, target: str, body: bytes | None, headers: dict[str, str]) -> tuple[int, bytes]:
    parts = urlsplit(url)
    assert parts.hostname is not None
    assert parts.port is not None
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=IO_TIMEOUT)
    try:
        connection.request(method, target, body=body, headers=headers)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def call(url: str, method: str, target: str, body: bytes | None = None,
         token: str | None = "any-token", *, headers: dict[str, str] | None = None) -> tuple[int, Any]:
    """One request over a fresh connection; the status and the parsed JSON answer."""
    sent = {"Authorization": f"Bearer {token}"} if token is not None else {}
    status, answer = _raw(url, method, target, body, {**sent, **(headers or {})})
    return status, json.loads(answer)


def create_and_retrieve(url: str, token: str = "any-token") -> dict[str, Any]:
    """Create one job and return it as retrieved (with its updates)."""
    status, created = call(url, "POST", "/api/jobs", CREATE_BODY, token)
    assert status == 200, created
    job_id = created["responses"][0]["id"]
    status, job = call(url, "GET", f"/api/jobs/retrieve?id={job_id}&includeUpdates=true", token=token)
    assert status == 200, job
    assert isinstance(job, dict)
    return job


def _port_refuses(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=IO_TIMEOUT).close()
    except ConnectionRefusedError:
        return True
    return False


# ---------------------------------------------------------------------------------------------- running

@pytest.mark.parametrize("command", [
    pytest.param(PYTHON_M, id="python-m-mockserver"),
    pytest.param((str(CONSOLE_SCRIPT),), id="ucloud-jobs",
                 marks=pytest.mark.skipif(not CONSOLE_SCRIPT.exists(),
                                          reason=f"the console script is not installed at {CONSOLE_SCRIPT}")),
])
def test_serve_prints_its_url_on_a_free_port_and_logs_each_request(command: tuple[str, ...]) -> None:
    with served("--port", "0", command=command) as (server, url):
        match = re.fullmatch(r"http://127\.0\.0\.1:(\d+)", url)
        assert match is not None, url
        port = int(match.group(1))
        assert 0 < port <= 65535
        assert "(scenario extend-and-terminate, profile docs, era 2021, virtual clock at 2021-10-04T06:42:56.235Z)" \
            in server.banner
        assert f"the contract at {url}/openapi.yaml, the admin API under {url}/_mock/; Ctrl-C stops" in server.banner
        job = create_and_retrieve(url)
        assert (job["id"], job["createdAt"]) == (SEED_FIRST_ID, SEED_START_MS)
        assert server.stop() == 0
        log = server.stderr().splitlines()
        assert server.stdout() == server.banner, "stdout carries the URL line only"
    # One line per request, from the app: wall time, virtual time, client, user, request, status, operation, ...
    assert log[-1] == STOPPED
    assert [_steady(line) for line in log[:-1]] == [
        'WALL [clock 2021-10-04T06:42:56.235Z] 127.0.0.1 user "POST /api/jobs" 200 jobs.create SIZE TIME | step 1 of 6',
        f'WALL [clock 2021-10-04T06:43:01.235Z] 127.0.0.1 user "GET /api/jobs/retrieve?id={SEED_FIRST_ID}'
        '&includeUpdates=true" 200 jobs.retrieve SIZE TIME | step 2 of 6',
    ]
    assert _port_refuses(port)


def test_serve_logs_json_lines_with_pages_faults_and_whys(tmp_path: Path) -> None:
    with served("--port", "0", "--log-format", "json", "--scenario", "blank") as (server, url):
        assert call(url, "GET", "/")[1]["playing"]["scenario"] == "blank"
        assert _raw(url, "GET", "/openapi.yaml", None, {}) == (200, spec_path().read_bytes())
        fault = json.dumps({"faults": [{"operation": "jobs.browse", "status": 503, "times": 1}]}).encode()
        assert call(url, "POST", "/_mock/faults", fault, headers={"Content-Type": "application/json"})[0] == 200
        assert call(url, "GET", "/api/jobs/browse")[0] == 503
        assert call(url, "GET", "/api/jobs/retrieve?id=7")[0] == 404
        assert server.stop() == 0
        stderr = server.stderr().splitlines()
    assert stderr[-1] == STOPPED
    lines = [json.loads(line) for line in stderr[:-1]]
    assert [(line["method"], line["path"], line["operation"], line["status"], line["user"], line["fault"],
             line["why"]) for line in lines] == [
        ("GET", "/", "page.index", 200, None, None, None),
        ("GET", "/openapi.yaml", "page.openapi_yaml", 200, None, None, None),
        ("POST", "/_mock/faults", "admin.set_faults", 200, None, None, None),
        ("GET", "/api/jobs/browse", "jobs.browse", 503, "user", "status 503", "Service Unavailable"),
        ("GET", "/api/jobs/retrieve", "jobs.retrieve", 404, "user", None, "Unknown job"),
    ]
    assert {line["client"] for line in lines} == {"127.0.0.1"}
    assert {line["clockTime"] for line in lines} == {"2021-10-04T06:42:56.235Z"}
    assert lines[-1]["query"] == "id=7"
    assert lines[-1]["script"] == "no script"
    assert all(isinstance(line["durationMs"], float) and line["durationMs"] >= 0 for line in lines)


SIGNALS = pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])


@SIGNALS
def test_a_signal_as_soon_as_the_url_is_printed_stops_the_server_cleanly(signum: int) -> None:
    # The URL line says "ready": a supervisor may stop the server the moment it reads it.
    for _ in range(2):
        with served("--port", "0") as (server, _url):
            assert server.stop(signum) == 0, server.stderr()
            stderr = server.stderr()
        assert stderr.splitlines() == [STOPPED], stderr


@SIGNALS
def test_a_signal_stops_the_server_cleanly(signum: int) -> None:
    with served("--port", "0") as (server, url):
        parts = urlsplit(url)
        assert parts.port is not None
        idle = http.client.HTTPConnection("127.0.0.1", parts.port, timeout=IO_TIMEOUT)
        try:
            idle.request("GET", "/_mock/clock")  # leaves a kept-alive connection open while the server stops
            assert idle.getresponse().read()
            assert server.stop(signum) == 0
        finally:
            idle.close()
        stderr = server.stderr()
    assert stderr.splitlines()[-1] == STOPPED, stderr
    assert "Traceback" not in stderr, stderr
    assert "warning" not in stderr, "a loopback host needs no warning"
    assert _port_refuses(parts.port)


def test_a_call_waiting_out_a_long_latency_fault_does_not_hold_the_server_at_its_end() -> None:
    with served("--port", "0", "-q") as (server, url):
        parts = urlsplit(url)
        admin = http.client.HTTPConnection(parts.hostname or "", parts.port or 0, timeout=IO_TIMEOUT)
        admin.request("POST", "/_mock/faults", headers={"Content-Type": "application/json"},
                      body=json.dumps({"faults": [{"operation": "jobs.browse", "latencyMs": 60_000}]}))
        assert admin.getresponse().status == 200
        admin.close()
        outcome: list[object] = []

        def browse() -> None:
            try:
                outcome.append(call(url, "GET", "/api/jobs/browse"))
            except (OSError, http.client.HTTPException) as error:
                outcome.append(error)

        waiting = threading.Thread(target=browse, daemon=True)
        waiting.start()
        assert call(url, "GET", "/_mock/faults")[0] == 200  # the server answers others while that call waits
        # STOP_TIMEOUT (15 s) is far below the fault's 60 s: the process must end without waiting it out.
        assert server.stop(signal.SIGTERM) == 0
        stderr = server.stderr()
        waiting.join(IO_TIMEOUT)
    assert not waiting.is_alive()
    assert stderr.splitlines()[-1] == STOPPED, stderr
    assert "Traceback" not in stderr, stderr


def test_a_host_other_than_loopback_gets_a_warning() -> None:
    with served("--host", "0.0.0.0", "--port", "0") as (server, url):
        parts = urlsplit(url)
        assert parts.hostname == "0.0.0.0"
        assert parts.port is not None
        assert call(f"http://127.0.0.1:{parts.port}", "GET", "/_mock/clock")[0] == 200
        assert server.stop(signal.SIGTERM) == 0
        stderr = server.stderr()
    assert "ucloud-jobs serve: warning: listening on 0.0.0.0, reachable from other machines" in stderr, stderr


def test_profile_ucloud_behaves_as_the_real_service_and_quiet_logs_nothing() -> None:
    with served("--port", "0", "--profile", "ucloud", "-q") as (server, url):
        assert ", profile ucloud," in server.banner
        job = create_and_retrieve(url)
        # ucloud: startedAt is set when the job runs, and updates come only with includeUpdates=true.
        assert job["status"]["startedAt"] == SEED_START_MS + 5000
        status, bare = call(url, "GET", f"/api/jobs/retrieve?id={job['id']}")
        assert (status, bare["updates"]) == (200, [])
        assert server.stop() == 0
        assert server.stderr().splitlines() == [STOPPED]


LOCAL_SCENARIO = """\
name: local-flow
profile: docs
clock: {start: 1700000000000}
ids: {first: 500}
queueDelay: 1s
"""


@pytest.mark.parametrize(("how", "name", "first_id", "start_ms"), [
    ("bundled-name", "extend-and-terminate", SEED_FIRST_ID, SEED_START_MS),
    ("path", "local-flow", "500", 1700000000000),
    ("name-in-scenario-dir", "local-flow", "500", 1700000000000),
])
def test_scenario_by_name_or_path_sets_clock_and_ids(tmp_path: Path, how: str, name: str, first_id: str,
                                                     start_ms: int) -> None:
    scenario_file = tmp_path / "local-flow.yaml"
    scenario_file.write_text(LOCAL_SCENARIO, encoding="utf-8")
    args = {"bundled-name": ("--scenario", "extend-and-terminate"),
            "path": ("--scenario", str(scenario_file)),
            "name-in-scenario-dir": ("--scenario-dir", str(tmp_path), "--scenario", "local-flow")}[how]
    with served("--port", "0", *args) as (server, url):
        assert f"(scenario {name}, profile docs," in server.banner
        job = create_and_retrieve(url)
        assert (job["id"], job["createdAt"]) == (first_id, start_ms)
        assert server.stop() == 0


def _jwt(subject: str) -> str:
    def part(value: dict[str, str]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")
    return f"{part({'alg': 'none'})}.{part({'sub': subject})}.signature"


def test_user_accepts_only_the_given_tokens() -> None:
    with served("--port", "0", "--user", "s3cret=alice") as (server, url):
        job = create_and_retrieve(url, token="s3cret")
        assert job["owner"]["createdBy"] == "alice"
        target = f"/api/jobs/retrieve?id={job['id']}"
        for token in ("another-token", _jwt("alice"), None):
            # Without --user, any of these would be accepted; with it, only s3cret is.
            status, error = call(url, "GET", target, token=token)
            assert (status, error) == (401, {"why": "Unauthorized", "errorCode": None}), token
        assert server.stop() == 0


# ----------------------------------------------------------------------------------------- usage errors

@pytest.fixture
def no_server(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail at once, instead of serving forever, if a usage error were to get as far as starting a server."""
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("serve started a server despite the usage error")
    monkeypatch.setattr("mockserver.cli.serve.MockServer", refuse)


@pytest.mark.usefixtures("no_server")
@pytest.mark.parametrize(("args", "fragments"), [
    pytest.param(("--scenario", "no-such-flow"),
                 ("unknown scenario 'no-such-flow'", "; known scenarios: ", "extend-and-terminate"),
                 id="unknown-scenario"),
    pytest.param(("--scenario", "missing/flow.yaml"), ("no scenario file at missing/flow.yaml",),
                 id="missing-scenario-file"),
    pytest.param(("--user", "no-equals-sign"), ("--user", "'no-equals-sign' is not TOKEN=NAME"), id="bad-user"),
    pytest.param(("--user", "=alice"), ("'=alice' is not TOKEN=NAME",), id="user-without-token"),
    pytest.param(("--port", "65536"), ("--port 65536 is not between 0 and 65535",), id="port-too-high"),
    pytest.param(("--port", "-1"), ("--port -1 is not between 0 and 65535",), id="negative-port"),
    pytest.param(("--profile", "prod"), ("--profile", "'prod'"), id="unknown-profile"),
])
def test_usage_errors_exit_2_with_one_line(capsys: pytest.CaptureFixture[str], args: tuple[str, ...],
                                          fragments: tuple[str, ...]) -> None:
    assert main(["serve", "--port", "0", *args]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("ucloud-jobs serve: error: "), err
    assert err.endswith("\n"), err
    assert err.count("\n") == 1, err
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in err


def test_a_port_in_use_exits_2_with_one_line() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run([*PYTHON_M, "serve", "--port", str(port)], stdin=subprocess.DEVNULL,
                              capture_output=True, text=True, timeout=STARTUP_TIMEOUT, check=False)
    assert (done.returncode, done.stdout) == (2, ""), done.stderr
    assert done.stderr.startswith(f"ucloud-jobs serve: error: cannot listen on 127.0.0.1:{port}: "), done.stderr
    assert done.stderr.count("\n") == 1, done.stderr


def test_help_lists_every_bundled_scenario_and_the_command_that_describes_them(
        capsys: pytest.CaptureFixture[str]) -> None:
    from contracts.scenario import list_scenarios  # noqa: PLC0415

    assert main(["serve", "--help"]) == 0
    help_text = " ".join(capsys.readouterr().out.split())  # argparse wraps the epilog to the terminal's width
    listed = re.search(r"bundled scenarios: (.*) \('ucloud-jobs scenarios' describes them\)$", help_text)
    assert listed is not None, help_text
    assert listed[1].split(", ") == sorted(list_scenarios())
    assert {"blank", "extend-and-terminate", "extend-and-terminate-2024"} <= set(listed[1].split(", "))
