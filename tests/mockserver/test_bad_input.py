"""Every bad input gets its documented 4xx, a CommonErrorMessage, and changes nothing (issue 3 §5; REFERENCE.md §1, §5).

``why`` is checked exactly where UCloud's wording is known and otherwise must name the field and the rule. Around
each refused request the whole visible state is compared, and the id counter must not have moved either.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contracts.spec import default_spec
from mockserver.web.app import create_app
from mockserver.web.requests import MAX_BODY_BYTES
from tests.mockserver.support import (
    BULK_NOT_FOUND,
    FIRST_ID,
    QUEUE_DELAY_MS,
    UNSCRIPTED,
    ApiClient,
    AppFactory,
    duration,
    job_spec,
)

RUNNING, SUSPENDED, ENDED = str(FIRST_ID), str(FIRST_ID + 1), str(FIRST_ID + 2)
UNKNOWN = "999999"


@pytest.fixture
def world(make_app: AppFactory) -> ApiClient:
    """A ucloud-profile mock with a running, a suspended and an ended job (the richest rendering to compare)."""
    client = ApiClient(make_app(profile="ucloud"))
    assert client.create(job_spec(name="running"), job_spec(name="suspended"), job_spec(name="ended")) == [
        RUNNING, SUSPENDED, ENDED]
    client.advance(QUEUE_DELAY_MS)
    client.act("suspend", SUSPENDED)
    client.act("terminate", ENDED)
    return client


def refused(client: ApiClient, method: str, url: str, status: int, *, why: str | None = None,
            names: tuple[str, ...] = (), **options: Any) -> dict[str, Any]:
    """Send a bad request; assert its status, its ``why`` (exact, or naming ``names``) and that nothing changed."""
    before = client.snapshot()
    response = client.request(method, url, **options)
    assert response.status_code == status, response.get_data(as_text=True)
    error: dict[str, Any] = response.json
    assert set(error) == {"why", "errorCode"}
    if why is not None:
        assert error["why"] == why
    for name in names:
        assert name in error["why"], error["why"]
    assert client.snapshot() == before
    created = len(before["jobs"]["items"])
    assert client.create_job() == str(FIRST_ID + created)  # the id counter has not moved either
    return error


def raw_create(*items: bytes) -> bytes:
    """A create body whose items are given as raw JSON text."""
    return b'{"items": [' + b", ".join(items) + b"]}"


GOOD_ITEM = json.dumps(job_spec()).encode()


def item_with(key: str, raw: bytes) -> bytes:
    """A valid create item with ``key`` set to the raw JSON text ``raw``."""
    return GOOD_ITEM[:-1] + b', "' + key.encode() + b'": ' + raw + b"}"


@dataclass(frozen=True)
class Bad:
    """One bad request and its documented answer."""

    method: str
    url: str
    status: int
    why: str | None = None
    names: tuple[str, ...] = ()
    options: dict[str, Any] = field(default_factory=dict)


def post(url: str, status: int, body: Any = None, *, data: bytes | None = None, why: str | None = None,
         names: tuple[str, ...] = ()) -> Bad:
    options = {"data": data} if data is not None else {"body": body}
    return Bad("POST", url, status, why, names, options)


def get(url: str, status: int, *, why: str | None = None, names: tuple[str, ...] = ()) -> Bad:
    return Bad("GET", url, status, why, names)


def extend_item(job_id: str = RUNNING, **requested: Any) -> dict[str, Any]:
    return {"jobId": job_id, "requestedTime": requested or duration(hours=1)}


BULK_OPERATIONS = ["/api/jobs", "/api/jobs/extend", "/api/jobs/terminate", "/api/jobs/suspend", "/api/jobs/unsuspend"]
BULK_ITEM = {"/api/jobs": job_spec(), "/api/jobs/extend": extend_item()}

BAD: dict[str, Bad] = {
    # ----------------------------------------------------------------- bulk sizes, UCloud's words (REFERENCE.md §1)
    **{f"empty bulk {url}": post(url, 400, {"items": []}, why="Request must not be empty") for url in BULK_OPERATIONS},
    **{f"1001 items {url}": post(url, 400, {"items": [BULK_ITEM.get(url, {"id": RUNNING})] * 1001},
                                 why="Request cannot exceed 1000 items") for url in BULK_OPERATIONS},
    # ----------------------------------------------------------------- unknown jobs (REFERENCE.md §4.6, §4.4)
    "retrieve unknown": get(f"/api/jobs/retrieve?id={UNKNOWN}", 404, why="Unknown job"),
    "retrieve non-numeric": get("/api/jobs/retrieve?id=abc", 404, why="Unknown job"),
    "retrieve empty id": get("/api/jobs/retrieve?id=", 404, why="Unknown job"),
    **{f"bulk unknown {op}": post(f"/api/jobs/{op}", 404, {"items": [{"id": UNKNOWN}]}, why=BULK_NOT_FOUND)
       for op in ("terminate", "suspend", "unsuspend")},
    "extend unknown": post("/api/jobs/extend", 404, {"items": [extend_item(UNKNOWN)]}, why=BULK_NOT_FOUND),
    # One unknown id among known ones: the whole request fails and not even the known jobs change.
    "extend one unknown": post("/api/jobs/extend", 404, {"items": [extend_item(RUNNING), extend_item(SUSPENDED),
                                                                   extend_item(UNKNOWN), extend_item(RUNNING)]},
                               why=BULK_NOT_FOUND),
    "terminate one unknown": post("/api/jobs/terminate", 404,
                                  {"items": [{"id": RUNNING}, {"id": SUSPENDED}, {"id": UNKNOWN}]}, why=BULK_NOT_FOUND),
    "suspend one unknown": post("/api/jobs/suspend", 404, {"items": [{"id": UNKNOWN}, {"id": RUNNING}]},
                                why=BULK_NOT_FOUND),
    "unsuspend one unknown": post("/api/jobs/unsuspend", 404, {"items": [{"id": SUSPENDED}, {"id": "x"}]},
                                  why=BULK_NOT_FOUND),
    # ----------------------------------------------------------------- pagination
    "negative itemsToSkip": get("/api/jobs/browse?itemsToSkip=-1", 400, why="Invalid offset"),
    "negative itemsToSkip in search": post("/api/jobs/search", 400, {"query": "", "flags": {}, "itemsToSkip": -1},
                                           why="Invalid offset"),
    "itemsPerPage not a number": get("/api/jobs/browse?itemsPerPage=ten", 400, names=("itemsPerPage", "integer")),
    "itemsPerPage above Int": get(f"/api/jobs/browse?itemsPerPage={2**31}", 400, names=("itemsPerPage", "maximum")),
    # ----------------------------------------------------------------- query parameters
    "retrieve without id": get("/api/jobs/retrieve?includeUpdates=true", 400, names=("id", "required")),
    "unknown filterState": get("/api/jobs/browse?filterState=DONE", 400, names=("filterState", "IN_QUEUE")),
    "mistyped filterState": get("/api/jobs/browse?filterState=RUNNIN", 400,
                                names=("filterState", "'RUNNIN' is not one of IN_QUEUE, ", "; did you mean RUNNING?")),
    "Long above 2**63-1 in the query": get(f"/api/jobs/browse?filterCreatedAfter={2**63}", 400,
                                           names=("filterCreatedAfter", "maximum")),
    "Long not a number": get("/api/jobs/browse?filterCreatedBefore=yesterday", 400,
                             names=("filterCreatedBefore", "integer")),
    # ----------------------------------------------------------------- schema violations name the field and the rule
    "minutes above 59": post("/api/jobs", 400, {"items": [job_spec(timeAllocation=duration(hours=1, minutes=60))]},
                             names=("/items/0/timeAllocation/minutes", "maximum of 59")),
    "seconds above 59 in extend": post("/api/jobs/extend", 400,
                                       {"items": [extend_item(hours=0, minutes=0, seconds=60)]},
                                       names=("/items/0/requestedTime/seconds", "maximum of 59")),
    "negative hours": post("/api/jobs/extend", 400, {"items": [extend_item(hours=-1, minutes=0, seconds=0)]},
                           names=("/items/0/requestedTime/hours", "minimum")),
    "missing application": post("/api/jobs", 400, {"items": [{"product": job_spec()["product"]}]},
                                names=("/items/0/application", "required")),
    "missing requestedTime": post("/api/jobs/extend", 400, {"items": [{"jobId": RUNNING}]},
                                  names=("/items/0/requestedTime", "required")),
    "jobId not a string": post("/api/jobs/extend", 400, {"items": [{"jobId": int(RUNNING),
                                                                    "requestedTime": duration(hours=1)}]},
                               names=("/items/0/jobId", "string")),
    "no items": post("/api/jobs/terminate", 400, {"ids": [RUNNING]}, names=("/items", "required")),
    "zero replicas": post("/api/jobs", 400, {"items": [job_spec(replicas=0)]}, names=("/items/0/replicas", "minimum")),
    "bad name": post("/api/jobs", 400, {"items": [job_spec(name="a/b")]}, names=("/items/0/name", "match")),
    "unknown parameter type": post("/api/jobs", 400, {"items": [job_spec(parameters={"x": {"type": "colour"}})]},
                                   names=("/items/0/parameters/x/type",)),
    "search without flags": post("/api/jobs/search", 400, {"query": "x"}, names=("/flags", "required")),
    "search without query": post("/api/jobs/search", 400, {"flags": {}}, names=("/query", "required")),
    "body is an array": post("/api/jobs/terminate", 400, [{"id": RUNNING}], names=("object",)),
    "body is null": post("/api/jobs/terminate", 400, None, names=("object",)),
    "body is a string": post("/api/jobs/terminate", 400, "terminate", names=("object",)),
    # ----------------------------------------------------------------- allocations (REFERENCE.md §4.1)
    "zero allocation": post("/api/jobs", 400, {"items": [job_spec(), job_spec(timeAllocation=duration())]},
                            why="Time allocated for job is too short."),
    # ----------------------------------------------------------------- numbers JSON or a Long cannot hold
    "2**63 replicas": post("/api/jobs", 400, data=raw_create(item_with("replicas", str(2**63).encode())),
                           names=("/items/0/replicas", "maximum")),
    "2**63 hours": post("/api/jobs/extend", 400,
                        {"items": [extend_item(hours=2**63, minutes=0, seconds=0)]},
                        names=("/items/0/requestedTime/hours", "maximum")),
    "-2**63-1 in search": post("/api/jobs/search", 400,
                               {"query": "", "flags": {"filterCreatedAfter": -(2**63) - 1}},
                               names=("/flags/filterCreatedAfter", "minimum")),
    "2**63 itemsToSkip": post("/api/jobs/search", 400, {"query": "", "flags": {}, "itemsToSkip": 2**63},
                              why="Invalid offset"),
    "5000-digit integer": post("/api/jobs", 400, data=raw_create(item_with("replicas", b"1" + b"0" * 5000))),
    "1e308 replicas": post("/api/jobs", 400, data=raw_create(item_with("replicas", b"1e308")),
                           names=("/items/0/replicas",)),
    "1e308 minutes": post("/api/jobs/extend", 400,
                          data=b'{"items":[{"jobId":"%s","requestedTime":{"hours":0,"minutes":1e308,"seconds":0}}]}'
                          % RUNNING.encode(), names=("/items/0/requestedTime/minutes",)),
    "1e999": post("/api/jobs", 400, data=raw_create(item_with("replicas", b"1e999"))),
    "NaN": post("/api/jobs", 400, data=raw_create(item_with("replicas", b"NaN")), names=("NaN",)),
    "Infinity": post("/api/jobs", 400, data=raw_create(item_with("replicas", b"Infinity"))),
    "-Infinity": post("/api/jobs", 400, data=raw_create(item_with("replicas", b"-Infinity"))),
    "fractional hours": post("/api/jobs/extend", 400, {"items": [extend_item(hours=1.5, minutes=0, seconds=0)]},
                             names=("/items/0/requestedTime/hours", "integer")),
    # ----------------------------------------------------------------- bodies that are not JSON
    "unparseable JSON": post("/api/jobs", 400, data=b'{"items": [', names=("JSON",)),
    "trailing garbage": post("/api/jobs/terminate", 400, data=b'{"items": [{"id": "%s"}]} x' % RUNNING.encode()),
    "single quotes": post("/api/jobs/terminate", 400, data=b"{'items': []}"),
    "10,000-deep JSON": post("/api/jobs", 400, data=b'{"items": ' + b"[" * 10_000 + b"]" * 10_000 + b"}"),
    "10,000-deep objects": post("/api/jobs/search", 400, data=b'{"a":' * 10_000 + b"1" + b"}" * 10_000),
    "not UTF-8": post("/api/jobs", 400, data=raw_create(item_with("name", b'"caf\xe9"')), names=("UTF-8",)),
    "UTF-16": post("/api/jobs/terminate", 400, data='{"items": [{"id": "1"}]}'.encode("utf-16")),
    "empty body": post("/api/jobs", 400, data=b""),
    "blank body": post("/api/jobs/extend", 400, data=b" \r\n\t "),
    "body over 1 MiB": post("/api/jobs", 413, data=raw_create(GOOD_ITEM) + b" " * MAX_BODY_BYTES),
    "bulk of 1000 over 1 MiB": post("/api/jobs/terminate", 413,
                                    data=b'{"items": [' + b", ".join([b'{"id": "%s"}' % RUNNING.encode()] * 999)
                                    + b', {"id": "' + b"1" * MAX_BODY_BYTES + b'"}]}'),
    # ----------------------------------------------------------------- no or empty bearer token (REFERENCE.md §5)
    **{f"token {name}": Bad("POST", "/api/jobs/terminate", 401, "Unauthorized",
                            options={"body": {"items": [{"id": RUNNING}]}, "token": None, "headers": headers})
       for name, headers in {"missing": {}, "empty": {"Authorization": "Bearer "}, "scheme only": {
           "Authorization": "Bearer"}, "basic": {"Authorization": "Basic dXNlcjpwYXNz"}, "bare token": {
           "Authorization": "token"}, "blank": {"Authorization": "   "}}.items()},
    "retrieve without token": Bad("GET", f"/api/jobs/retrieve?id={RUNNING}", 401, "Unauthorized",
                                  options={"token": None}),
    # ----------------------------------------------------------------- routes (REFERENCE.md §5)
    "unknown route": post("/api/jobs/cancel", 404, {"items": [{"id": RUNNING}]}, why="Not Found"),
    "wrong method": Bad("DELETE", "/api/jobs", 405, "Method Not Allowed", options={"body": {"items": [
        {"id": RUNNING}]}}),
}


@pytest.mark.parametrize("case", BAD.values(), ids=BAD.keys())
def test_a_bad_input_gets_its_documented_error_and_changes_nothing(world: ApiClient, case: Bad) -> None:
    refused(world, case.method, case.url, case.status, why=case.why, names=case.names, **case.options)


def test_a_405_names_the_allowed_method(world: ApiClient) -> None:
    response = world.request("GET", "/api/jobs/terminate")
    assert (response.status_code, response.headers["Allow"]) == (405, "POST")


def test_a_401_asks_for_a_bearer_token(world: ApiClient) -> None:
    response = world.get(f"/api/jobs/retrieve?id={RUNNING}", token=None)
    assert response.headers["WWW-Authenticate"] == "Bearer"


def test_content_length_that_is_not_a_number_is_400(world: ApiClient) -> None:
    refused(world, "POST", "/api/jobs/terminate", 400, names=("Content-Length",),
            data=b'{"items": [{"id": "1"}]}', environ={"CONTENT_LENGTH": "twenty"})


CHUNKED = {"CONTENT_LENGTH": "", "wsgi.input_terminated": True}  # no Content-Length: the server ends the stream


def test_a_chunked_body_is_read_to_its_end(world: ApiClient) -> None:
    response = world.post("/api/jobs", data=raw_create(item_with("name", b'"chunked"')), environ=CHUNKED)
    (created,) = response.json["responses"]
    assert world.retrieve(created["id"])["specification"]["name"] == "chunked"


def test_a_chunked_body_over_1_mib_is_413(world: ApiClient) -> None:
    refused(world, "POST", "/api/jobs", 413, data=raw_create(GOOD_ITEM) + b" " * MAX_BODY_BYTES, environ=CHUNKED)


def test_a_body_of_exactly_1_mib_is_accepted(world: ApiClient) -> None:
    body = raw_create(GOOD_ITEM)
    body += b" " * (MAX_BODY_BYTES - len(body))
    assert len(body) == MAX_BODY_BYTES
    response = world.post("/api/jobs", data=body)
    assert response.status_code == 200


def test_a_bulk_of_1000_items_is_accepted(world: ApiClient) -> None:
    response = world.bulk("extend", [extend_item(RUNNING, hours=0, minutes=0, seconds=1)] * 1000)
    assert response.status_code == 200
    assert response.json == {"responses": [{}] * 1000}
    assert world.retrieve(RUNNING)["specification"]["timeAllocation"] == duration(hours=5, minutes=16, seconds=40)


def test_an_extension_past_what_a_long_holds_is_refused_whole(world: ApiClient) -> None:
    huge = duration(hours=2**31 - 1)
    refused(world, "POST", "/api/jobs/extend", 400,
            body={"items": [extend_item(RUNNING, hours=1, minutes=0, seconds=0), extend_item(RUNNING, **huge)]})


# ---------------------------------------------------------------------------------------------- accepted inputs


@pytest.mark.parametrize("content_type", [
    "content-type: application/json; charset=utf-8",  # the docs' curl lines send exactly this
    "application/json", "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
    "application/xml", "", None,
])
def test_any_content_type_is_accepted(world: ApiClient, content_type: str | None) -> None:
    headers = {} if content_type is None else {"Content-Type": content_type}
    response = world.post("/api/jobs", data=json.dumps({"items": [job_spec(name="typed")]}).encode(),
                          headers=headers)
    assert response.status_code == 200
    (created,) = response.json["responses"]
    assert world.retrieve(created["id"])["specification"]["name"] == "typed"


@pytest.mark.parametrize(("value", "true"), [("true", True), ("True", False), ("TRUE", False), ("1", False),
                                             ("yes", False), ("on", False), ("", False), ("true ", False),
                                             ("false", False)])
def test_a_boolean_is_true_only_for_exactly_true(world: ApiClient, value: str, true: bool) -> None:
    job = world.get(f"/api/jobs/retrieve?id={RUNNING}&includeUpdates={value}").json
    assert bool(job["updates"]) is true
    page = world.get(f"/api/jobs/browse?includeOthers={value}").json
    assert all((job["permissions"]["others"] is not None) is true for job in page["items"])


def test_a_flag_without_a_value_is_false(world: ApiClient) -> None:
    assert world.get(f"/api/jobs/retrieve?id={RUNNING}&includeUpdates").json["updates"] == []


def test_unknown_query_parameters_are_ignored(world: ApiClient) -> None:
    plain = world.get(f"/api/jobs/retrieve?id={RUNNING}").get_data()
    noisy = world.get(f"/api/jobs/retrieve?colour=blue&id={RUNNING}&flags.includeUpdates=true&x=%ff").get_data()
    assert noisy == plain
    assert b"colour" not in noisy


def test_unknown_body_keys_are_ignored_and_not_echoed(make_app: AppFactory, profile: str) -> None:
    client = ApiClient(make_app(profile=profile))
    spec = job_spec(name="keys", parameters={"greeting": {"type": "text", "value": "hi", "colour": "red"}},
                    resources=[{"type": "file", "path": "/home", "size": 3}])
    spec["application"]["build"] = 7
    spec["secret"] = "hunter2"
    response = client.post("/api/jobs", {"items": [spec], "dryRun": True}, headers={"X-Anything": "1"})
    (created,) = response.json["responses"]
    job = client.retrieve(created["id"], includeParameters=True)
    text = json.dumps(job)
    for unknown in ("build", "secret", "hunter2", "colour", "size", "dryRun"):
        assert unknown not in text
    assert job["specification"]["parameters"] == {"greeting": {"type": "text", "value": "hi"}}
    assert job["specification"]["resources"] == [{"type": "file", "path": "/home"}]
    extend = {"items": [{"jobId": created["id"], "requestedTime": {**duration(hours=1), "millis": 5}, "why": 1}]}
    assert client.post("/api/jobs/extend", extend).status_code == 200
    search = client.post("/api/jobs/search", {"query": "keys", "flags": {}, "colour": "x"})
    assert [item["id"] for item in search.json["items"]] == [created["id"]]


def test_repeated_query_keys_take_the_first(world: ApiClient) -> None:
    assert world.get(f"/api/jobs/retrieve?id={SUSPENDED}&id={RUNNING}").json["id"] == SUSPENDED
    assert world.get(f"/api/jobs/retrieve?id={RUNNING}&includeUpdates=true&includeUpdates=false").json["updates"]
    assert not world.get(f"/api/jobs/retrieve?id={RUNNING}&includeUpdates=false&includeUpdates=true").json["updates"]
    assert world.get("/api/jobs/browse?itemsPerPage=10&itemsPerPage=25").json["itemsPerPage"] == 10


def test_an_enum_in_the_query_matches_ignoring_case(world: ApiClient) -> None:
    ids = [job["id"] for job in world.get("/api/jobs/browse?filterState=suspended").json["items"]]
    assert ids == [SUSPENDED]


# ---------------------------------------------------------------------------------------------- anything at all

JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
                    max_leaves=10)
POST_PATHS = sorted(op.path for op in default_spec().operations.values() if op.method == "POST")
GET_PATHS = sorted(op.path for op in default_spec().operations.values() if op.method == "GET")
PARAMETERS = sorted({p.name for op in default_spec().operations.values() for p in op.parameters} | {"bogus"})


def _fresh() -> ApiClient:
    client = ApiClient(create_app(scenario=UNSCRIPTED, profile="ucloud", validate_responses=True))
    client.create_job()
    client.advance(QUEUE_DELAY_MS)
    return client


def _never_fails(client: ApiClient, method: str, url: str, **options: Any) -> None:
    before = client.snapshot()
    response = client.request(method, url, **options)  # the client checks the answer against the spec
    assert response.status_code in {200, 400, 404, 413}, response.get_data(as_text=True)
    if response.status_code != 200:
        assert client.snapshot() == before
    assert client.app.take_errors() == []


@given(path=st.sampled_from(POST_PATHS),
       body=JSON | JSON.map(lambda item: {"items": [item]}) | st.binary(max_size=64).map(lambda raw: ("raw", raw)))
def test_no_body_makes_the_mock_fail(path: str, body: Any) -> None:
    if isinstance(body, tuple):
        _never_fails(_fresh(), "POST", path, data=body[1])
    else:
        _never_fails(_fresh(), "POST", path, body=body)


@given(path=st.sampled_from(GET_PATHS),
       params=st.dictionaries(st.sampled_from(PARAMETERS), st.text(max_size=12) | st.sampled_from(["62348", "true"])))
def test_no_query_makes_the_mock_fail(path: str, params: dict[str, str]) -> None:
    _never_fails(_fresh(), "GET", f"{path}?{urlencode(params)}")
