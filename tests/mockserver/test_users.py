"""Users and workspaces (issue 3 §6): who a token is, which tokens are accepted, and who sees which job."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from contracts.scenario import Project
from tests.mockserver.support import BULK_NOT_FOUND, QUEUE_DELAY_MS, ApiClient, AppFactory, duration, job_spec, world


def _b64(document: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(document).encode()).rstrip(b"=").decode()


def unsigned_jwt(**claims: Any) -> str:
    """A JWT as UCloud issues them, minus a real signature (the mock does not check it)."""
    return ".".join((_b64({"alg": "RS256", "typ": "JWT"}), _b64({"iss": "cloud.sdu.dk", **claims}), "c2lnbmF0dXJl"))


def owner(client: ApiClient) -> dict[str, Any]:
    owned: dict[str, Any] = client.retrieve(client.create_job())["owner"]
    return owned


# ---------------------------------------------------------------------------------------------- no --user


@pytest.mark.parametrize(("token", "username"), [
    ("anything", "user"),
    ("uc-api-token-123", "user"),
    ("a.b", "user"),  # not three parts: not a JWT
    (unsigned_jwt(sub="alice", role="USER"), "alice"),
    (unsigned_jwt(sub="bob@example.org#1234"), "bob@example.org#1234"),
])
def test_without_users_any_non_empty_token_is_accepted(make_app: AppFactory, token: str, username: str) -> None:
    assert owner(ApiClient(make_app(), token=token)) == {"createdBy": username, "project": None}


@pytest.mark.parametrize("token", [
    unsigned_jwt(role="USER"),  # no sub
    unsigned_jwt(sub=5),
    unsigned_jwt(sub="  "),
    "a.b.c",  # shaped like a JWT, but its payload is not base64url JSON
    "x." + _b64(["sub"]) + ".y",
])
def test_without_users_a_jwt_without_a_usable_sub_is_401(make_app: AppFactory, token: str) -> None:
    response = ApiClient(make_app(), token=token).get("/api/jobs/browse")
    assert (response.status_code, response.json["why"]) == (401, "Unauthorized")


def test_the_bearer_scheme_is_matched_ignoring_case(make_app: AppFactory) -> None:
    client = ApiClient(make_app(), token=None)
    jwt = unsigned_jwt(sub="carol")
    response = client.post("/api/jobs", {"items": [job_spec()]}, headers={"Authorization": f"bearer {jwt}"})
    assert response.status_code == 200
    job_id = response.json["responses"][0]["id"]
    assert ApiClient(client.app, token=jwt).retrieve(job_id)["owner"]["createdBy"] == "carol"


# ---------------------------------------------------------------------------------------------- with --user


@pytest.fixture
def configured(make_app: AppFactory) -> ApiClient:
    return ApiClient(make_app(users={"t1": "alice", "t2": "bob"}), token="t1")


def test_with_users_a_listed_token_is_its_user(configured: ApiClient) -> None:
    assert owner(configured)["createdBy"] == "alice"
    configured.token = "t2"
    assert owner(configured)["createdBy"] == "bob"


@pytest.mark.parametrize("token", ["t3", "T1", "t1x", unsigned_jwt(sub="alice"), "alice", "user"])
def test_with_users_any_other_token_is_401(configured: ApiClient, token: str) -> None:
    for response in (configured.post("/api/jobs", {"items": [job_spec()]}, token=token),
                     configured.get("/api/jobs/browse", token=token)):
        assert response.status_code == 401
        assert response.json["why"] == "Unauthorized"
    assert configured.browse()["items"] == []


# ---------------------------------------------------------------------------------------------- isolation


@pytest.fixture
def alice_and_bob(make_app: AppFactory, profile: str) -> tuple[ApiClient, ApiClient]:
    app = make_app(profile=profile, users={"t1": "alice", "t2": "bob"})
    return ApiClient(app, token="t1"), ApiClient(app, token="t2")


def test_a_user_cannot_see_or_touch_anothers_job(alice_and_bob: tuple[ApiClient, ApiClient]) -> None:
    alice, bob = alice_and_bob
    bobs = bob.create_job(name="bobs")
    mine = alice.create_job(name="mine")
    alice.advance(QUEUE_DELAY_MS)
    before = bob.snapshot()
    mine_before = alice.retrieve(mine, includeUpdates=True)

    response = alice.get(f"/api/jobs/retrieve?id={bobs}")
    assert (response.status_code, response.json["why"]) == (404, "Unknown job")
    attempts = [("extend", [{"jobId": bobs, "requestedTime": duration(hours=1)}]),
                ("extend", [{"jobId": mine, "requestedTime": duration(hours=1)},
                            {"jobId": bobs, "requestedTime": duration(hours=1)}]),
                ("terminate", [{"id": bobs}]), ("terminate", [{"id": mine}, {"id": bobs}]),
                ("suspend", [{"id": bobs}]), ("unsuspend", [{"id": bobs}])]
    for operation, items in attempts:
        response = alice.bulk(operation, items)
        assert (response.status_code, response.json["why"]) == (404, BULK_NOT_FOUND), operation

    assert [job["id"] for job in alice.browse()["items"]] == [mine]
    assert alice.post("/api/jobs/search", {"query": "bobs", "flags": {}}).json["items"] == []
    assert alice.post("/api/jobs/search", {"query": bobs, "flags": {}}).json["items"] == []
    assert bob.snapshot() == before
    assert alice.retrieve(mine, includeUpdates=True) == mine_before  # the mixed bulks did not touch hers either


RESEARCH = {"research": Project(id="research", pi="alice", members=("bob",), groups={"team": ("bob",)})}


@pytest.fixture
def project_members(make_app: AppFactory, profile: str) -> tuple[ApiClient, ApiClient]:
    """alice, the PI of the project research, and bob, a member of it."""
    app = make_app(profile=profile, scenario=world(projects=RESEARCH), users={"t1": "alice", "t2": "bob"})
    return ApiClient(app, token="t1"), ApiClient(app, token="t2")


def grant(client: ApiClient, job_id: str, *permissions: str, user: str = "bob") -> None:
    """alice grants (or, with no permissions, revokes) ``user``'s access to a job."""
    entity = {"type": "user", "username": user}
    added = [{"entity": entity, "permissions": list(permissions)}] if permissions else []
    response = client.post("/api/jobs/updateAcl", {"items": [{"id": job_id, "added": added,
                                                               "deleted": [] if permissions else [entity]}]})
    assert response.status_code == 200, response.json


def test_the_project_header_sets_the_owners_project_and_scopes_visibility(
        project_members: tuple[ApiClient, ApiClient]) -> None:
    alice, _ = project_members
    personal = alice.create_job()
    alice.project = "research"
    shared = alice.create_job()
    assert alice.retrieve(shared)["owner"] == {"createdBy": "alice", "project": "research"}
    assert [job["id"] for job in alice.browse()["items"]] == [shared]
    assert alice.get(f"/api/jobs/retrieve?id={personal}").status_code == 404
    alice.project = None
    assert [job["id"] for job in alice.browse()["items"]] == [personal]
    assert alice.get(f"/api/jobs/retrieve?id={shared}").status_code == 404


def test_a_member_gets_what_the_acl_grants_and_loses_it_at_once(project_members: tuple[ApiClient, ApiClient]) -> None:
    alice, bob = project_members
    alice.project = bob.project = "research"
    shared = alice.create_job()
    assert bob.browse()["items"] == []  # a member without a grant does not see the PI's job
    assert bob.get(f"/api/jobs/retrieve?id={shared}").status_code == 404
    grant(alice, shared, "READ")
    assert [job["id"] for job in bob.browse()["items"]] == [shared]
    before = alice.retrieve(shared, includeUpdates=True)
    assert bob.bulk("terminate", [{"id": shared}]).status_code == 404  # READ without EDIT changes nothing
    assert alice.retrieve(shared, includeUpdates=True) == before
    grant(alice, shared, "EDIT")
    bob.act("terminate", shared)
    assert alice.retrieve(shared)["status"]["state"] == "SUCCESS"
    grant(alice, shared)  # revoked: invisible again, at once
    assert bob.get(f"/api/jobs/retrieve?id={shared}").status_code == 404
    assert bob.browse()["items"] == []


def test_nobody_gets_into_a_project_by_naming_it(project_members: tuple[ApiClient, ApiClient]) -> None:
    alice, bob = project_members
    alice.project = "research"
    shared = alice.create_job()
    bob.project = "other"
    response = bob.get("/api/jobs/browse")
    assert (response.status_code, response.json) == (403, {"why": "You are not a member of the project 'other'",
                                                           "errorCode": None})
    assert bob.bulk("terminate", [{"id": shared}]).status_code == 403
    alice.project = "research"
    assert alice.retrieve(shared)["status"]["state"] == "IN_QUEUE"


def test_a_blank_project_header_is_the_personal_workspace(make_app: AppFactory) -> None:
    client = ApiClient(make_app(), project="   ")
    assert owner(client) == {"createdBy": "user", "project": None}
