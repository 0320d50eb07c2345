"""The admin API's read calls behind the page at /_mock/ui: the jobs table, a job's timeline, what the clock will
bring, and the journal filtered and judged by the contract (issue 13). The page itself: tests/browser/."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from contracts.scenario import Offer, Scenario
from contracts.testing.transport import mock_token
from tests.mockserver.support import (
    FIRST_ID,
    HOUR_MS,
    QUEUE_DELAY_MS,
    SEED,
    T0,
    UNSCRIPTED,
    ApiClient,
    AppFactory,
    duration,
    job_spec,
)

ALICE, BOB = mock_token("alice"), mock_token("bob")


def _rows(client: ApiClient, query: str = "") -> dict[str, Any]:
    response = client.get("/_mock/jobs" + query)
    assert response.status_code == 200, response.get_data(as_text=True)
    result: dict[str, Any] = response.json
    return result


def _detail(client: ApiClient, job_id: str) -> dict[str, Any]:
    response = client.get(f"/_mock/job?id={job_id}")
    assert response.status_code == 200, response.get_data(as_text=True)
    result: dict[str, Any] = response.json
    return result


# ---------------------------------------------------------------------------------------------- the jobs table


def test_the_table_shows_every_users_jobs_newest_first_with_their_times(client: ApiClient) -> None:
    first = client.create_job(name="first")
    client.advance(1000)
    (second,) = ApiClient(client.app, token=ALICE).create(job_spec(timeAllocation=duration(hours=1)))
    table = _rows(client)
    assert [row["id"] for row in table["items"]] == [second, first]
    assert table["items"][0] == {
        "id": second, "name": None, "owner": "alice", "project": None,
        "application": {"name": "acme-web-application", "version": "1.0.0"},
        "product": {"id": "example-compute", "category": "example-compute", "provider": "example"},
        "state": "IN_QUEUE", "createdAt": T0 + 1000, "expiresAt": T0 + 1000 + HOUR_MS}
    assert table["items"][1]["name"] == "first"
    assert (table["total"], table["matched"], table["states"], table["owners"]) == (2, 2, {"IN_QUEUE": 2},
                                                                                    ["user", "alice"])


def test_the_table_filters_by_state_and_owner_and_pages(client: ApiClient) -> None:
    ids = client.create(*[job_spec() for _ in range(3)])
    client.advance(QUEUE_DELAY_MS)
    alices = ApiClient(client.app, token=ALICE).create(job_spec(), job_spec())
    client.act("terminate", ids[0])
    assert _rows(client)["states"] == {"SUCCESS": 1, "RUNNING": 2, "IN_QUEUE": 2}
    assert [row["id"] for row in _rows(client, "?state=RUNNING")["items"]] == [ids[2], ids[1]]
    assert [row["id"] for row in _rows(client, "?owner=alice")["items"]] == alices[::-1]
    assert _rows(client, "?owner=alice&state=RUNNING")["items"] == []
    page = _rows(client, "?offset=1&limit=2")
    assert ([row["id"] for row in page["items"]], page["matched"], page["offset"], page["limit"]) == \
        ([alices[0], ids[2]], 5, 1, 2)
    assert _rows(client, "?offset=99")["items"] == []
    assert _rows(client, "?owner=nobody")["matched"] == 0


@pytest.mark.parametrize(("query", "why"), [
    ("?state=RUNNIN", "unknown state 'RUNNIN'"),
    ("?limit=501", "limit must be at most 500"),
    ("?limit=-1", "limit must be a non-negative integer"),
    ("?offset=\u00b2", "offset must be a non-negative integer"),
])
def test_a_malformed_filter_is_a_400_that_says_why(client: ApiClient, query: str, why: str) -> None:
    response = client.get("/_mock/jobs" + query)
    assert response.status_code == 400
    assert why in response.json["why"]


def test_looking_plays_no_step_and_leaves_no_trace(make_app: AppFactory) -> None:
    client = ApiClient(make_app(scenario=SEED))
    client.create_job()  # plays step 1 of the seed
    before = client.get("/_mock/scenario").json
    for path in ("/_mock/jobs", f"/_mock/job?id={FIRST_ID}", "/_mock/timeline", "/_mock/journal?verdicts=true",
                 "/_mock/ui"):
        assert client._client.get(path).status_code == 200
    assert client.get("/_mock/scenario").json == before
    assert before["script"]["played"] == 1
    assert before["requests"] == 1
    assert [entry["operation"] for entry in client.get("/_mock/journal").json["entries"]] == ["jobs.create"]


# ---------------------------------------------------------------------------------------------- a job's timeline


def test_a_job_shows_its_history_and_what_the_clock_brings_next(client: ApiClient) -> None:
    job_id = client.create_job()
    detail = _detail(client, job_id)
    assert [(update["timestamp"], update["state"]) for update in detail["updates"]] == [(T0, "IN_QUEUE")]
    assert [(event["atMs"], event["kind"], event["state"]) for event in detail["upcoming"]] == \
        [(T0 + QUEUE_DELAY_MS, "queue", "RUNNING")]
    client.advance(QUEUE_DELAY_MS)
    client.extend(job_id, hours=1)
    detail = _detail(client, job_id)
    assert [update["state"] for update in detail["updates"]] == ["IN_QUEUE", "RUNNING"]
    expires = T0 + 6 * HOUR_MS  # docs profile: createdAt + 5 h, extended by an hour
    assert (detail["job"]["expiresAt"], detail["upcoming"]) == (expires, [
        {"atMs": expires, "kind": "expiry", "state": "EXPIRED", "status": None, "outputFolder": None, "log": None}])
    client.act("terminate", job_id)
    detail = _detail(client, job_id)
    assert (detail["job"]["state"], detail["upcoming"]) == ("SUCCESS", [])
    assert detail["updates"][-1]["status"] == "Your job has been cancelled!"


SCRIPTED = Scenario.from_mapping({
    "name": "looked-at", "clock": {"start": T0}, "ids": {"first": 7}, "queueDelay": "5s",
    "projects": {"lab": {"pi": "pi", "admins": ["boss"], "members": ["alice", "bob"], "groups": {"team": ["bob"]}}},
    "events": [{"job": 1, "after": "30s", "log": {"rank": 0, "stdout": "step 1 of 2\n"}},
               {"job": 1, "after": "90s", "state": "FAILURE", "status": "The node failed",
                "outputFolder": "/home/out"}],
})


def test_scripted_provider_events_and_the_log_are_on_the_timeline(make_app: AppFactory) -> None:
    client = ApiClient(make_app(scenario=SCRIPTED))
    job_id = client.create_job()
    assert [(event["atMs"] - T0, event["kind"]) for event in _detail(client, job_id)["upcoming"]] == \
        [(5_000, "queue"), (30_000, "log"), (90_000, "provider")]
    client.advance(60_000)
    detail = _detail(client, job_id)
    assert detail["log"] == [{"timestamp": T0 + 30_000, "rank": 0, "stdout": "step 1 of 2\n", "stderr": None}]
    assert detail["logFollowed"] is True
    provider, expiry = detail["upcoming"]
    assert provider == {"atMs": T0 + 90_000, "kind": "provider", "state": "FAILURE", "status": "The node failed",
                        "outputFolder": "/home/out", "log": None}
    assert (expiry["kind"], expiry["atMs"]) == ("expiry", T0 + 5 * HOUR_MS)
    client.advance(60_000)
    detail = _detail(client, job_id)
    assert (detail["job"]["state"], detail["outputFolder"], detail["upcoming"]) == ("FAILURE", "/home/out", [])


LOGGED = [{"job": 1, "after": "10s", "log": {"rank": 0, "stdout": "step 1\n"}},
          {"job": 1, "after": "20s", "log": {"rank": 1, "stderr": "warning\n"}},
          {"job": 1, "after": "30s", "log": {"rank": 0, "stdout": "step 2\n", "stderr": "done\n"}}]
QUIET = Offer(id="quiet", category="quiet", provider="example", description="no logs", cpu=1, memory_in_gigs=1,
              gpu=0, price_per_unit=1, free_to_use=True, support={"docker": {"enabled": True}})


def test_the_timeline_shows_the_log_jobs_follow_sends(make_app: AppFactory) -> None:
    app = make_app(scenario=Scenario.from_mapping({"name": "logged", "clock": {"start": T0}, "ids": {"first": 7},
                                                   "queueDelay": "5s", "events": LOGGED}))
    client = ApiClient(app)
    job_id = client.create_job()
    stream = app.follow(job_id)
    for elapsed in (15_000, 10_000, 10_000):
        app.control.advance(elapsed)
        followed = [chunk for frame in stream if frame["type"] == "message" for chunk in frame["payload"]["log"]]
        shown = _detail(client, job_id)["log"]
        assert followed, "each advance brings one chunk"
        assert [{key: chunk[key] for key in ("rank", "stdout", "stderr")} for chunk in shown[-len(followed):]] == \
            followed
    assert [(chunk["timestamp"] - T0, chunk["rank"]) for chunk in shown] == [(10_000, 0), (20_000, 1), (30_000, 0)]
    assert _detail(client, job_id)["logFollowed"] is True


def test_the_timeline_says_when_jobs_follow_sends_no_log(make_app: AppFactory) -> None:
    app = make_app(scenario=dataclasses.replace(UNSCRIPTED, events=Scenario.from_mapping(
        {"name": "logged", "events": LOGGED}).events, products=(QUIET,)))
    client = ApiClient(app)
    job_id = client.create_job(product={"id": "quiet", "category": "quiet", "provider": "example"})
    stream = app.follow(job_id)
    app.control.advance(HOUR_MS)
    assert all(frame["payload"]["log"] == [] for frame in stream if frame["type"] == "message")
    detail = _detail(client, job_id)
    assert (len(detail["log"]), detail["logFollowed"]) == (3, False)


def test_a_project_jobs_permissions_name_each_person_and_role(make_app: AppFactory) -> None:
    client = ApiClient(make_app(scenario=SCRIPTED), token=ALICE, project="lab")
    job_id = client.create_job()
    granted = client.post("/api/jobs/updateAcl", {"items": [{"id": job_id, "added": [
        {"entity": {"type": "project_group", "projectId": "lab", "group": "team"}, "permissions": ["READ"]}],
        "deleted": []}]}, token=mock_token("pi"))
    assert granted.status_code == 200
    detail = _detail(client, job_id)
    assert {person["user"]: (person["role"], person["permissions"]) for person in detail["permissions"]} == {
        "alice": ("USER", ["READ", "EDIT"]), "pi": ("PI", ["ADMIN", "READ", "EDIT"]),
        "boss": ("ADMIN", ["ADMIN", "READ", "EDIT"]), "bob": ("USER", ["READ"])}
    assert [person["user"] for person in detail["permissions"] if person["creator"]] == ["alice"]
    assert len(detail["acl"]) == 2


def test_an_unknown_job_is_a_404_and_a_missing_id_a_400(client: ApiClient) -> None:
    missing = client.get("/_mock/job?id=404404")
    assert (missing.status_code, missing.json) == (404, {"why": "Unknown job", "errorCode": None})
    assert client.get("/_mock/job").status_code == 400


# ---------------------------------------------------------------------------------------------- the clock's timeline


def test_the_timeline_lists_the_next_events_and_the_scripts_next_step(make_app: AppFactory) -> None:
    client = ApiClient(make_app(scenario=SEED))
    client.create_job()  # step 1
    timeline = client.get("/_mock/timeline").json
    assert timeline["nowMs"] == T0
    assert [(event["atMs"], event["jobId"], event["kind"]) for event in timeline["upcoming"]] == \
        [(T0 + QUEUE_DELAY_MS, str(FIRST_ID), "queue")]
    assert timeline["nextStep"] == {"step": 2, "call": "jobs.retrieve", "atMs": T0 + QUEUE_DELAY_MS,
                                    "note": "The Job is running; it expires 5 hours after its creation."}


def test_the_timeline_walks_many_jobs_in_order_and_skips_ended_ones(make_app: AppFactory) -> None:
    world = dataclasses.replace(UNSCRIPTED, queue_delay_ms=0)
    client = ApiClient(make_app(scenario=world))
    ids = []
    for hours in (7, 3, 5, 1, 9, 2):
        ids += client.create(job_spec(timeAllocation=duration(hours=hours)))
    client.act("terminate", ids[3])  # the one that would expire first
    events = client.get("/_mock/timeline?limit=3").json["upcoming"]
    assert [(event["jobId"], event["atMs"] - T0) for event in events] == \
        [(ids[5], 2 * HOUR_MS), (ids[1], 3 * HOUR_MS), (ids[2], 5 * HOUR_MS)]
    assert len(client.get("/_mock/timeline?limit=100").json["upcoming"]) == 5


# ---------------------------------------------------------------------------------------------- the journal


def _journal(client: ApiClient, query: str) -> dict[str, Any]:
    response = client.get("/_mock/journal" + query)
    assert response.status_code == 200, response.get_data(as_text=True)
    result: dict[str, Any] = response.json
    return result


def test_the_journal_filters_by_operation_status_and_age(client: ApiClient) -> None:
    job_id = client.create_job()
    client.retrieve(job_id)
    client.get("/api/jobs/retrieve?id=404")
    client.get("/api/nothing")
    client.post("/api/jobs", {"items": []})
    assert [entry["seq"] for entry in _journal(client, "?operation=jobs.retrieve")["entries"]] == [2, 3]
    assert [entry["seq"] for entry in _journal(client, "?status=4xx")["entries"]] == [3, 4, 5]
    assert [entry["seq"] for entry in _journal(client, "?status=404&operation=-")["entries"]] == [4]
    selected = _journal(client, "?status=4xx&before=5&limit=1")
    assert ([entry["seq"] for entry in selected["entries"]], selected["matched"], selected["recorded"]) == ([4], 2, 5)
    for query, why in (("?operation=jobs.retreive", "unknown operation"), ("?status=44", "status must be"),
                       ("?status=6xx", "status must be"), ("?before=x", "before must be")):
        response = client.get("/_mock/journal" + query)
        assert (response.status_code, why in response.json["why"]) == (400, True), query


def test_each_exchange_has_the_contracts_verdict(client: ApiClient) -> None:
    job_id = client.create_job()
    client.retrieve(job_id)
    client.bulk("extend", [{"jobId": job_id, "requestedTime": {"hours": -1, "minutes": 0, "seconds": 0}}])
    client.get("/api/jobs/retrieve?includeUpdates=true")  # no id
    client.post("/api/jobs/terminate", data=b"{not json", headers={"Content-Type": "application/json"})
    client.get("/api/nothing")
    verdicts = [entry["verdict"] for entry in _journal(client, "?verdicts=true")["entries"]]
    assert [verdict["valid"] for verdict in verdicts] == [True, True, False, False, False, False]
    assert verdicts[1]["request"] == {"checked": True, "valid": True, "note": None, "violations": []}
    (extend,) = verdicts[2]["request"]["violations"]
    assert (extend["pointer"], extend["message"]) == ("/items/0/requestedTime/hours",
                                                      "-1 is less than the minimum of 0")
    assert verdicts[2]["response"]["valid"] is True  # the mock's 400 is what the contract documents
    assert [(v["pointer"], v["message"]) for v in verdicts[3]["request"]["violations"]] == \
        [("/id", "required query parameter is missing")]
    assert verdicts[4]["request"]["violations"][0]["message"] == "the request body is not JSON"
    assert verdicts[5]["request"]["violations"][0]["message"] == "GET /api/nothing is no operation of the contract"
    assert "verdict" not in _journal(client, "")["entries"][0]


def test_an_answer_that_breaks_the_contract_is_named(client: ApiClient) -> None:
    # The mock's own answers keep the contract; an entry recorded by hand shows that the verdict can say no.
    client.app.journal.record(clock_ms=T0, wall_ms=0, method="GET", path="/api/jobs/retrieve", query="id=1",
                              operation="jobs.retrieve", user="user", status=200, request=b"",
                              response=b'{"id": 1, "updates": "none"}')
    client.app.journal.record(clock_ms=T0, wall_ms=0, method="POST", path="/api/jobs", query="",
                              operation="jobs.create", user="user", status=200, request=b'{"items": []}' + b" " * 5000,
                              response=b'{"responses": []}')
    judged, clipped = (entry["verdict"] for entry in _journal(client, "?verdicts=true")["entries"])
    assert judged["valid"] is False
    assert judged["request"]["valid"] is True
    assert {"/id", "/updates"} <= {violation["pointer"] for violation in judged["response"]["violations"]}
    assert clipped["request"] == {"checked": False, "valid": None, "violations": [],
                                  "note": "the body (5013 bytes) is clipped in the journal"}
    assert clipped["valid"] is True
