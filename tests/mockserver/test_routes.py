"""The route table is the spec's, and every route answers JSON: 404 and 405 included."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from werkzeug.test import Client

from contracts.errors import ContractViolation
from contracts.spec import default_spec
from mockserver.web.admin import ADMIN_HANDLERS, ADMIN_PREFIX
from mockserver.web.handlers import API_HANDLERS
from mockserver.web.pages import PAGE_HANDLERS, PAGE_PATHS
from mockserver.web.routing import routes
from tests.mockserver.support import JSON_TYPE, QUEUE_DELAY_MS, ApiClient, check_response, duration, job_spec

SPEC_FILE = Path(__file__).resolve().parents[2] / "openapi" / "jobs.yaml"
HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


def spec_operations() -> set[tuple[str, str, str]]:
    """(method, path, operationId) of every operation, read straight from the YAML file."""
    document = yaml.safe_load(SPEC_FILE.read_text(encoding="utf-8"))
    return {(method.upper(), path, operation["operationId"])
            for path, item in document["paths"].items()
            for method, operation in item.items() if method in HTTP_METHODS}


OPERATIONS = sorted(spec_operations())


def test_the_route_table_is_the_specs_operations_the_admin_api_and_the_pages_apart() -> None:
    table = {(method, rule.rule, rule.endpoint)
             for rule in routes(default_spec()).iter_rules()
             for method in rule.methods or () if method != "HEAD"}
    pages = {entry for entry in table if entry[1] in PAGE_PATHS}
    admin = {entry for entry in table if entry[1].startswith(ADMIN_PREFIX + "/")}
    assert table - pages - admin == set(OPERATIONS)
    assert {endpoint for _, _, endpoint in admin} == set(ADMIN_HANDLERS)
    assert pages == {("GET", "/", "page.index"), ("GET", "/openapi.yaml", "page.openapi_yaml"),
                     ("GET", "/openapi.json", "page.openapi_json")}
    assert {endpoint for _, _, endpoint in pages} == set(PAGE_HANDLERS)
    # REFERENCE.md §2: the end-user calls over HTTP (follow is a WebSocket call, and Jobs has no delete).
    assert {operation_id for _, _, operation_id in OPERATIONS} >= {
        "jobs.create", "jobs.retrieve", "jobs.browse", "jobs.search", "jobs.extend", "jobs.terminate",
        "jobs.suspend", "jobs.unsuspend"}


def test_there_is_one_handler_per_operation_and_no_other() -> None:
    assert set(API_HANDLERS) == {operation_id for _, _, operation_id in OPERATIONS}


@pytest.mark.parametrize("path", ["/index.html", "/openapi.yml", "/api",
                                  "/api/jobs/nope", "/api/jobs/retrieve/62348", "/api/jobs//browse",
                                  "/api/Jobs/browse", "/_mockery"])
def test_an_unknown_path_is_a_json_404(client: ApiClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 404
    assert response.json == {"why": "Not Found", "errorCode": None}


def test_a_404_needs_no_token(client: ApiClient) -> None:
    response = client.get("/api/jobs/nope", token=None)
    assert response.status_code == 404


WRONG_METHODS = [(wrong, method, path) for method, path, _ in OPERATIONS
                 for wrong in ("GET", "POST", "PUT", "DELETE", "PATCH") if wrong != method]


@pytest.mark.parametrize(("wrong", "method", "path"), WRONG_METHODS)
def test_a_wrong_method_is_a_json_405_that_names_the_right_one(client: ApiClient, wrong: str, method: str,
                                                               path: str) -> None:
    response = client.request(wrong, path, data=b"{}")
    assert response.status_code == 405
    assert response.json["why"] == "Method Not Allowed"
    allowed = {part.strip() for part in response.headers["Allow"].split(",")}
    assert allowed == ({"GET", "HEAD"} if method == "GET" else {method})


@pytest.mark.parametrize(("method", "path", "operation_id"), OPERATIONS)
def test_a_trailing_slash_reaches_the_same_operation(client: ApiClient, method: str, path: str,
                                                     operation_id: str) -> None:
    job_id = client.create_job()
    client.advance(QUEUE_DELAY_MS)  # running, for an interactive session
    if method == "GET":
        response = client.get(f"{path}/?id={job_id}&jobId={job_id}")
    else:
        bodies = {"jobs.create": {"items": [job_spec()]},
                  "jobs.search": {"query": "", "flags": {}},
                  "jobs.extend": {"items": [{"jobId": job_id, "requestedTime": duration(hours=1)}]},
                  "jobs.openInteractiveSession": {"items": [{"id": job_id, "rank": 0, "sessionType": "WEB"}]},
                  "jobs.updateAcl": {"items": [{"id": job_id, "added": [], "deleted": []}]},
                  "jobs.init": {}}
        response = client.post(f"{path}/", bodies.get(operation_id, {"items": [{"id": job_id}]}))
    assert response.status_code == 200, response.json
    entry = client.get("/_mock/journal?limit=1").json["entries"][0]
    assert entry["operation"] == operation_id


def test_head_on_a_get_route_answers_like_get(client: ApiClient) -> None:
    job_id = client.create_job()
    got = client.get(f"/api/jobs/retrieve?id={job_id}")
    head = client.request("HEAD", f"/api/jobs/retrieve?id={job_id}")
    assert head.status_code == 200
    assert head.headers["Content-Type"] == JSON_TYPE
    assert head.headers["Content-Length"] == got.headers["Content-Length"]


def test_head_on_a_post_route_is_405(client: ApiClient) -> None:
    response = client.request("HEAD", "/api/jobs/extend")
    assert response.status_code == 405
    assert response.headers["Allow"] == "POST"


def test_the_answer_check_itself_rejects_what_the_spec_does_not_document(client: ApiClient) -> None:
    """The checking client is the suite's guarantee, so it must be able to fail."""
    job_id = client.create_job()
    good = client.get(f"/api/jobs/retrieve?id={job_id}")
    broken = json.loads(good.get_data())
    del broken["status"]["state"]
    good.set_data(json.dumps(broken))
    with pytest.raises(ContractViolation, match="state"):
        check_response("GET", "/api/jobs/retrieve", good)
    raw = Client(client.app).get("/nope")
    raw.headers["Content-Type"] = "text/html"
    with pytest.raises(AssertionError):
        check_response("GET", "/nope", raw)
