"""contracts.proxy: each side of a call checked against the contract, and a job's views held to each other."""

from __future__ import annotations

import copy
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from contracts.proxy.checks import TrafficChecker
from contracts.proxy.exchange import Exchange, Finding, parse_json
from contracts.proxy.frames import FrameChecker
from contracts.proxy.report import Ledger
from contracts.proxy.stateful import check_transitions, state_path
from contracts.proxy.users import Callers, jwt_subject
from contracts.testing.invariants import InvariantViolation
from contracts.testing.transport import mock_token

SEED = json.loads((Path(__file__).resolve().parents[1] / "data" / "docs" / "seed_flow.json").read_text())["steps"]
JOB: dict[str, Any] = SEED[1]["response"]  # the seed's job, running
EXTENDED: dict[str, Any] = SEED[3]["response"]
ENDED: dict[str, Any] = SEED[5]["response"]


def exchange(seq: int, method: str, path: str, *, query: str = "", request: Any = None, status: int | None = 200,
             response: Any = None) -> Exchange:
    body = b"" if request is None else json.dumps(request).encode()
    answer = response if isinstance(response, bytes) else json.dumps(response).encode()
    return Exchange(seq, method, path, query, body, None, status, answer)


def retrieve(seq: int, job: dict[str, Any], status: int = 200) -> Exchange:
    return exchange(seq, "GET", "/api/jobs/retrieve", query=f"id={job.get('id', '1')}", status=status, response=job)


def lines(findings: list[Finding]) -> list[str]:
    return [finding.line() for finding in findings]


def test_the_seed_flow_breaks_nothing() -> None:
    checker = TrafficChecker()
    for number, step in enumerate(SEED, start=1):
        call = exchange(number, step["method"], step["path"], query=step["query"], request=step["request"],
                        response=step["response"])
        assert checker.check(call) == [], step["call"]


def test_a_bad_request_is_the_clients_and_a_bad_answer_is_drift() -> None:
    checker = TrafficChecker()
    bad_request = {"items": [{"jobId": "62348", "requestedTime": {"hours": 1, "minutes": 75, "seconds": 0}}]}
    found = checker.check(exchange(1, "POST", "/api/jobs/extend", request=bad_request,
                                   status=400, response={"why": "Bad Request", "errorCode": None}))
    assert lines(found) == ["#1 jobs.extend request /items/0/requestedTime/minutes: 75 is greater than the maximum "
                            "of 59"]
    wrong = {**JOB, "createdAt": str(JOB["createdAt"])}
    assert lines(checker.check(retrieve(2, wrong))) == [
        "#2 jobs.retrieve response /createdAt: '1633329776235' is not of type integer"]
    missing = {key: value for key, value in JOB.items() if key != "status"}
    assert lines(checker.check(retrieve(3, missing))) == ["#3 jobs.retrieve response /status: required field is "
                                                          "missing"]


def test_a_query_that_breaks_the_contract_is_the_clients() -> None:
    found = TrafficChecker().check(exchange(1, "GET", "/api/jobs/retrieve", query="includeProduct=false",
                                            status=400, response={"why": "Bad Request"}))
    assert [(finding.direction, finding.pointer) for finding in found] == [("request", "/id")]


def test_an_undocumented_status_is_drift_and_its_body_is_still_checked() -> None:
    found = TrafficChecker().check(retrieve(1, {"why": 7}, status=418))  # type: ignore[dict-item]
    assert lines(found) == [
        "#1 jobs.retrieve response /: answered 418, a status the contract does not document for jobs.retrieve (it "
        "documents 200, 400, 401, 403, 404)",
        "#1 jobs.retrieve response /why: 7 is not of type string"]


def test_an_answer_that_is_not_json_and_a_call_the_contract_lacks() -> None:
    checker = TrafficChecker()
    assert lines(checker.check(exchange(1, "GET", "/api/jobs/retrieve", query="id=1", response=b"<html>"))) == [
        "#1 jobs.retrieve response /: the 200 answer is not JSON"]
    assert lines(checker.check(exchange(2, "POST", "/api/jobs/rename", request={}, response={}))) == [
        "#2 - request /: POST /api/jobs/rename is not a call of the contract"]
    assert checker.check(exchange(3, "GET", "/api/files/browse", response=b"anything")) == []


def test_a_state_that_goes_backwards_is_drift() -> None:
    checker = TrafficChecker()
    assert checker.check(retrieve(1, JOB)) == []
    queued_again = copy.deepcopy(JOB)
    queued_again["status"]["state"] = "IN_QUEUE"
    found = checker.check(retrieve(2, queued_again))
    assert {finding.check for finding in found} == {"a state moves only as JobState allows",
                                                    "the newest update's state is the job's state"}
    assert "the job went from RUNNING to IN_QUEUE; RUNNING moves only to CANCELING, EXPIRED, FAILURE, SUCCESS, " \
           "SUSPENDED" in lines(found)[0]


def test_a_final_state_never_changes_even_through_browse() -> None:
    checker = TrafficChecker()
    assert checker.check(retrieve(1, ENDED)) == []
    revived = copy.deepcopy(ENDED)
    revived["status"]["state"] = "RUNNING"
    revived["updates"].append({**revived["updates"][1], "timestamp": 1633336981236})
    page = {"itemsPerPage": 50, "items": [revived], "next": None}
    found = checker.check(exchange(2, "GET", "/api/jobs/browse", response=page))
    assert "final states never change" in {finding.check for finding in found}


def test_expires_at_must_move_by_the_extension() -> None:
    checker = TrafficChecker()
    extend = {"items": [{"jobId": "62348", "requestedTime": {"hours": 1, "minutes": 0, "seconds": 0}}]}
    assert checker.check(retrieve(1, JOB)) == []
    assert checker.check(exchange(2, "POST", "/api/jobs/extend", request=extend, response={"responses": [{}]})) == []
    assert checker.check(retrieve(3, EXTENDED)) == []  # moved by exactly the hour
    assert checker.check(exchange(4, "POST", "/api/jobs/extend", request=extend, response={"responses": [{}]})) == []
    found = checker.check(retrieve(5, EXTENDED))  # did not move
    assert [finding.check for finding in found] == ["extend moves expiresAt by exactly the requested time"]
    assert found[0].pointer == "/status/expiresAt"


def test_a_bulk_answer_has_one_entry_per_item() -> None:
    found = TrafficChecker().check(exchange(1, "POST", "/api/jobs/terminate", request={"items": [{"id": "1"}]},
                                            response={"responses": [{}, {}]}))
    assert [finding.check for finding in found] == ["one response per item"]


@pytest.mark.parametrize(("before", "after", "path"), [
    (None, JOB, ["IN_QUEUE", "RUNNING"]),
    (JOB, ENDED, ["RUNNING", "SUCCESS"]),
    (JOB, {**JOB, "updates": []}, None),  # the second view does not show the updates
    ({**JOB, "updates": []}, ENDED, None),  # nor does the first
])
def test_the_states_between_two_views(before: Any, after: Any, path: list[str] | None) -> None:
    assert state_path(before, after) == path


def test_views_without_updates_are_held_to_what_moves_can_reach() -> None:
    checker = TrafficChecker()
    hidden = {**ENDED, "updates": []}
    assert checker.check(retrieve(1, hidden)) == []
    assert checker.check(retrieve(2, ENDED)) == []  # the history shown later is not news
    revived = copy.deepcopy(hidden)
    revived["status"]["state"] = "IN_QUEUE"
    found = checker.check(retrieve(3, revived))
    assert "the job went from SUCCESS to IN_QUEUE, which no moves of JobState allow" in lines(found)[0]


def test_a_move_the_spec_does_not_allow_is_named() -> None:
    backwards = copy.deepcopy(ENDED)
    backwards["updates"].insert(2, {**backwards["updates"][1], "state": "EXPIRED"})
    with pytest.raises(InvariantViolation, match="from EXPIRED to SUCCESS; EXPIRED is final and moves nowhere"):
        check_transitions(None, backwards)


def test_callers_are_names_and_tokens_stay_out() -> None:
    callers = Callers()
    assert jwt_subject(mock_token("alice")) == "alice"
    assert jwt_subject("not.a.jwt") is None
    assert callers.name(f"Bearer {mock_token('alice')}") == "alice"
    assert callers.name("Bearer secret-token-1") == "user"
    assert callers.name("Bearer secret-token-2") == "user-2"
    assert callers.name("Bearer secret-token-1") == "user"
    assert callers.is_placeholder("user")
    assert not callers.is_placeholder("alice")
    assert callers.name(None) is None
    assert "secret-token" not in repr(vars(callers))


def test_the_ledger_fails_by_direction_and_reports_in_validates_formats() -> None:
    ledger = Ledger()
    call = Exchange(1, "POST", "/api/jobs/extend", "", b"{}", "jobs.extend", 400, b"{}")
    ledger.add(call, [Finding(1, "jobs.extend", "request", "/items", "required field is missing")])
    ledger.add(Exchange(2, "GET", "/api/jobs/retrieve", "id=1", b"", "jobs.retrieve", None, b"",
                        failure="Bad Gateway: refused"), [])
    assert ledger.failed("request")
    assert ledger.failed("response")
    assert ledger.failed("any")
    assert ledger.summary() == ("ucloud-jobs proxy: 2 calls, 1 request violations (the client's), 0 response "
                                "violations (drift), 1 upstream failures")
    assert ledger.render("text") == ("#1 POST /api/jobs/extend request: /items: required field is missing\n"
                                     "#2 GET /api/jobs/retrieve upstream: error: Bad Gateway: refused\n")
    junit = ledger.render("junit")
    assert 'testsuite name="ucloud-jobs proxy" tests="4" failures="1" errors="1"' in junit
    report = json.loads(ledger.render("json"))
    assert [entry["status"] for entry in report["files"]] == ["invalid", "valid", "valid", "error"]
    assert ledger.render("github").startswith("::error file=#1 POST /api/jobs/extend request,title=jobs.yaml::")


def test_a_ledger_with_only_response_findings_passes_fail_on_request() -> None:
    ledger = Ledger()
    ledger.add(Exchange(1, "GET", "/api/jobs/retrieve", "id=1", b"", "jobs.retrieve", 418, b"{}"),
               [Finding(1, "jobs.retrieve", "response", "", "answered 418")])
    assert not ledger.failed("request")
    assert ledger.failed("response")


# ---------------------------------------------------------------------------------------------- the hot path


@pytest.mark.parametrize(("body", "expected"), [
    (b' {"a": [1, 2.5, null]} ', (True, {"a": [1, 2.5, None]})),
    (b"[]", (True, [])),
    (b"", (False, None)),
    (b" \n ", (False, None)),
    (b'{"a": NaN}', (False, None)),
    (b"Infinity", (False, None)),
    (b'{"a": "\xff"}', (False, None)),
    (b'{"a": 1', (False, None)),
    (b"[" * 100_000 + b"]" * 100_000, (False, None)),
])
def test_a_body_is_json_only_as_one_utf8_document_without_constants(body: bytes, expected: tuple[bool, Any]) -> None:
    assert parse_json(body) == expected
    assert Exchange(1, "GET", "/", "", b"", None, 200, body).parsed() == expected


def test_an_exchange_parsed_already_is_not_parsed_again() -> None:
    call = Exchange(1, "GET", "/", "", b"", None, 200, b"not json", answer=(True, {"given": 1}))
    assert call.parsed() == (True, {"given": 1})


def test_a_repeated_query_is_decoded_once_and_a_bad_one_is_found_every_time() -> None:
    checker = TrafficChecker()
    operation = checker.contract.spec.operation("jobs.retrieve")
    first = checker.request_of(operation, retrieve(1, JOB))
    assert first == {"id": "62348"}
    assert checker.request_of(operation, retrieve(2, JOB)) is first
    bad = exchange(3, "GET", "/api/jobs/retrieve", query="includeProduct=false", status=400,
                   response={"why": "Bad Request"})
    for _ in range(2):
        assert [(finding.direction, finding.pointer) for finding in checker.check(bad)] == [
            ("request", "/id")]
    for number in range(600):  # a client asking for many jobs: the decoded queries kept stay bounded
        assert checker.request_of(operation, retrieve(4, {**JOB, "id": str(number)}))["id"] == str(number)
    assert len(checker._queries) == 512
    long = "id=1&" + "x" * 3000
    assert checker.request_of(operation, exchange(5, "GET", "/api/jobs/retrieve", query=long))["id"] == "1"
    assert all(key[1] != long for key in checker._queries)


def test_the_same_view_again_passes_but_a_change_or_an_extension_after_it_is_still_held() -> None:
    checker = TrafficChecker()
    assert checker.check(retrieve(1, JOB)) == []
    assert checker.check(retrieve(2, copy.deepcopy(JOB))) == []
    backwards = copy.deepcopy(JOB)
    backwards["status"]["state"] = "IN_QUEUE"
    assert "the job went from RUNNING to IN_QUEUE; RUNNING moves only to" in lines(
        checker.check(retrieve(3, backwards)))[0]
    again = TrafficChecker()
    again.check(retrieve(1, JOB))
    extend = {"items": [{"jobId": "62348", "requestedTime": {"hours": 1, "minutes": 0, "seconds": 0}}]}
    assert again.check(exchange(2, "POST", "/api/jobs/extend", request=extend, response={"responses": [{}]})) == []
    unmoved = again.check(retrieve(3, copy.deepcopy(JOB)))  # the same view as before the extension: it did not move
    assert [(finding.pointer, finding.check) for finding in unmoved] == [
        ("/status/expiresAt", "extend moves expiresAt by exactly the requested time")]


def test_the_ledger_keeps_calls_up_to_its_capacity_and_those_with_findings_up_to_twice_that() -> None:
    ledger = Ledger(capacity=2)
    for seq in range(1, 4):
        ledger.add(Exchange(seq, "GET", "/api/jobs/retrieve", "id=1", b"", "jobs.retrieve", 200, b"{}"), [])
    for seq in range(4, 8):
        ledger.add(Exchange(seq, "GET", "/api/jobs/retrieve", "id=1", b"", "jobs.retrieve", 418, b"{}"),
                   [Finding(seq, "jobs.retrieve", "response", "", "answered 418")])
    assert ledger.count("calls") == 7
    assert ledger.count("response") == 4
    assert ledger.summary().endswith("; 3 calls left out of the report")
    assert [entry["file"] for entry in json.loads(ledger.render("json"))["files"]] == [
        "#1 GET /api/jobs/retrieve request", "#1 GET /api/jobs/retrieve response",
        "#2 GET /api/jobs/retrieve request", "#2 GET /api/jobs/retrieve response",
        "#4 GET /api/jobs/retrieve request", "#4 GET /api/jobs/retrieve response",
        "#5 GET /api/jobs/retrieve request", "#5 GET /api/jobs/retrieve response"]


# ---------------------------------------------------------------------------------------------- the WebSocket


def test_a_clients_envelope_is_held_to_its_calls_schema() -> None:
    frames = FrameChecker()
    good = {"call": "jobs.follow", "streamId": "0", "payload": {"id": "62348"}, "bearer": "t", "project": None,
            "causedBy": None, "signedIntent": None}
    assert frames.request(1, json.dumps(good)) == ([], good)
    assert lines(frames.request(2, json.dumps({**good, "payload": {}}))[0]) == [
        "#2 jobs.follow request /payload/id: required field is missing"]
    assert lines(frames.request(3, json.dumps({**good, "call": "files.follow"}))[0]) == [
        "#3 - request /call: 'files.follow' is not a WebSocket call of the contract (it has jobs.follow)"]
    assert lines(frames.request(4, "{")[0]) == ["#4 - request /: the message is not JSON"]
    assert lines(frames.request(5, b"{}")[0]) == [
        "#5 - request /: a binary message; the contract's messages are text frames holding JSON"]


def test_a_frame_is_held_to_the_schema_of_its_type_and_its_status_to_those_the_spec_documents() -> None:
    frames = FrameChecker()
    first = {"type": "message", "streamId": "0", "payload": {"updates": [], "log": [], "newStatus": None}}
    assert frames.frame(1, "jobs.follow", json.dumps(first)) == []
    assert frames.frame(2, "jobs.follow", json.dumps(message("SUCCESS"))) == []
    assert frames.frame(2, "jobs.follow", json.dumps({"type": "response", "streamId": "0", "payload": {},
                                                      "status": 200})) == []
    refused = {"type": "response", "streamId": "1", "payload": {"why": "Unknown job", "errorCode": None}}
    assert frames.frame(3, "jobs.follow", json.dumps({**refused, "status": 404})) == []
    assert lines(frames.frame(4, "jobs.follow", json.dumps({**refused, "status": 302})))[0] == (
        "#4 jobs.follow response /status: ended the stream with 302, a status the contract does not document for "
        "jobs.follow (it documents 200, 400-599)")
    assert lines(frames.frame(5, None, json.dumps({**first, "payload": {"updates": "RUNNING"}}))) == [
        "#5 jobs.follow response /payload/updates: 'RUNNING' is not of type array or null"]


def message(state: str | None = None, updates: Sequence[str] = (), stream: str = "0") -> dict[str, Any]:
    """A message frame of jobs.follow: a new status and updates (each a state at the seed's time)."""
    status = None if state is None else {"state": state, "jobParametersJson": None, "startedAt": None,
                                         "expiresAt": None, "resolvedApplication": None, "resolvedSupport": None,
                                         "resolvedProduct": None, "allowRestart": False}
    return {"type": "message", "streamId": stream, "payload": {
        "updates": [{"timestamp": 1633329776235, "state": each, "status": None} for each in updates],
        "log": [], "newStatus": status}}


def test_a_frame_is_held_to_what_its_stream_sent_before() -> None:
    frames = FrameChecker()

    def found(*sent: dict[str, Any], connection: int = 0) -> list[str]:
        return [line for frame in sent for line in lines(frames.frame(1, "jobs.follow", json.dumps(frame),
                                                                      connection))]

    assert found(message("IN_QUEUE"), message("RUNNING", ["RUNNING"]), message("SUCCESS", ["SUCCESS"]),
                 {"type": "response", "streamId": "0", "payload": {}, "status": 200}) == []
    assert found(message("RUNNING", ["RUNNING"], stream="1")) == [
        "#1 jobs.follow response /payload: invariant 'the first message has no updates and no log': old history "
        "was re-sent"]
    assert found(message("RUNNING", stream="2"), message("IN_QUEUE", stream="2")) == [
        "#1 jobs.follow response /payload/newStatus/state: invariant 'statuses only move forward': RUNNING was "
        "followed by IN_QUEUE"]
    assert found(message("RUNNING", stream="2"), connection=1) == []  # another connection's stream 2
    assert len(found(message(stream="3"), message(None, ["RUNNING"], "3"), message(None, ["RUNNING"], "3"))) == 1
    assert found(message("RUNNING", stream="4"), {"type": "response", "streamId": "4", "payload": {},
                                                  "status": 200}) == [
        "#1 jobs.follow response /status: invariant 'the stream ends at a final state': it ended after RUNNING, "
        "and 0 frames followed"]
    assert len(found(message("SUCCESS", stream="0"))) == 1  # stream 0 ended with 200 above: nothing may follow


def test_the_ledger_counts_websocket_messages_beside_calls() -> None:
    ledger = Ledger()
    ledger.add_frame("#1 WS /api/jobs", "jobs.follow", "request", [])
    ledger.add_frame("#2 WS /api/jobs", "jobs.follow", "response",
                     [Finding(2, "jobs.follow", "response", "/status", "ended the stream with 302")])
    ledger.add_frame("#3 WS /api/jobs", "jobs.follow", "response", [], failure="Bad Gateway: refused")
    assert ledger.summary() == ("ucloud-jobs proxy: 0 calls and 3 WebSocket messages, 0 request violations (the "
                                "client's), 1 response violations (drift), 1 upstream failures")
    assert [(entry["file"], entry["status"]) for entry in json.loads(ledger.render("json"))["files"]] == [
        ("#1 WS /api/jobs request", "valid"), ("#2 WS /api/jobs response", "invalid"),
        ("#3 WS /api/jobs upstream", "error")]
