"""The mock's pages for people and their tools: an index at ``/`` and the contract at ``/openapi.yaml`` and
``/openapi.json``.

They are routes of the one route table (``page.<name>`` endpoints), behind the same Host check as every other
request; they are no calls of the Jobs API, so they play no step of a scenario and leave no journal entry. The
spec is public, like the API it describes. The index is public too, but what the mock is playing (scenario,
clock, script) is the admin API's to tell: the index shows it only to a client the admin API would answer.
"""

from __future__ import annotations

import functools
import html
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from werkzeug.routing import Rule
from werkzeug.wrappers import Response

from contracts.spec import Spec
from contracts.spec_text import MEDIA_TYPES, spec_bytes
from contracts.streams import default_streams
from mockserver.about import version
from mockserver.control import Control
from mockserver.web.admin import ADMIN_PATHS, ADMIN_PREFIX
from mockserver.web.encoding import JSON_TYPE, encode
from mockserver.web.requestlog import iso_ms
from mockserver.web.requests import ApiRequest

__all__ = ["PAGE_HANDLERS", "PAGE_PATHS", "UI_PATH", "Page", "page_rules"]

TITLE = "ucloud-jobs: a mock of UCloud's Jobs API"
ABOUT = ("A stateful mock of the end-user Jobs API of UCloud, the research cloud of SDU eScience, on a "
         "deterministic clock: it answers what the contract at /openapi.yaml describes.")
#: The admin API's page for people (``web.ui``): the index links to it.
UI_PATH = ADMIN_PREFIX + "/ui"
HTML_TYPE = "text/html; charset=utf-8"
#: The index is a static page: no scripts, nothing from elsewhere, never framed.
_HTML_HEADERS = {"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
                 "X-Content-Type-Options": "nosniff"}
_STYLE = ("body{font-family:system-ui,sans-serif;max-width:48rem;margin:2rem auto;padding:0 1rem;line-height:1.5}"
          "code{background:#f2f2f2;padding:0 .2em}td{padding:0 1em 0 0;vertical-align:top}")


@dataclass(frozen=True)
class Page:
    """What a page handler works with: the control plane, the contract, and what this client may see."""

    control: Control
    spec: Spec
    request: ApiRequest
    admitted: bool  # whether the admin API would answer this client: it may see what the mock is playing


def page_rules() -> list[Rule]:
    """The pages' rules, for the one route table."""
    return [Rule(path, endpoint=endpoint, methods=["GET"]) for path, endpoint in _PATHS.items()]


# ------------------------------------------------------------------ the index
def index(page: Page) -> Response:
    """``GET /``: HTML for a browser (``Accept: text/html``), JSON for everyone else."""
    document = _index_document(page)
    best = page.request.accept_mimetypes.best_match(["application/json", "text/html"], default="application/json")
    if best == "text/html":
        return Response(_index_html(document), 200, _HTML_HEADERS, content_type=HTML_TYPE)
    return Response(encode(document), 200, content_type=JSON_TYPE)


def _index_document(page: Page) -> dict[str, Any]:
    playing = None
    if page.admitted:
        control = page.control
        playing = {**control.state(), "title": control.engine.scenario.title}
    links = {"openapi.yaml": "/openapi.yaml", "openapi.json": "/openapi.json", "ui": UI_PATH}
    admin = [{"method": method, "path": path} for method, path in ADMIN_PATHS.values()]
    api = [{"operation": operation.operation_id, "method": operation.method, "path": operation.path}
           for operation in page.spec.operations.values()]
    # The WebSocket calls (jobs.follow), from the AsyncAPI document: the upgrade is a GET on their path.
    websocket = [{"call": call.name, "path": call.address} for call in default_streams().values()]
    return {"server": TITLE, "version": version(), "about": ABOUT, "playing": playing, "links": links,
            "api": api, "websocket": websocket, "admin": {"admitted": page.admitted, "calls": admin}}


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _playing_html(playing: Mapping[str, Any] | None) -> str:
    if playing is None:
        return ("<p>What the mock is playing is for the admin API's clients: loopback clients, unless the server "
                "was started with <code>--admin-token</code> or <code>--allow-remote-admin</code>.</p>")
    script = playing["script"]
    waiting = f", waiting for <code>{_e(script['next'])}</code>" if script["next"] else ""
    return (f"<p>Scenario <code>{_e(playing['scenario'])}</code> ({_e(playing['title'] or 'untitled')}), profile "
            f"<code>{_e(playing['profile'])}</code>, era {_e(playing['era'])}.</p>\n"
            f"<p>Clock {_e(iso_ms(playing['nowMs']))} ({_e(playing['nowMs'])}); step {_e(script['played'])} of "
            f"{_e(script['steps'])} played{waiting}; {_e(playing['jobs'])} jobs, {_e(playing['requests'])} "
            "requests.</p>")


def _call_row(method: str, path: str, what: str = "") -> str:
    shown = f"<code>{_e(path)}</code>"
    if method == "GET" and path.startswith(ADMIN_PREFIX):
        shown = f'<a href="{_e(path)}">{shown}</a>'
    return f"<tr><td>{_e(method)}</td><td>{shown}</td><td>{_e(what)}</td></tr>"


def _index_html(document: Mapping[str, Any]) -> bytes:
    links = "".join(f'<li><a href="{_e(href)}">{_e(href)}</a></li>'
                    for name, href in document["links"].items() if name != "ui")
    ui = document["links"]["ui"]
    api = "".join(_call_row(call["method"], call["path"], call["operation"]) for call in document["api"])
    api += "".join(_call_row("WebSocket", call["path"], call["call"]) for call in document["websocket"])
    admin = "".join(_call_row(call["method"], call["path"]) for call in document["admin"]["calls"])
    return "\n".join([
        f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>{_e(TITLE)}</title>'
        f"<style>{_STYLE}</style></head><body>",
        f"<h1>{_e(TITLE)}</h1>", f"<p>{_e(ABOUT)} Version {_e(document['version'])}.</p>",
        f'<p>The jobs, their timeline on the mock\'s clock, the scenario, faults and traffic: <a href="{_e(ui)}">'
        f"the page at {_e(ui)}</a> (for the admin API's clients).</p>",
        "<h2>Playing</h2>", _playing_html(document["playing"]),
        "<h2>The contract</h2>", f"<ul>{links}</ul>",
        "<h2>The Jobs API</h2>", "<p>Every call takes <code>Authorization: Bearer TOKEN</code>; a WebSocket "
                                 "call takes the bearer in its envelope.</p>",
        f"<table>{api}</table>",
        "<h2>The admin API</h2>", f"<table>{admin}</table>",
        "</body></html>\n"]).encode()


# ------------------------------------------------------------------ the contract
@functools.lru_cache(maxsize=8)
def _spec_body(spec: Spec, fmt: str) -> bytes:
    return spec_bytes(fmt, spec)


def openapi_yaml(page: Page) -> Response:
    """``GET /openapi.yaml``: the contract as written."""
    return Response(_spec_body(page.spec, "yaml"), 200, content_type=MEDIA_TYPES["yaml"])


def openapi_json(page: Page) -> Response:
    """``GET /openapi.json``: the same document as JSON."""
    return Response(_spec_body(page.spec, "json"), 200, content_type=MEDIA_TYPES["json"])


PageHandler = Callable[[Page], Response]

_PATHS = {"/": "page.index", "/openapi.yaml": "page.openapi_yaml", "/openapi.json": "page.openapi_json"}
PAGE_PATHS = frozenset(_PATHS)
PAGE_HANDLERS: dict[str, PageHandler] = {"page.index": index, "page.openapi_yaml": openapi_yaml,
                                         "page.openapi_json": openapi_json}
