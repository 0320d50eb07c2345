"""UCloud's HTTP details that live in the app (issue 10 item 8), over a real socket.

- A body past 1 MiB is answered 413 with UCloud's own words, "Request is too large!" (REFERENCE.md §5).
- A JWT whose ``sub`` is not a usable username is answered 401, as UCloud answers a token it cannot read;
  a token that is not a JWT at all (not three dot-separated parts) is still the default user.
- Every status the mock can send for an operation is declared for it in openapi/jobs.yaml, and every status
  declared is one the mock sends: each way a request can go wrong is sent to every operation, and the statuses
  that come back are compared with the spec's.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import pytest

from contracts.spec import default_spec
from mockserver.web.requests import MAX_BODY_BYTES
from tests.conformance.support import Live, job_spec, live_server

TOO_LARGE = "Request is too large!"
INT_MAX = 2**31 - 1


def _part(document: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(document).encode()).rstrip(b"=").decode()


def jwt(claims: Any) -> str:
    """An unsigned JWT with these claims (the mock checks no signature)."""
    return f"{_part({'alg': 'RS256', 'typ': 'JWT'})}.{_part(claims)}.c2lnbmF0dXJl"


@pytest.fixture(scope="module")
def open_mock() -> Iterator[Live]:
    """A server without --user: any non-empty token is accepted, a JWT as its ``sub``."""
    with live_server(users=None) as server:
        yield server


# ---------------------------------------------------------------------------------------------- 413


@pytest.mark.parametrize("target", ["/api/jobs", "/api/jobs/extend", "/api/jobs/search"])
def test_a_body_over_1_mib_is_too_large_in_uclouds_words(open_mock: Live, target: str) -> None:
    answer = open_mock.request("POST", target, data=b" " * (MAX_BODY_BYTES + 1))
    assert (answer.status, answer.json) == (413, {"why": TOO_LARGE, "errorCode": None})


def test_a_chunked_body_over_1_mib_is_too_large_in_uclouds_words(open_mock: Live) -> None:
    connection = open_mock.connect()
    try:
        connection.putrequest("POST", "/api/jobs")
        connection.putheader("Authorization", "Bearer t")
        connection.putheader("Transfer-Encoding", "chunked")
        connection.endheaders()
        chunk = b" " * (MAX_BODY_BYTES + 1)
        connection.send(b"%x\r\n" % len(chunk) + chunk + b"\r\n0\r\n\r\n")
        response = connection.getresponse()
        assert (response.status, json.loads(response.read())) == (413, {"why": TOO_LARGE, "errorCode": None})
    finally:
        connection.close()


# ---------------------------------------------------------------------------------------------- tokens


@pytest.mark.parametrize("token", [
    jwt({"role": "USER"}), jwt({"sub": ""}), jwt({"sub": "   "}), jwt({"sub": 5}), jwt({"sub": None}),
    jwt({"sub": ["alice"]}), jwt(["sub"]), jwt("alice"), "header.not-base64!.signature", "a.b.c", "..",
    f"{_part({'alg': 'none'})}.{base64.urlsafe_b64encode(b'{not json').decode()}.x",
])
def test_a_jwt_without_a_usable_sub_is_unauthorized(open_mock: Live, token: str) -> None:
    for method, target, body in [("GET", "/api/jobs/browse", None), ("POST", "/api/jobs", {"items": [job_spec()]})]:
        answer = open_mock.request(method, target, body, token=token)
        assert (answer.status, answer.json) == (401, {"why": "Unauthorized", "errorCode": None}), token
        assert answer.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize(("token", "user"), [
    ("anything", "user"), ("uc-api-token-123", "user"), ("one.dot", "user"), ("a.b.c.d", "user"),
    (jwt({"sub": "alice", "role": "USER"}), "alice"), (jwt({"sub": "bob@example.org#1234"}), "bob@example.org#1234"),
])
def test_a_token_that_is_not_a_jwt_is_the_default_user_and_a_jwt_is_its_sub(open_mock: Live, token: str,
                                                                             user: str) -> None:
    answer = open_mock.request("POST", "/api/jobs", {"items": [job_spec()]}, token=token)
    assert answer.status == 200, answer.body
    job_id = answer.json["responses"][0]["id"]
    job = open_mock.request("GET", f"/api/jobs/retrieve?id={job_id}", token=token).json
    assert job["owner"]["createdBy"] == user


# ---------------------------------------------------------------------------------------------- statuses


def _valid(operation_id: str, job_id: str) -> tuple[str, Any]:
    """A request the operation answers 200: a query string (GET) or a JSON body (POST)."""
    return {
        "jobs.create": ("", {"items": [job_spec()]}),
        "jobs.retrieve": (f"id={job_id}", None),
        "jobs.browse": ("", None),
        "jobs.search": ("", {"query": "", "flags": {}}),
        "jobs.extend": ("", {"items": [{"jobId": job_id, "requestedTime": {"hours": 1, "minutes": 0,
                                                                             "seconds": 0}}]}),
        "jobs.openInteractiveSession": ("", {"items": [{"id": job_id, "rank": 0, "sessionType": "WEB"}]}),
        "jobs.updateAcl": ("", {"items": [{"id": job_id, "added": [], "deleted": []}]}),
        "jobs.retrieveUtilization": (f"jobId={job_id}", None),
        "jobs.retrieveProducts": ("", None),
        "jobs.init": ("", {}),
    }.get(operation_id, ("", {"items": [{"id": job_id}]}))


def _unknown(operation_id: str, query: str, body: Any) -> tuple[str, Any] | None:
    """The valid request naming a job that does not exist, if it names one."""
    if "id=" in query.casefold():
        return query.split("=", 1)[0] + "=999999", None
    items = body.get("items", [{}]) if isinstance(body, dict) else [{}]
    key = next((key for key in ("jobId", "id") if key in items[0]), None)
    return None if key is None else (query, {"items": [{**items[0], key: "999999"}]})


def _observed(live: Live, operation_id: str, job_id: str) -> set[int]:
    """Every status the operation answers to the ways a request can go wrong, and to a valid one."""
    operation = default_spec().operation(operation_id)
    query, body = _valid(operation_id, job_id)

    def send(query: str = query, body: Any = body, **options: Any) -> int:
        target = operation.path + (f"?{query}" if query else "")
        return live.request(operation.method, target, body, **options).status

    statuses = {send(), send(token=None), send(headers={"Host": "evil.example"})}
    if operation.method == "POST":
        statuses.add(send(body=None, data=b"{"))
    elif operation.parameters:
        statuses.add(send(query="itemsToSkip=-1" if any(p.name == "itemsToSkip" for p in operation.parameters)
                          else ""))
    statuses.add(send(body=None, data=b" " * (MAX_BODY_BYTES + 1)))
    unknown = _unknown(operation_id, query, body)
    if unknown is not None:
        statuses.add(send(*unknown))
    if operation_id == "jobs.extend":  # past the service's upper bound, in the ucloud profile
        statuses.add(send(body={"items": [{"jobId": job_id, "requestedTime": {"hours": INT_MAX, "minutes": 0,
                                                                              "seconds": 0}}]}))
    return statuses


def test_every_status_the_mock_sends_is_the_spec_s_and_no_other() -> None:
    spec = default_spec()
    with live_server(profile="ucloud", scenario="blank") as live:
        job_id, session_job = live.create(job_spec(), job_spec())
        live.advance(5_000)  # running, so that suspend and extend have something to do
        # terminate ends the first job; a session needs one that still runs
        observed = {operation_id: _observed(live, operation_id,
                                            session_job if operation_id == "jobs.openInteractiveSession" else job_id)
                    for operation_id in spec.operations}
    declared = {operation_id: {int(status) for status in operation.documented_statuses if status.isdigit()}
                for operation_id, operation in spec.operations.items()}
    assert observed == declared
