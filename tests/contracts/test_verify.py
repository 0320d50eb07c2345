"""`ucloud-jobs verify` passes the mock in both profiles and catches every deliberately broken provider.

Each broken provider is the mock with one defect, added as WSGI middleware in front of it, served on a real
socket: exactly what verify meets in the field.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import pytest

from contracts.testing.statemachine import Target
from contracts.testing.transport import WsgiTransport
from contracts.testing.verify import run_state_machine
from mockserver.cli import main
from mockserver.server import HttpServer
from mockserver.web.app import create_app

WsgiApp = Callable[[dict[str, Any], Any], Iterable[bytes]]


def _body(environ: dict[str, Any]) -> bytes:
    length = int(environ.get("CONTENT_LENGTH") or 0)
    return environ["wsgi.input"].read(length) if length else b""


def _with_body(environ: dict[str, Any], body: bytes) -> dict[str, Any]:
    copy = dict(environ)
    copy["wsgi.input"] = io.BytesIO(body)
    copy["CONTENT_LENGTH"] = str(len(body))
    return copy


def _json_reply(start_response: Any, status: str, document: Any) -> list[bytes]:
    body = json.dumps(document).encode()
    start_response(status, [("Content-Type", "application/json; charset=utf-8"), ("Content-Length", str(len(body)))])
    return [body]


def extend_twice(app: WsgiApp) -> WsgiApp:
    """A provider that applies every extension twice."""

    def broken(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        if environ["PATH_INFO"] == "/api/jobs/extend":
            body = _body(environ)
            list(app(_with_body(environ, body), lambda *a: None))
            return app(_with_body(environ, body), start_response)
        return app(environ, start_response)

    return broken


def terminate_ignored(app: WsgiApp) -> WsgiApp:
    """A provider that answers terminate but leaves the job running."""

    def broken(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        if environ["PATH_INFO"] == "/api/jobs/terminate":
            items = json.loads(_body(environ))["items"]
            return _json_reply(start_response, "200 OK", {"responses": [{} for _ in items]})
        return app(environ, start_response)

    return broken


def wrong_type(app: WsgiApp) -> WsgiApp:
    """A provider that sends createdAt as a string."""

    def broken(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        if environ["PATH_INFO"] != "/api/jobs/retrieve":
            return app(environ, start_response)
        seen: list[Any] = []
        body = b"".join(app(environ, lambda status, headers, exc=None: seen.append(status)))
        document = json.loads(body)
        if seen[0].startswith("200"):
            document["createdAt"] = str(document["createdAt"])
        return _json_reply(start_response, seen[0], document)

    return broken


def error_500(app: WsgiApp) -> WsgiApp:
    """A provider that fails a valid extend with 500."""

    def broken(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        if environ["PATH_INFO"] == "/api/jobs/extend":
            return _json_reply(start_response, "500 Internal Server Error", {"why": "Internal Server Error"})
        return app(environ, start_response)

    return broken


def others_visible(app: WsgiApp) -> WsgiApp:
    """A provider that serves everyone as the first user, so another user's jobs are visible to them."""

    def broken(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        if environ["PATH_INFO"].startswith("/api/") and environ.get("HTTP_AUTHORIZATION"):
            environ = {**environ, "HTTP_AUTHORIZATION": "Bearer same-for-everyone"}
        return app(environ, start_response)

    return broken


@pytest.fixture
def serve() -> Iterator[Callable[..., str]]:
    servers: list[HttpServer] = []

    def start(profile: str = "docs", defect: Callable[[WsgiApp], WsgiApp] | None = None) -> str:
        app: Any = create_app(profile=profile)
        server = HttpServer(defect(app) if defect else app, "127.0.0.1", 0).start()
        servers.append(server)
        return server.url

    yield start
    for server in servers:
        server.stop()


def _verify(url: str, *extra: str) -> int:
    return main(["verify", "--url", url, "--token", "verify-token", "--examples", "30", *extra])


@pytest.mark.parametrize("profile", ["docs", "ucloud"])
def test_the_mock_passes_in_both_profiles(serve: Callable[..., str], profile: str,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    url = serve(profile)
    assert _verify(url) == 0
    out = capsys.readouterr().out
    assert f"expecting the {profile} profile" in out
    assert "ok   scenario extend-and-terminate\n" in out
    assert "ok   scenario extend-and-terminate-2024\n" in out
    assert "ok   state machine" in out
    assert "3 of 3 checks passed" in out


@pytest.mark.parametrize(("defect", "phase", "evidence"), [
    (extend_twice, "scenario extend-and-terminate", "extend moves expiresAt by exactly the requested time"),
    (terminate_ignored, "scenario extend-and-terminate", "terminate ends the job"),
    (wrong_type, "scenario extend-and-terminate", "/createdAt: '1633329776235' is not of type integer"),
    (error_500, "scenario extend-and-terminate", "answered 500"),
    (others_visible, "state machine", "expected 404, got 200"),
], ids=["extend twice", "terminate ignored", "wrong type", "500 on a valid request", "others' jobs visible"])
def test_every_broken_provider_is_caught(serve: Callable[..., str], capsys: pytest.CaptureFixture[str],
                                         defect: Callable[[WsgiApp], WsgiApp], phase: str, evidence: str) -> None:
    url = serve("ucloud", defect)
    assert _verify(url) == 1
    out = capsys.readouterr().out
    assert f"FAIL {phase}" in out
    assert evidence in out
    reproduce = [line.strip() for line in out.splitlines() if line.strip().startswith("curl ")]
    assert reproduce, "a failure must come with curl lines to reproduce it"
    assert all(url in line for line in reproduce)


def test_the_state_machine_alone_catches_a_doubled_extension() -> None:
    """Without the scenario, the invariants' state machine finds the defect and shrinks it to a few calls."""
    transport = WsgiTransport(extend_twice(create_app(scenario="blank", profile="ucloud")))
    finding = run_state_machine(Target(transport, profile="ucloud"), examples=50)
    assert finding is not None
    # Depending on the job it reaches first: a running job's expiresAt or a queued one's allocation grew twice.
    caught = ("extend moves expiresAt by exactly the requested time",
              "extend: timeAllocation grows by the requested time (ucloud profile)")
    assert any(invariant in finding.problem for invariant in caught), finding.problem
    extends = [line for line in finding.curl if "/api/jobs/extend" in line]
    assert len(extends) == 1, finding.render()
    assert len(finding.curl) <= 6, finding.render()


def test_junit_report(serve: Callable[..., str], tmp_path: Path) -> None:
    report = tmp_path / "verify.xml"
    assert _verify(serve("docs", terminate_ignored), "--junit-xml", str(report)) == 1
    suite = ET.parse(report).getroot().find("testsuite")
    assert suite is not None
    assert suite.get("tests") == "3"
    assert suite.get("failures") == "3"
    failed = [case.get("name") for case in suite.iter("testcase") if case.find("failure") is not None]
    assert failed == ["scenario extend-and-terminate", "scenario extend-and-terminate-2024", "state machine"]
    failure = next(case for case in suite.iter("testcase") if case.get("name") == "state machine").find("failure")
    assert failure is not None
    assert "terminate ends the job" in (failure.text or "")


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["verify", "--url", "not a url", "--token", "t"]) == 2
    assert "is not an http(s) URL" in capsys.readouterr().err
    assert main(["verify", "--url", "http://127.0.0.1:9", "--token", "t"]) == 2
    assert "cannot reach http://127.0.0.1:9" in capsys.readouterr().err
    assert main(["verify", "--url", "http://127.0.0.1:9", "--token", "t", "--scenario", "nope"]) == 2
    assert "unknown scenario 'nope'" in capsys.readouterr().err
