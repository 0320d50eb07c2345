"""The rest of the end-user Jobs API (REFERENCE.md §2): interactive sessions, products, utilization, updateAcl,
init; the product catalogue and its support; jobs that exist before the flow; ids and provider events from the
scenario; and the answer to calls of other UCloud APIs."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from contracts.scenario import PresetJob, PresetUpdate, Project, ProviderEvent, Sessions
from tests.mockserver.support import (
    BULK_NOT_FOUND,
    FIRST_ID,
    QUEUE_DELAY_MS,
    SECOND_MS,
    T0,
    ApiClient,
    AppFactory,
    job_spec,
    offer,
    world,
)

PLAIN = {"id": "plain", "category": "plain", "provider": "other"}  # supports containers and nothing more
NOT_SUPPORTED = "FEATURE_NOT_SUPPORTED_BY_PROVIDER"


@pytest.fixture
def mock(make_app: AppFactory, profile: str) -> ApiClient:
    scenario = dataclasses.replace(world(), products=(*world().products, offer(PLAIN, docker={"enabled": True})))
    return ApiClient(make_app(profile=profile, scenario=scenario))


def session(client: ApiClient, job_id: str, kind: str, rank: int = 0) -> Any:
    return client.post("/api/jobs/interactiveSession", {"items": [{"id": job_id, "rank": rank, "sessionType": kind}]})


# ---------------------------------------------------------------------------------------------- sessions

def test_sessions_are_deterministic_and_numbered(mock: ApiClient) -> None:
    job_id = mock.create_job(replicas=2)
    mock.advance(QUEUE_DELAY_MS)
    answers = [session(mock, job_id, kind, rank) for kind, rank in (("WEB", 0), ("VNC", 1), ("SHELL", 1))]
    assert [answer.status_code for answer in answers] == [200, 200, 200]
    web, vnc, shell = (answer.json["responses"][0] for answer in answers)
    assert web == {"providerDomain": "https://provider.example.com", "providerId": "example",
                   "session": {"type": "web", "jobId": job_id, "rank": 0, "domainOverride": None,
                               "redirectClientTo": f"https://app-{job_id}-0.provider.example.com/"}}
    assert vnc["session"] == {"type": "vnc", "jobId": job_id, "rank": 1, "domainOverride": None,
                              "url": f"wss://provider.example.com/vnc/{job_id}/1", "password": f"vnc-{job_id}-1-2"}
    assert shell["session"]["sessionIdentifier"] == f"shell-{job_id}-1-3"


def test_session_templates_come_from_the_scenario(make_app: AppFactory) -> None:
    sessions = Sessions(provider_domain="https://hpc.example.org", web="https://{job}.apps.example.org/{n}",
                        vnc="vnc://{job}:{rank}", password=None, shell="{job}/{rank}")
    client = ApiClient(make_app(scenario=world(sessions=sessions)))
    job_id = client.create_job()
    client.advance(QUEUE_DELAY_MS)
    web = session(client, job_id, "WEB").json["responses"][0]
    assert (web["providerDomain"], web["session"]["redirectClientTo"]) == (
        "https://hpc.example.org", f"https://{job_id}.apps.example.org/1")
    assert session(client, job_id, "VNC").json["responses"][0]["session"]["password"] is None


@pytest.mark.parametrize(("kind", "rank", "state", "why"), [
    ("WEB", 0, "IN_QUEUE", "Job {job} is not running"),
    ("WEB", 1, "RUNNING", "Job {job} has no rank 1 (ranks 0 to 0)"),
])
def test_a_session_needs_a_running_job_and_a_real_rank(mock: ApiClient, kind: str, rank: int, state: str,
                                                       why: str) -> None:
    job_id = mock.create_job()
    if state == "RUNNING":
        mock.advance(QUEUE_DELAY_MS)
    answer = session(mock, job_id, kind, rank)
    assert (answer.status_code, answer.json) == (400, {"why": why.format(job=job_id), "errorCode": None})


@pytest.mark.parametrize(("kind", "feature"), [("WEB", "web"), ("VNC", "vnc"), ("SHELL", "terminal")])
def test_a_session_the_product_does_not_support_is_refused(mock: ApiClient, kind: str, feature: str) -> None:
    job_id = mock.create_job(product=PLAIN)
    mock.advance(QUEUE_DELAY_MS)
    answer = session(mock, job_id, kind)
    assert (answer.status_code, answer.json) == (400, {"why": f"This job does not support {feature} sessions",
                                                       "errorCode": NOT_SUPPORTED})


def test_a_session_on_a_job_one_cannot_edit_is_not_found(mock: ApiClient) -> None:
    job_id = mock.create_job()
    mock.advance(QUEUE_DELAY_MS)
    stranger = ApiClient(mock.app, token=mock_token("stranger"))
    answer = session(stranger, job_id, "WEB")
    assert (answer.status_code, answer.json["why"]) == (404, BULK_NOT_FOUND)


# ---------------------------------------------------------------------------------------------- products

def test_the_default_catalogue_is_the_documentations_example_products(make_app: AppFactory) -> None:
    client = ApiClient(make_app())
    catalogue = client.get("/api/jobs/retrieveProducts").json["productsByProvider"]
    assert list(catalogue) == ["example"]
    assert [entry["product"]["name"] for entry in catalogue["example"]] == [
        "example-compute", "example-compute-1", "example-compute-2"]
    seed = catalogue["example"][0]
    assert (seed["product"]["cpu"], seed["product"]["memoryInGigs"], seed["product"]["description"]) == (
        10, 20, "An example compute product")  # reference/products_browse.md
    assert seed["support"]["docker"]["timeExtension"] is True


def test_a_product_outside_the_catalogue_is_refused_and_nothing_is_created(mock: ApiClient) -> None:
    before = mock.snapshot()
    answer = mock.post("/api/jobs", {"items": [job_spec(), job_spec(product={"id": "x", "category": "y",
                                                                               "provider": "z"})]})
    assert (answer.status_code, answer.json) == (400, {"why": "x / y is not supported by the provider z",
                                                       "errorCode": None})
    assert mock.snapshot() == before


@pytest.mark.parametrize(("call", "body"), [
    ("extend", lambda job: {"items": [{"jobId": job, "requestedTime": {"hours": 1, "minutes": 0, "seconds": 0}}]}),
    ("suspend", lambda job: {"items": [{"id": job}]}),
])
def test_a_call_the_product_does_not_support_is_refused_whole(mock: ApiClient, call: str, body: Any,
                                                              profile: str) -> None:
    supported, plain = mock.create_job(), mock.create_job(product=PLAIN)
    mock.advance(QUEUE_DELAY_MS)
    before = mock.snapshot()
    answer = mock.post(f"/api/jobs/{call}", {"items": body(supported)["items"] + body(plain)["items"]})
    assert answer.status_code == 400
    assert answer.json["errorCode"] == NOT_SUPPORTED
    assert mock.snapshot() == before


def test_utilization_counts_the_providers_running_and_waiting_jobs(mock: ApiClient) -> None:
    first = mock.create_job(replicas=2)
    mock.advance(QUEUE_DELAY_MS)
    mock.create_job()
    mock.create_job(product=PLAIN)
    report = mock.get(f"/api/jobs/retrieveUtilization?jobId={first}").json
    assert report == {"capacity": {"cpu": 1000.0, "memory": 4000 * 2**30},
                      "usedCapacity": {"cpu": 20.0, "memory": 2 * 20 * 2**30},
                      "queueStatus": {"running": 1, "pending": 1}}
    plain = mock.create_job(product=PLAIN)
    assert mock.get(f"/api/jobs/retrieveUtilization?jobId={plain}").json["errorCode"] == NOT_SUPPORTED
    assert mock.get("/api/jobs/retrieveUtilization?jobId=nope").status_code == 404


def test_init_is_accepted_and_does_nothing(mock: ApiClient) -> None:
    before = mock.snapshot()
    assert (mock.post("/api/jobs/init", {}).status_code, mock.post("/api/jobs/init", {}).json) == (200, {})
    assert mock.request("POST", "/api/jobs/init", data=b"").status_code == 200
    assert mock.post("/api/jobs/init", [1]).status_code == 400
    assert mock.snapshot() == before


# ---------------------------------------------------------------------------------------------- updateAcl

TEAM = {"p": Project(id="p", pi="pi", admins=("admin",), members=("ann", "ben"), groups={"team": ("ann",)})}


@pytest.fixture
def team(make_app: AppFactory) -> dict[str, ApiClient]:
    app = make_app(profile="ucloud", scenario=world(projects=TEAM))
    return {name: ApiClient(app, token=mock_token(name), project="p") for name in ("pi", "admin", "ann", "ben")}


def test_a_group_grant_reaches_its_members_only(team: dict[str, ApiClient]) -> None:
    job_id = team["ben"].create_job()  # a member creates: ben is in its ACL with READ and EDIT
    group = {"type": "project_group", "projectId": "p", "group": "team"}
    assert team["ann"].get(f"/api/jobs/retrieve?id={job_id}").status_code == 404
    assert team["admin"].post("/api/jobs/updateAcl", {"items": [{"id": job_id, "added": [
        {"entity": group, "permissions": ["READ"]}], "deleted": []}]}).status_code == 200
    seen = team["ann"].retrieve(job_id, includeOthers=True)
    assert seen["permissions"]["myself"] == ["READ"]
    assert seen["permissions"]["others"] == [
        {"entity": {"type": "user", "username": "ben"}, "permissions": ["READ", "EDIT"]},
        {"entity": group, "permissions": ["READ"]}]
    assert team["pi"].retrieve(job_id)["permissions"]["myself"] == ["ADMIN", "READ", "EDIT"]


def test_update_acl_skips_what_the_caller_cannot_administer(team: dict[str, ApiClient]) -> None:
    mine, theirs = team["ben"].create_job(), team["pi"].create_job()
    ann = {"type": "user", "username": "ann"}
    grant = {"entity": ann, "permissions": ["READ"]}
    # ben may not administer either job (members get READ and EDIT, never ADMIN): nothing applies, 404.
    answer = team["ben"].post("/api/jobs/updateAcl", {"items": [{"id": mine, "added": [grant], "deleted": []}]})
    assert (answer.status_code, answer.json["why"]) == (404, BULK_NOT_FOUND)
    # the admin's request names a job that does not exist beside one that does: the real one is applied.
    answer = team["admin"].post("/api/jobs/updateAcl", {"items": [{"id": "nope", "added": [grant], "deleted": []},
                                                                   {"id": theirs, "added": [grant], "deleted": []}]})
    assert (answer.status_code, answer.json) == (200, {"responses": [{}, {}]})
    assert team["ann"].retrieve(theirs)["permissions"]["myself"] == ["READ"]


def test_an_acl_cannot_grant_admin(team: dict[str, ApiClient]) -> None:
    job_id = team["pi"].create_job()
    answer = team["pi"].post("/api/jobs/updateAcl", {"items": [{"id": job_id, "added": [
        {"entity": {"type": "user", "username": "ann"}, "permissions": ["ADMIN"]}], "deleted": []}]})
    assert (answer.status_code, answer.json["why"]) == (400, "An ACL entry can grant only READ and EDIT, not ADMIN")


# ---------------------------------------------------------------------------------------------- scenario data

def test_jobs_that_exist_before_the_flow_with_their_history(make_app: AppFactory) -> None:
    preset = PresetJob(id="4100", user="user", project=None, created_at=T0 - 60 * SECOND_MS,
                       specification=job_spec(), updates=(PresetUpdate(5 * SECOND_MS, "RUNNING", "Started early"),
                                                          PresetUpdate(10 * SECOND_MS, None, None, "/home/out")))
    client = ApiClient(make_app(profile="ucloud", scenario=world(jobs=(preset,))))
    job = client.retrieve("4100", includeUpdates=True)
    assert (job["status"]["state"], job["createdAt"], job["output"]) == ("RUNNING", T0 - 60 * SECOND_MS,
                                                                         {"outputFolder": "/home/out"})
    assert [(u["state"], u["status"], u["outputFolder"], u["timestamp"]) for u in job["updates"]] == [
        ("IN_QUEUE", "Your job is now waiting in the queue!", None, T0 - 60 * SECOND_MS),
        ("RUNNING", "Started early", None, T0 - 55 * SECOND_MS),
        (None, None, "/home/out", T0 - 50 * SECOND_MS)]
    assert client.create_job() == str(FIRST_ID)  # the counter skips nothing it does not have to


def test_ids_from_a_sequence_then_the_counter_and_events_by_id(make_app: AppFactory) -> None:
    events = (ProviderEvent(after_ms=30 * SECOND_MS, job="4150", state="FAILURE", status="Out of credits"),)
    scenario = world(id_sequence=("4101", "4150"), events=events)
    client = ApiClient(make_app(scenario=scenario))
    assert [client.create_job(), client.create_job(), client.create_job()] == ["4101", "4150", str(FIRST_ID)]
    client.advance(30 * SECOND_MS)
    assert client.retrieve("4150")["updates"][-1]["status"] == "Out of credits"
    assert client.retrieve("4101")["status"]["state"] == "RUNNING"


def test_a_call_of_another_ucloud_api_is_named_as_such(mock: ApiClient) -> None:
    for path in ("/api/products/browse", "/api/accounting/wallets/browse", "/api/files/browse", "/api/ingresses"):
        answer = mock.get(path)
        assert answer.status_code == 404, path
        assert answer.json["why"] == (f"Not Found: {path} is not a call of the Jobs API; this mock serves UCloud's "
                                      "Jobs API only (/api/jobs/...), not wallets, applications, products, files "
                                      "or other APIs")
    assert mock.get("/api/jobs/nope").json["why"] == "Not Found"


def mock_token(name: str) -> str:
    from contracts.testing.transport import mock_token as token  # noqa: PLC0415

    return token(name)
