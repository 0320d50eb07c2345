"""The mock as a Python object (``mockserver.MockServer``), with no pytest in between, and its control plane."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from contracts.testing.control import MockControl, Stage
from mockserver import MockServer
from mockserver.api import ServerErrors
from mockserver.web import handlers
from mockserver.web.requestlog import RequestRecord
from tests.mockserver.support import FIRST_ID, QUEUE_DELAY_MS, T0, job_spec


def call(mock: MockServer, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    request = urllib.request.Request(mock.url + path, method=method, headers=mock.headers,
                                     data=None if body is None else json.dumps(body).encode())
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


@pytest.fixture(scope="module")
def server() -> Iterator[MockServer]:
    with MockServer("blank") as running:
        yield running


@pytest.fixture
def mock(server: MockServer) -> MockServer:
    server.load_scenario("blank")
    return server


def test_the_url_is_known_before_start_and_served_after() -> None:
    mock = MockServer()
    try:
        assert mock.url == f"http://127.0.0.1:{mock.port}"
        mock.start()
        # The default scenario is the seed's, as for ucloud-jobs serve.
        assert call(mock, "POST", "/api/jobs", {"items": [job_spec()]}) == (200, {"responses": [{"id": str(FIRST_ID)}]})
    finally:
        mock.stop()


def test_the_clock_moves_jobs_along(mock: MockServer) -> None:
    _, created = call(mock, "POST", "/api/jobs", {"items": [job_spec()]})
    job_id = created["responses"][0]["id"]
    assert mock.clock.now_ms == T0
    assert mock.clock.advance(seconds=QUEUE_DELAY_MS / 1000) == T0 + QUEUE_DELAY_MS
    assert call(mock, "GET", f"/api/jobs/retrieve?id={job_id}")[1]["status"]["state"] == "RUNNING"
    assert mock.clock.advance(hours=1, minutes=1, ms=1) == T0 + QUEUE_DELAY_MS + 3_660_001
    assert mock.clock.set(T0 + 10 * 3_600_000) == T0 + 10 * 3_600_000
    assert call(mock, "GET", f"/api/jobs/retrieve?id={job_id}")[1]["status"]["state"] == "EXPIRED"


def test_clock_mistakes_are_value_errors_in_plain_words(mock: MockServer) -> None:
    """Python's words, not the admin API's: no setMs or advanceMs, and no ApiError."""
    latest = "253402300799999 (9999-12-31T23:59:59.999Z)"
    for move, message in [
        (lambda: mock.clock.set(0), f"the clock only moves forward: it reads {T0}, so it cannot be set to 0"),
        (lambda: mock.clock.advance(seconds=-1), "the clock only moves forward: it cannot move by -1000 ms"),
        (lambda: mock.clock.set(10**15), f"the clock cannot be set to 1000000000000000: {latest} is the latest time"),
        (lambda: mock.clock.advance(hours=10**8), f"the clock cannot move by {10**8 * 3_600_000} ms: it reads {T0}, "
                                                  f"and {latest} is {253402300799999 - T0} ms away"),
    ]:
        with pytest.raises(ValueError, match=f"^{re.escape(message)}$") as raised:
            move()
        assert type(raised.value).__module__ == "mockserver.domain.errors"  # not the web layer's ApiError
    assert mock.clock.now_ms == T0


def test_faults_in_keywords_or_in_the_admin_apis_form(mock: MockServer) -> None:
    assert mock.faults.set(operation="jobs.browse", status=503, times=1) == [
        {"operation": "jobs.browse", "status": 503, "why": None, "latencyMs": 0, "times": 1}]
    assert call(mock, "GET", "/api/jobs/browse") == (503, {"why": "Service Unavailable", "errorCode": None})
    assert call(mock, "GET", "/api/jobs/browse")[0] == 200
    mock.faults.set({"operation": "jobs.browse", "status": 500, "why": "down"}, {"operation": "*", "latencyMs": 1})
    assert [fault["status"] for fault in mock.faults.active] == [500, None]
    assert call(mock, "GET", "/api/jobs/browse") == (500, {"why": "down", "errorCode": None})
    mock.faults.clear()
    assert mock.faults.active == []


@pytest.mark.parametrize(("kwargs", "faults", "message"), [
    ({"operation": "jobs.nope", "status": 503}, (), "faults[0]: unknown operation 'jobs.nope'; known: *, "),
    ({"operation": "jobs.browse", "status": 200}, (), "faults[0]: status must be an error status"),
    ({"operation": "jobs.browse", "times": 0}, (), "faults[0]: times must be a positive integer"),
    ({"status": 503}, ({"operation": "*"},), "give faults either as mappings or as keywords, not both"),
])
def test_a_bad_fault_is_a_value_error_and_changes_nothing(mock: MockServer, kwargs: dict[str, Any],
                                                          faults: tuple[dict[str, Any], ...], message: str) -> None:
    mock.faults.set(operation="jobs.retrieve", latency_ms=5)
    with pytest.raises(ValueError, match=re.escape(message)):
        mock.faults.set(*faults, **kwargs)
    assert mock.faults.active == [{"operation": "jobs.retrieve", "status": None, "why": None, "latencyMs": 5,
                                   "times": None}]


def test_a_request_log_hears_of_every_request_over_the_socket() -> None:
    records: list[RequestRecord] = []
    with MockServer("blank", request_log=records.append) as mock:
        call(mock, "GET", "/api/jobs/browse")
        call(mock, "GET", "/")
    assert [(r.client, r.user, r.operation, r.status) for r in records] == [
        ("127.0.0.1", "user", "jobs.browse", 200), ("127.0.0.1", None, "page.index", 200)]


def test_the_journal_holds_this_stages_requests(mock: MockServer) -> None:
    call(mock, "POST", "/api/jobs", {"items": [job_spec()]})
    call(mock, "GET", "/api/jobs/retrieve?id=nope")
    assert [(entry["operation"], entry["status"], entry["user"]) for entry in mock.journal] == [
        ("jobs.create", 200, "user"), ("jobs.retrieve", 404, "user")]
    mock.reset()
    assert mock.journal == []


def test_scenarios_by_name_by_file_or_as_an_object(mock: MockServer, tmp_path: Path) -> None:
    mock.load_scenario("extend-and-terminate", profile="ucloud")
    assert mock.control.stage() == Stage("extend-and-terminate", "ucloud")
    assert call(mock, "POST", "/api/jobs", {"items": [job_spec()]})[1] == {"responses": [{"id": str(FIRST_ID)}]}
    own = tmp_path / "own.yaml"
    own.write_text("name: own\nclock: {start: 5000}\nids: {first: 7}\n", encoding="utf-8")
    mock.load_scenario(str(own))
    assert (mock.control.stage(), mock.clock.now_ms) == (Stage("own", "docs"), 5000)
    assert call(mock, "POST", "/api/jobs", {"items": [job_spec()]})[1] == {"responses": [{"id": "7"}]}
    with pytest.raises(LookupError, match="unknown scenario 'nope'; known scenarios: blank, extend-and-terminate"):
        mock.load_scenario("nope")
    with pytest.raises(LookupError, match="unknown profile 'nope'; known profiles: docs, ucloud"):
        mock.load_scenario("blank", profile="nope")
    assert mock.control.stage() == Stage("own", "docs")


def test_a_failure_inside_the_mock_is_raised_by_check(mock: MockServer, monkeypatch: pytest.MonkeyPatch) -> None:
    def explode(call: Any, caller: Any) -> Any:
        raise RuntimeError("the browse handler exploded")

    monkeypatch.setitem(handlers.API_HANDLERS, "jobs.browse", explode)
    assert call(mock, "GET", "/api/jobs/browse") == (500, {"why": "Internal Server Error", "errorCode": None})
    with pytest.raises(ServerErrors, match="RuntimeError: the browse handler exploded") as raised:
        mock.check()
    assert [error.operation for error in raised.value.errors] == ["jobs.browse"]
    mock.check()  # reported once


def test_the_control_plane_is_what_the_testing_tools_need(mock: MockServer) -> None:
    control: MockControl = mock.control  # the protocol of contracts.testing, in process
    control.load_scenario("extend-and-terminate")
    assert control.stage() == Stage("extend-and-terminate", "docs")
    assert control.advance(1000) == control.now_ms() == T0 + 1000
    control.reset()
    assert control.now_ms() == T0
    with pytest.raises(LookupError):
        control.load_scenario("../../etc/passwd")  # over the control plane, a name is never a path
    assert mock.token_for("alice") != mock.token
