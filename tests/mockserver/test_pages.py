"""The pages for people and their tools: the index at ``/`` (HTML for a browser, JSON otherwise) and the contract at
``/openapi.yaml`` and ``/openapi.json``. Routes of the one table, behind the Host check, and no API requests."""

from __future__ import annotations

import dataclasses
import json
from importlib import metadata
from typing import Any

import pytest
import yaml
from werkzeug.test import Client, TestResponse

from contracts.paths import spec_path
from contracts.spec import default_spec
from mockserver.web.admin import AdminPolicy
from mockserver.web.app import MockApp
from tests.mockserver.support import FIRST_ID, SEED, T0, UNSCRIPTED, AppFactory, job_spec

BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"
PAGES = ["/", "/openapi.yaml", "/openapi.json"]
REMOTE = {"REMOTE_ADDR": "203.0.113.7"}
ADMIN_TOKEN = "a-long-enough-admin-token"


def get(app: MockApp, path: str, headers: dict[str, str] | None = None, environ: dict[str, Any] | None = None,
        method: str = "GET") -> TestResponse:
    return Client(app).open(path, method=method, headers=headers or {}, environ_overrides=environ or {})


def test_the_index_tells_a_program_what_this_server_is_in_json(make_app: AppFactory) -> None:
    app = make_app(scenario=SEED)
    for accept in (None, "*/*", "application/json", "application/json, text/html;q=0.5"):
        response = get(app, "/", {"Accept": accept} if accept else {})
        assert (response.status_code, response.content_type) == (200, "application/json; charset=utf-8"), accept
    index = response.json
    assert index is not None
    assert index["server"] == "ucloud-jobs: a mock of UCloud's Jobs API"
    assert index["version"] == metadata.version("ucloud-jobs-contract")
    assert index["playing"] == {"scenario": "extend-and-terminate", "title": "Extending a Job and terminating it early",
                                "profile": "docs", "era": "2021", "nowMs": T0, "jobs": 0, "evicted": 0,
                                "requests": 0, "script": {"played": 0, "steps": 6, "next": "jobs.create"},
                                "limits": {"maxJobs": 2000, "maxJobBytes": 16384, "journalSize": 1000,
                                           "journalBytes": 4 * 1024 * 1024}}
    assert index["links"] == {"openapi.yaml": "/openapi.yaml", "openapi.json": "/openapi.json", "ui": "/_mock/ui"}
    assert index["api"] == [{"operation": operation.operation_id, "method": operation.method, "path": operation.path}
                            for operation in default_spec().operations.values()]
    assert index["websocket"] == [{"call": "jobs.follow", "path": "/api/jobs"}]  # from jobs.asyncapi.yaml
    assert index["admin"]["admitted"] is True
    assert {"method": "GET", "path": "/_mock/scenario"} in index["admin"]["calls"]
    assert {"method": "POST", "path": "/_mock/reset"} in index["admin"]["calls"]


def test_the_index_is_a_small_html_page_for_a_browser(make_app: AppFactory) -> None:
    app = make_app(scenario=dataclasses.replace(UNSCRIPTED, title="<script>alert('title')</script>"))
    response = get(app, "/", {"Accept": BROWSER})
    assert (response.status_code, response.content_type) == (200, "text/html; charset=utf-8")
    assert response.headers["Content-Security-Policy"] == ("default-src 'none'; style-src 'unsafe-inline'; "
                                                           "frame-ancestors 'none'")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    page = response.get_data(as_text=True)
    assert page.startswith("<!doctype html>\n")
    for link in ('<a href="/openapi.yaml">', '<a href="/openapi.json">', '<a href="/_mock/scenario">',
                 '<a href="/_mock/journal">', '<a href="/_mock/health">'):
        assert link in page
    assert '<a href="/_mock/reset">' not in page  # a POST is named, not linked
    assert "<code>/api/jobs/extend</code>" in page
    assert "<tr><td>WebSocket</td><td><code>/api/jobs</code></td><td>jobs.follow</td></tr>" in page
    assert "Scenario <code>extend-and-terminate</code>" in page
    assert "Clock 2021-10-04T06:42:56.235Z (1633329776235)" in page
    assert "<script>" not in page
    assert "&lt;script&gt;alert(&#x27;title&#x27;)&lt;/script&gt;" in page
    assert '<a href="/_mock/ui">the page at /_mock/ui</a>' in page


def test_the_index_links_the_admin_apis_page_and_the_link_is_served(make_app: AppFactory) -> None:
    app = make_app()
    link = get(app, "/").json["links"]["ui"]  # type: ignore[index]
    assert link == "/_mock/ui"
    assert f'<a href="{link}">' in get(app, "/", {"Accept": BROWSER}).get_data(as_text=True)
    assert get(app, link, {"Accept": BROWSER}).content_type == "text/html; charset=utf-8"


def test_what_the_mock_plays_is_shown_only_to_a_client_of_the_admin_api(make_app: AppFactory) -> None:
    closed = make_app()
    for headers, environ in [({}, REMOTE), ({"Origin": "https://evil.example"}, {}),
                             ({"X-Mock-Admin-Token": ADMIN_TOKEN}, REMOTE)]:
        index = get(closed, "/", headers, environ).json
        assert index is not None
        assert (index["playing"], index["admin"]["admitted"]) == (None, False), (headers, environ)
        assert index["links"] == {"openapi.yaml": "/openapi.yaml", "openapi.json": "/openapi.json",
                                  "ui": "/_mock/ui"}  # a link, which the page answers only to the admin API's clients
        assert get(closed, "/_mock/ui", headers, environ).status_code == 403, (headers, environ)
    page = get(closed, "/", {"Accept": BROWSER}, REMOTE).get_data(as_text=True)
    assert "What the mock is playing is for the admin API's clients" in page
    assert "extend-and-terminate" not in page
    # The same rules as the admin API's: its token, --allow-remote-admin, and the server's own origin.
    with_token = make_app(admin=AdminPolicy(token=ADMIN_TOKEN))
    assert get(with_token, "/", {"X-Mock-Admin-Token": ADMIN_TOKEN}, REMOTE).json["admin"]["admitted"]  # type: ignore[index]
    assert get(make_app(admin=AdminPolicy(allow_remote=True)), "/", {}, REMOTE).json["playing"]  # type: ignore[index]
    own = get(closed, "/", {"Origin": "http://localhost", "Host": "localhost"}).json
    assert own is not None
    assert own["playing"]["scenario"] == "extend-and-terminate"


def test_the_contract_is_served_as_written_and_as_json(make_app: AppFactory) -> None:
    app = make_app()
    written = get(app, "/openapi.yaml")
    assert (written.status_code, written.content_type) == (200, "application/yaml; charset=utf-8")
    assert written.get_data() == spec_path().read_bytes()
    as_json = get(app, "/openapi.json")
    assert (as_json.status_code, as_json.content_type) == (200, "application/json; charset=utf-8")
    assert json.loads(as_json.get_data()) == yaml.safe_load(spec_path().read_text(encoding="utf-8"))
    looked = get(app, "/openapi.json", method="HEAD")
    assert (looked.status_code, looked.get_data()) == (200, b"")
    assert looked.headers["Content-Length"] == str(len(as_json.get_data()))


@pytest.mark.parametrize("path", PAGES)
def test_the_pages_are_routes_of_the_one_table_with_its_405(make_app: AppFactory, path: str) -> None:
    response = get(make_app(), path, method="POST")
    assert (response.status_code, response.json) == (405, {"why": "Method Not Allowed", "errorCode": None})
    assert response.headers["Allow"] == "GET, HEAD"
    assert response.content_type == "application/json; charset=utf-8"


@pytest.mark.parametrize("path", PAGES)
def test_the_pages_answer_only_to_the_servers_names(make_app: AppFactory, path: str) -> None:
    app = make_app()
    refused = get(app, path, {"Host": "rebound.example:8080"})
    assert refused.status_code == 403
    assert refused.json["why"].startswith("The Host header 'rebound.example:8080' does not name this server")  # type: ignore[index]
    assert get(app, path, {"Host": "127.0.0.1:8080"}).status_code == 200


def test_a_page_is_no_api_request_no_step_and_no_journal_entry(make_app: AppFactory) -> None:
    app = make_app(scenario=SEED)
    for path in PAGES:
        for method in ("GET", "HEAD"):
            assert get(app, path, method=method).status_code == 200
    assert app.journal.snapshot()["recorded"] == 0
    assert app.control.state()["script"] == {"played": 0, "steps": 6, "next": "jobs.create"}
    assert app.control.state()["requests"] == 0
    # The seed's first command still plays step 1: the documented id at the documented time.
    created = Client(app).post("/api/jobs", json={"items": [job_spec()]}, headers={"Authorization": "Bearer t"})
    assert created.json == {"responses": [{"id": str(FIRST_ID)}]}
    assert app.journal.snapshot()["entries"][0]["script"] == "step 1 of 6"


def test_a_page_of_a_cors_origin_may_read_the_contract_but_not_the_index(make_app: AppFactory) -> None:
    app = make_app(cors_origins=["http://localhost:3000"])
    origin = {"Origin": "http://localhost:3000"}
    for path in ("/openapi.yaml", "/openapi.json"):
        assert get(app, path, origin).headers["Access-Control-Allow-Origin"] == "http://localhost:3000"
        assert "Access-Control-Allow-Origin" not in get(app, path, {"Origin": "https://elsewhere.example"}).headers
    index = get(app, "/", origin)
    assert "Access-Control-Allow-Origin" not in index.headers
    assert index.json["playing"] is not None  # type: ignore[index]  # a --cors origin is not foreign
    assert "Access-Control-Allow-Origin" not in get(make_app(), "/openapi.json", origin).headers  # CORS is off
