"""The admin API under /_mock/ (issue 3 §7): reset, clock, journal, faults, and who may use it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mockserver.web.admin import AdminPolicy
from tests.mockserver.support import (
    FIRST_ID,
    HOUR_MS,
    QUEUE_DELAY_MS,
    T0,
    ApiClient,
    AppFactory,
    duration,
    job_spec,
)

JSON = {"Content-Type": "application/json"}  # the admin API takes POST and DELETE calls as JSON only

# ---------------------------------------------------------------------------------------------- reset


def test_reset_forgets_every_job_and_restarts_the_scenario(make_app: AppFactory) -> None:
    client = ApiClient(make_app(profile="ucloud"))
    client.create(job_spec(), job_spec())
    client.advance(3 * HOUR_MS)
    client.post("/_mock/faults", {"faults": [{"operation": "jobs.browse", "latencyMs": 10}]})
    response = client.post("/_mock/reset", {})
    assert response.status_code == 200
    assert response.json == {"scenario": "extend-and-terminate", "profile": "ucloud", "era": "2021", "nowMs": T0,
                             "jobs": 0, "requests": 0, "script": {"played": 0, "steps": 0, "next": None}}
    assert client.get("/_mock/journal").json["entries"] == []
    assert client.get("/_mock/faults").json == {"faults": []}
    assert client.browse()["items"] == []
    job_id = client.create_job()
    assert job_id == str(FIRST_ID)  # ids start again
    assert client.retrieve(job_id)["permissions"] is not None  # the profile chosen at start is kept


def test_reset_takes_no_get(client: ApiClient) -> None:
    response = client.get("/_mock/reset")
    assert (response.status_code, response.headers["Allow"]) == (405, "POST")


def test_an_unknown_admin_path_is_a_json_404(client: ApiClient) -> None:
    assert client.get("/_mock/nothing").status_code == 404
    assert client.get("/_mock").status_code == 404


# ---------------------------------------------------------------------------------------------- clock


def test_the_clock_can_be_read_advanced_and_set(client: ApiClient) -> None:
    job_id = client.create_job()
    assert client.get("/_mock/clock").json == {"nowMs": T0}
    assert client.post("/_mock/clock", {"advanceMs": QUEUE_DELAY_MS}).json == {"nowMs": T0 + QUEUE_DELAY_MS}
    assert client.retrieve(job_id)["status"]["state"] == "RUNNING"
    expires_at = client.retrieve(job_id)["status"]["expiresAt"]
    assert client.post("/_mock/clock", {"setMs": expires_at}).json == {"nowMs": expires_at}
    assert client.retrieve(job_id)["status"]["state"] == "EXPIRED"


# ---------------------------------------------------------------------------------------------- journal


def test_the_journal_records_requests_and_answers(client: ApiClient) -> None:
    job_id = client.create_job()
    client.advance(QUEUE_DELAY_MS)
    client.get(f"/api/jobs/retrieve?id={job_id}&includeUpdates=true")
    client.get("/api/jobs/retrieve?id=1", token=None)
    journal = client.get("/_mock/journal").json
    assert (journal["recorded"], journal["dropped"]) == (3, 0)
    create, retrieve, refused = journal["entries"]
    assert (create["method"], create["path"], create["operation"], create["status"]) == (
        "POST", "/api/jobs", "jobs.create", 200)
    assert (create["user"], create["clockMs"]) == ("user", T0)
    assert create["request"]["items"][0]["application"] == {"name": "acme-web-application", "version": "1.0.0"}
    assert create["response"] == {"responses": [{"id": job_id}]}
    assert (create["requestBytes"], create["responseBytes"]) == (len(json.dumps(create["request"])),
                                                                 len(f'{{"responses":[{{"id":"{job_id}"}}]}}'))
    assert "requestText" not in create
    assert create["wallTime"].endswith("Z")
    assert (retrieve["query"], retrieve["clockMs"]) == (f"id={job_id}&includeUpdates=true", T0 + QUEUE_DELAY_MS)
    assert (retrieve["request"], retrieve["response"]["id"], retrieve["script"]) == (None, job_id, "no script")
    assert (refused["status"], refused["user"], refused["response"]) == (
        401, None, {"why": "Unauthorized", "errorCode": None})
    assert [entry["seq"] for entry in journal["entries"]] == [1, 2, 3]
    assert client.get("/_mock/journal?limit=1").json["entries"] == [refused]
    assert client.request("DELETE", "/_mock/journal", headers=JSON).json["entries"] == []
    assert client.get("/_mock/journal").json["recorded"] == 0


def test_the_journal_is_bounded(make_app: AppFactory) -> None:
    client = ApiClient(make_app(journal_size=5))
    job_id = client.create_job()
    for _ in range(7):
        client.retrieve(job_id)
    journal = client.get("/_mock/journal").json
    assert (journal["capacity"], journal["recorded"], journal["dropped"]) == (5, 8, 3)
    assert [entry["seq"] for entry in journal["entries"]] == [4, 5, 6, 7, 8]


def test_the_journal_clips_big_bodies(client: ApiClient) -> None:
    name = "x" * 200
    client.create(*[job_spec(name=name)] * 100)
    (entry,) = client.get("/_mock/journal").json["entries"]
    assert entry["request"] is None  # clipped, so no longer JSON: the text is kept instead
    assert len(entry["requestText"]) < 5000
    assert entry["requestText"].endswith(f"... ({entry['requestBytes']} bytes)")


def test_a_body_that_is_not_json_is_kept_as_text(client: ApiClient) -> None:
    client.request("POST", "/api/jobs", data=b"{not json")
    (entry,) = client.get("/_mock/journal").json["entries"]
    assert (entry["request"], entry["requestText"], entry["status"]) == (None, "{not json", 400)


@pytest.mark.parametrize("limit", ["-1", "many", "1.5"])
def test_a_bad_journal_limit_is_400(client: ApiClient, limit: str) -> None:
    assert client.get(f"/_mock/journal?limit={limit}").status_code == 400


# ---------------------------------------------------------------------------------------------- faults


class Sleeps:
    """Stands in for ``app.sleep``: records what it was asked to wait, and waits for nothing."""

    def __init__(self) -> None:
        self.seconds: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.seconds.append(seconds)


def test_latency_is_applied_through_app_sleep(client: ApiClient) -> None:
    sleeps = Sleeps()
    client.app.sleep = sleeps
    job_id = client.create_job()
    response = client.post("/_mock/faults", {"faults": [{"operation": "jobs.retrieve", "latencyMs": 250}]})
    assert response.json == {"faults": [{"operation": "jobs.retrieve", "status": None, "why": None,
                                         "latencyMs": 250, "times": None}]}
    assert client.retrieve(job_id)["id"] == job_id
    client.retrieve(job_id)
    client.browse()
    assert sleeps.seconds == [0.25, 0.25]


def test_a_forced_status_for_n_calls_then_normal_service(client: ApiClient) -> None:
    job_id = client.create_job()
    client.post("/_mock/faults", {"faults": [{"operation": "jobs.extend", "status": 503, "why": "Maintenance",
                                              "times": 2}]})
    before = client.snapshot()
    extend = [{"jobId": job_id, "requestedTime": duration(hours=1)}]
    for remaining in (1, 0):
        response = client.bulk("extend", extend)
        assert (response.status_code, response.json) == (503, {"why": "Maintenance", "errorCode": None})
        assert len(client.get("/_mock/faults").json["faults"]) == remaining
    assert client.snapshot() == before  # a forced error does not reach the engine
    assert client.bulk("extend", extend).status_code == 200
    assert client.retrieve(job_id)["status"]["expiresAt"] == T0 + 6 * HOUR_MS


def test_a_fault_for_every_operation_and_clearing_it(client: ApiClient) -> None:
    client.post("/_mock/faults", {"faults": [{"operation": "*", "status": 500}]})
    response = client.get("/api/jobs/browse")
    assert (response.status_code, response.json["why"]) == (500, "Internal Server Error")
    assert client.post("/api/jobs", {"items": [job_spec()]}).status_code == 500
    assert client.request("DELETE", "/_mock/faults", headers=JSON).json == {"faults": []}
    assert client.get("/api/jobs/browse").status_code == 200
    assert client.app.take_errors() == []  # a forced 500 is not a bug of the mock


def test_faults_can_come_from_the_scenario(make_app: AppFactory, tmp_path: Path) -> None:
    path = tmp_path / "flaky.yaml"
    path.write_text("name: flaky\nfaults:\n  - {operation: jobs.create, status: 502, times: 1}\n", encoding="utf-8")
    client = ApiClient(make_app(scenario=str(path)))
    assert client.post("/api/jobs", {"items": [job_spec()]}).status_code == 502
    assert client.create_job()
    client.post("/_mock/reset", {})  # the scenario's faults come back with it
    assert client.post("/api/jobs", {"items": [job_spec()]}).status_code == 502


@pytest.mark.parametrize(("faults", "named"), [
    ({"operation": "jobs.delete", "status": 503}, "unknown operation"),
    ({"operation": "jobs.retrieve", "status": 200}, "status"),
    ({"operation": "jobs.retrieve", "status": "503"}, "status"),
    ({"operation": "jobs.retrieve", "latencyMs": 60_001}, "latencyMs"),
    ({"operation": "jobs.retrieve", "latencyMs": -1}, "latencyMs"),
    ({"operation": "jobs.retrieve", "status": 503, "times": 0}, "times"),
    ({"operation": "jobs.retrieve", "status": 503, "why": 5}, "why"),
    ({"operation": "jobs.retrieve", "delay": 5}, "unknown keys delay"),
    (5, "faults[1] must be an object"),
])
def test_a_malformed_fault_is_400_and_changes_nothing(client: ApiClient, faults: object, named: str) -> None:
    client.post("/_mock/faults", {"faults": [{"operation": "jobs.search", "latencyMs": 1}]})
    before = client.get("/_mock/faults").json
    response = client.post("/_mock/faults", {"faults": [{"operation": "jobs.browse", "latencyMs": 1}, faults]})
    assert response.status_code == 400
    assert named in response.json["why"]
    assert client.get("/_mock/faults").json == before


# ---------------------------------------------------------------------------------------------- who may use it

ADMIN_CALLS = [("GET", "/_mock/clock", None), ("POST", "/_mock/clock", {"advanceMs": 1}),
               ("POST", "/_mock/reset", None), ("GET", "/_mock/journal", None), ("DELETE", "/_mock/journal", None),
               ("GET", "/_mock/scenario", None), ("POST", "/_mock/scenario", {"name": "extend-and-terminate"}),
               ("GET", "/_mock/faults", None), ("POST", "/_mock/faults", {"faults": []}),
               ("DELETE", "/_mock/faults", None), ("GET", "/_mock/health", None), ("GET", "/_mock/nothing", None)]
REMOTE = {"REMOTE_ADDR": "192.0.2.7"}


@pytest.mark.parametrize(("method", "path", "body"), ADMIN_CALLS)
def test_a_remote_client_is_refused(client: ApiClient, method: str, path: str, body: object) -> None:
    before = client.snapshot()
    options = {} if body is None else {"body": body}
    response = client.request(method, path, environ=REMOTE, **options)
    assert response.status_code == 403
    assert "loopback" in response.json["why"]
    assert client.snapshot() == before


@pytest.mark.parametrize("address", ["127.0.0.1", "127.8.9.10", "::1", ""])
def test_loopback_clients_are_admitted(client: ApiClient, address: str) -> None:
    assert client.get("/_mock/clock", environ={"REMOTE_ADDR": address}).status_code == 200


def test_the_api_itself_answers_remote_clients(client: ApiClient) -> None:
    assert client.get("/api/jobs/browse", environ=REMOTE).status_code == 200


def test_allow_remote_admits_everyone(make_app: AppFactory) -> None:
    client = ApiClient(make_app(admin=AdminPolicy(allow_remote=True)))
    assert client.post("/_mock/clock", {"advanceMs": 5}, environ=REMOTE).json == {"nowMs": T0 + 5}


def test_the_admin_token_admits_a_remote_client(make_app: AppFactory) -> None:
    client = ApiClient(make_app(admin=AdminPolicy(token="s3cret")))
    with_token = client.post("/_mock/clock", {"advanceMs": 5}, environ=REMOTE,
                             headers={"X-Mock-Admin-Token": "s3cret"})
    assert with_token.json == {"nowMs": T0 + 5}
    for headers in ({}, {"X-Mock-Admin-Token": "guess"}, {"X-Mock-Admin-Token": "s3cret "},
                    {"X-Mock-Admin-Token": "S3CRET"}, {"X-Mock-Admin-Token": "s3cr\u00e9t"}):
        response = client.post("/_mock/clock", {"advanceMs": 5}, environ=REMOTE, headers=headers)
        assert response.status_code == 403, headers
        assert "X-Mock-Admin-Token" in response.json["why"]
    assert client.now() == T0 + 5
    # A token opens the admin API to others; it does not close it to the machine the mock runs on.
    assert client.post("/_mock/clock", {"advanceMs": 5}).json == {"nowMs": T0 + 10}
