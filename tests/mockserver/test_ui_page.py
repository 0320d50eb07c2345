"""The page at /_mock/ui as files (issue 13): served under the admin API's protections, with a policy that admits
only the server's own script, and a script that never turns data into markup. What it does in a browser:
tests/browser/."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from importlib import resources

import pytest
from werkzeug.test import Client

from contracts.spec import default_spec
from mockserver.web.admin import ADMIN_PATHS, AdminPolicy
from mockserver.web.app import MockApp
from mockserver.web.ui import CONTENT_SECURITY_POLICY
from tests.mockserver.support import AppFactory

ASSETS = resources.files("mockserver.web") / "assets"
SCRIPT = (ASSETS / "ui.js").read_text(encoding="utf-8")
CODE = "\n".join(line for line in SCRIPT.splitlines() if not line.lstrip().startswith("//"))  # comments left out
FILES = {"/_mock/ui": "text/html; charset=utf-8", "/_mock/ui/ui.js": "text/javascript; charset=utf-8",
         "/_mock/ui/ui.css": "text/css; charset=utf-8"}
REMOTE = {"REMOTE_ADDR": "192.0.2.7"}


class _Page(HTMLParser):
    """What the page is made of: ids, options per select, scripts, stylesheets, and attributes that run code."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.options: dict[str, list[str]] = {}
        self.scripts: list[dict[str, str | None]] = []
        self.links: list[str] = []
        self.handlers: list[str] = []
        self.inline_styles = 0
        self._select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if found.get("id"):
            self.ids.add(str(found["id"]))
        self.handlers += [name for name, _ in attrs if name.startswith("on")]
        self.inline_styles += tag == "style" or "style" in found
        if tag == "select":
            self._select = found.get("id")
            self.options[str(self._select)] = []
        elif tag == "option" and self._select is not None:
            self.options[self._select].append(str(found.get("value")))
        elif tag == "script":
            self.scripts.append(found)
        elif tag == "link" and found.get("rel") == "stylesheet":
            self.links.append(str(found.get("href")))

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None


def _page(app: MockApp) -> _Page:
    parsed = _Page()
    parsed.feed(Client(app).get("/_mock/ui").get_data(as_text=True))
    return parsed


@pytest.mark.parametrize(("path", "content_type"), FILES.items())
def test_each_file_is_served_with_its_type_and_the_policy(make_app: AppFactory, path: str, content_type: str) -> None:
    response = Client(make_app()).get(path)
    assert (response.status_code, response.content_type) == (200, content_type)
    assert response.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "script-src 'self';" in CONTENT_SECURITY_POLICY
    assert "unsafe" not in CONTENT_SECURITY_POLICY
    assert "frame-ancestors 'none'" in CONTENT_SECURITY_POLICY


def test_the_page_runs_no_inline_code_and_loads_only_its_own_files(make_app: AppFactory) -> None:
    page = _page(make_app())
    assert page.scripts == [{"src": "/_mock/ui/ui.js", "defer": None}]
    assert page.links == ["/_mock/ui/ui.css"]
    assert (page.handlers, page.inline_styles) == ([], 0)


def test_the_pickers_offer_the_contracts_operations_and_states(make_app: AppFactory) -> None:
    page = _page(make_app())
    operations = list(default_spec().operations)
    assert page.options["fault-operation"] == ["*", *operations]
    assert page.options["traffic-operation"] == ["", *operations, "-"]
    assert page.options["filter-state"] == ["", *default_spec().schema("JobState")["enum"]]


def test_the_script_finds_every_element_it_names(make_app: AppFactory) -> None:
    named = set(re.findall(r'\$\("([\w-]+)"\)', SCRIPT))
    assert len(named) > 40
    assert named - _page(make_app()).ids == set()


def test_the_script_calls_only_the_admin_api(make_app: AppFactory) -> None:
    called = set(re.findall(r'"(/_mock/[\w/.]*)', SCRIPT)) - {"/_mock/ui"}
    assert called == {"/_mock/scenario", "/_mock/timeline", "/_mock/faults", "/_mock/jobs", "/_mock/job",
                      "/_mock/journal", "/_mock/clock", "/_mock/reset"}
    assert called <= {path for _, path in ADMIN_PATHS.values()}


def test_the_script_writes_text_never_markup() -> None:
    # Job ids, owners (a JWT's sub) and journal bodies come from clients; they are set with textContent or as
    # text nodes. The browser tests send markup through each of them.
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "Function(",
                 "srcdoc", "javascript:"):
        assert sink not in CODE, sink
    assert "style" not in re.findall(r'setAttribute\("(\w+)"', CODE)


@pytest.mark.parametrize("path", FILES)
def test_the_page_has_the_admin_apis_protections(make_app: AppFactory, path: str) -> None:
    app = make_app()
    client = Client(app)
    refused = client.get(path, environ_overrides=REMOTE)
    assert (refused.status_code, refused.content_type) == (403, "application/json; charset=utf-8")
    assert "loopback" in refused.json["why"]
    assert client.get(path, headers={"Origin": "http://evil.example"}).status_code == 403
    assert client.get(path, headers={"Host": "evil.example"}).status_code == 403
    assert client.get(path, headers={"Host": "127.0.0.1:8080", "Origin": "http://127.0.0.1:8080"}).status_code == 200
    assert client.post(path, json={}).status_code == 405
    tokened = Client(make_app(admin=AdminPolicy(token="a-token-of-16-chars")))
    assert tokened.get(path, environ_overrides=REMOTE, headers={"X-Mock-Admin-Token": "a-token-of-16-chars"}) \
        .status_code == 200
    assert app.journal.snapshot()["recorded"] == 0


def test_a_head_request_has_the_headers_and_no_body(make_app: AppFactory) -> None:
    response = Client(make_app()).head("/_mock/ui")
    assert (response.status_code, response.get_data()) == (200, b"")
    assert response.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
