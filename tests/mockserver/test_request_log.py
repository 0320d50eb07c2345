"""The request log: one record per request from the app, with both clocks, the user, the operation, the status,
the duration, the script's cue, the ``why`` of every error and the injected fault; written as text or JSON lines."""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Iterator
from typing import Any

import pytest
from werkzeug.test import Client

from mockserver.web.app import MockApp
from mockserver.web.requestlog import RequestRecord, StreamLog, json_line, text_line
from tests.mockserver.support import FIRST_ID, SEED, T0, AppFactory, job_spec

WALL_MS = 1_750_000_000_123  # 2025-06-15T15:06:40.123Z
AUTH = {"Authorization": "Bearer token"}


@pytest.fixture
def logged(make_app: AppFactory) -> tuple[MockApp, list[RequestRecord]]:
    """The seed with its script, a request log that keeps its records, a fixed wall clock and 250 ms per request."""
    records: list[RequestRecord] = []
    app = make_app(scenario=SEED, request_log=records.append, cors_origins=["http://localhost:3000"])
    app.wall_ms = lambda: WALL_MS
    app.timer = _ticks(0.25)
    return app, records


def _ticks(step: float) -> Any:
    moments: Iterator[float] = (index * step for index in range(10**6))
    return lambda: next(moments)


def _jwt(sub: str) -> str:
    payload = base64.urlsafe_b64encode(json.dumps({"sub": sub}).encode()).decode().rstrip("=")
    return f"eyJhbGciOiJub25lIn0.{payload}.x"


def test_every_kind_of_request_gives_one_record(logged: tuple[MockApp, list[RequestRecord]]) -> None:
    app, records = logged
    client = Client(app)
    client.post("/api/jobs", json={"items": [job_spec()]}, headers=AUTH)
    client.get("/api/jobs/retrieve?id=nope", headers=AUTH)
    client.get("/api/jobs/browse")
    client.get("/_mock/clock")
    client.get("/openapi.json")
    client.get("/api/nothing", headers={"Host": "rebound.example"})
    client.options("/api/jobs", headers={"Origin": "http://localhost:3000", "Access-Control-Request-Method": "POST"})
    client.delete("/api/jobs", headers=AUTH)
    seen = [(r.method, r.path, r.query, r.operation, r.user, r.status, r.script, r.why) for r in records]
    assert seen == [
        ("POST", "/api/jobs", "", "jobs.create", "user", 200, "step 1 of 6", None),
        ("GET", "/api/jobs/retrieve", "id=nope", "jobs.retrieve", "user", 404,
         "off script: step 2 of 6 expects jobs.retrieve", "Unknown job"),
        ("GET", "/api/jobs/browse", "", "jobs.browse", None, 401, None, "Unauthorized"),
        ("GET", "/_mock/clock", "", "admin.get_clock", None, 200, None, None),
        ("GET", "/openapi.json", "", "page.openapi_json", None, 200, None, None),
        ("GET", "/api/nothing", "", None, None, 403, None,
         "The Host header 'rebound.example' does not name this server: it answers to localhost, 127.0.0.1, "
         "[::1] and the address it listens on (start it with --allowed-host NAME to answer to another name)"),
        ("OPTIONS", "/api/jobs", "", "preflight", None, 204, None, None),
        ("DELETE", "/api/jobs", "", None, None, 405, None, "Method Not Allowed"),
    ]
    assert {(r.wall_ms, r.duration_ms, r.fault) for r in records} == {(WALL_MS, 250.0, None)}
    # The refused retrieve was served at step 2's time (the clock never goes back), without using up the step.
    assert [r.clock_ms for r in records] == [T0] + [T0 + 5000] * 7
    assert records[0].response_bytes == len(b'{"responses":[{"id":"62348"}]}')
    assert records[0].client == "-"  # in process, no peer; over a socket, its address (test_serve_cli.py)
    # The log is not the journal: pages, the admin API and refused Hosts are journaled nowhere.
    assert [entry["path"] for entry in app.journal.snapshot()["entries"]] == [
        "/api/jobs", "/api/jobs/retrieve", "/api/jobs/browse", "/api/jobs"]


def test_the_virtual_clock_is_the_one_each_request_was_served_at(logged: tuple[MockApp, list[RequestRecord]]) -> None:
    app, records = logged
    client = Client(app)
    client.post("/api/jobs", json={"items": [job_spec()]}, headers=AUTH)
    client.get(f"/api/jobs/retrieve?id={FIRST_ID}", headers=AUTH)  # step 2 is served 5 s into the flow
    assert [(r.clock_ms, r.script) for r in records] == [(T0, "step 1 of 6"), (T0 + 5000, "step 2 of 6")]


def test_injected_faults_are_marked_as_such(logged: tuple[MockApp, list[RequestRecord]]) -> None:
    app, records = logged
    slept: list[float] = []
    app.sleep = slept.append
    app.control.set_faults([{"operation": "jobs.browse", "status": 503, "times": 1},
                            {"operation": "jobs.retrieveProducts", "latencyMs": 200, "times": 1},
                            {"operation": "jobs.init", "status": 500, "why": "provider down", "latencyMs": 30}])
    client = Client(app)
    client.get("/api/jobs/browse", headers=AUTH)
    client.get("/api/jobs/retrieveProducts", headers=AUTH)
    client.post("/api/jobs/init", headers=AUTH)
    client.get("/api/jobs/browse", headers=AUTH)
    assert [(r.operation, r.status, r.fault, r.why) for r in records] == [
        ("jobs.browse", 503, "status 503", "Service Unavailable"),
        ("jobs.retrieveProducts", 200, "latency 200 ms", None),
        ("jobs.init", 500, "status 500 after 30 ms", "provider down"),
        ("jobs.browse", 200, None, None),
    ]
    assert slept == [0.2, 0.03]
    assert app.take_errors() == []  # an injected 500 is no failure of the mock


def test_a_text_line_says_it_all_on_one_line() -> None:
    record = RequestRecord(wall_ms=WALL_MS, clock_ms=T0 + 5000, client="127.0.0.1", method="GET",
                           path="/api/jobs/retrieve", query="id=7", operation="jobs.retrieve", user="alice",
                           status=404, duration_ms=1.25, response_bytes=38, why="Unknown job",
                           script="off script: step 2 of 6 expects jobs.retrieve")
    assert text_line(record) == (
        '2025-06-15T15:06:40.123Z [clock 2021-10-04T06:43:01.235Z] 127.0.0.1 alice "GET /api/jobs/retrieve?id=7" '
        "404 jobs.retrieve 38B 1.2ms | off script: step 2 of 6 expects jobs.retrieve | why: Unknown job")
    faulted = RequestRecord(wall_ms=WALL_MS, clock_ms=T0, client="::1", method="POST", path="/api/jobs", query="",
                            operation="jobs.create", user=None, status=503, duration_ms=200.04, response_bytes=46,
                            why="Service Unavailable", fault="status 503 after 200 ms")
    assert text_line(faulted) == (
        '2025-06-15T15:06:40.123Z [clock 2021-10-04T06:42:56.235Z] ::1 - "POST /api/jobs" 503 (injected fault: '
        "status 503 after 200 ms) jobs.create 46B 200.0ms | why: Service Unavailable")


def test_a_json_line_has_every_field_always() -> None:
    record = RequestRecord(wall_ms=WALL_MS, clock_ms=T0, client="127.0.0.1", method="GET", path="/", query="",
                           operation="page.index", user=None, status=200, duration_ms=0.123456, response_bytes=2038)
    assert json.loads(json_line(record)) == {
        "wallTime": "2025-06-15T15:06:40.123Z", "clockMs": T0, "clockTime": "2021-10-04T06:42:56.235Z",
        "client": "127.0.0.1", "user": None, "method": "GET", "path": "/", "query": "", "operation": "page.index",
        "status": 200, "durationMs": 0.123, "responseBytes": 2038, "script": None, "fault": None, "why": None}
    assert "\n" not in json_line(record)


def test_what_a_client_sent_cannot_break_a_line_or_reach_the_terminal(make_app: AppFactory) -> None:
    stream = io.StringIO()
    app = make_app(request_log=StreamLog(stream, "text"))
    forged = _jwt("mal\x1b[2Jory\nforged")
    Client(app).get("/api/jobs/%1b[31mred%0Aforged line", headers=AUTH)
    Client(app).get("/api/jobs/browse", headers={"Authorization": f"Bearer {forged}"})
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2, lines
    assert '"GET /api/jobs/\\x1b[31mred\\nforged line" 404 - ' in lines[0]
    assert " mal\\x1b[2Jory\\nforged " in lines[1]
    assert "\x1b" not in stream.getvalue()
    as_json = io.StringIO()
    app.request_log = StreamLog(as_json, "json")
    Client(app).get("/api/jobs/%1b%0A", headers=AUTH)
    assert json.loads(as_json.getvalue())["path"] == "/api/jobs/\x1b\n"
    assert as_json.getvalue().count("\n") == 1


def test_a_log_that_cannot_be_written_stops_nothing(make_app: AppFactory) -> None:
    closed = io.StringIO()
    closed.close()
    app = make_app(request_log=StreamLog(closed))
    assert Client(app).get("/api/jobs/browse", headers=AUTH).status_code == 200
    with pytest.raises(ValueError, match=r"^unknown log format 'xml'; known: text, json$"):
        StreamLog(io.StringIO(), "xml")


def test_a_sink_that_fails_is_the_mocks_bug_and_the_client_still_gets_its_answer(make_app: AppFactory) -> None:
    def broken(record: RequestRecord) -> None:
        raise RuntimeError("the log exploded")

    app = make_app(request_log=broken)
    response = Client(app).get("/api/jobs/browse", headers=AUTH)
    assert (response.status_code, response.json) == (200, {"itemsPerPage": 50, "items": [], "next": None})
    (error,) = app.take_errors()
    assert "the request log failed" in error.traceback
    assert "RuntimeError: the log exploded" in error.traceback
