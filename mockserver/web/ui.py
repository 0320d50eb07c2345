"""The page at ``/_mock/ui``: the mock's jobs, their timelines on the virtual clock, the scenario, the faults and
the traffic, for people who run the mock beside the client they are building.

It is part of the admin API (the same loopback-or-token rule, Host and Origin checks) and uses nothing else: the
HTML, CSS and JavaScript ship inside the package (``mockserver/web/assets/``) and are served from here, with no
build step and nothing from elsewhere. The script reads and writes through the admin API's JSON calls. The
Content-Security-Policy allows only this server's own script, style and JSON, so a job name or a request body
that holds markup stays text even if a bug ever let it into the document.
"""

from __future__ import annotations

import functools
import html
from importlib import resources

from werkzeug.wrappers import Response

from contracts.spec import Spec
from mockserver.control import Control
from mockserver.web.requests import ApiRequest

__all__ = ["CONTENT_SECURITY_POLICY", "page_script", "page_style", "show_page"]

CONTENT_SECURITY_POLICY = ("default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
                           "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
_HEADERS = {"Content-Security-Policy": CONTENT_SECURITY_POLICY, "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer", "Cache-Control": "no-cache"}


@functools.cache
def _asset(name: str) -> bytes:
    """A file of the page, read once from the package."""
    return (resources.files("mockserver.web") / "assets" / name).read_bytes()


def _options(values: tuple[str, ...]) -> str:
    return "".join(f'<option value="{html.escape(value)}">{html.escape(value)}</option>' for value in values)


@functools.lru_cache(maxsize=8)
def _html(spec: Spec, states: tuple[str, ...]) -> bytes:
    """The page with the contract's operations and job states in its pickers (read from the spec, not typed)."""
    text = _asset("ui.html").decode("utf-8")
    text = text.replace("<!--operations-->", _options(tuple(spec.operations))).replace("<!--states-->",
                                                                                       _options(states))
    return text.encode("utf-8")


def _answer(body: bytes, content_type: str) -> Response:
    return Response(body, 200, _HEADERS, content_type=content_type)


def show_page(control: Control, request: ApiRequest) -> Response:
    """GET /_mock/ui: the page."""
    return _answer(_html(control.contract.spec, control.engine.vocabulary.job_states), "text/html; charset=utf-8")


def page_script(control: Control, request: ApiRequest) -> Response:
    """GET /_mock/ui/ui.js: the page's script."""
    return _answer(_asset("ui.js"), "text/javascript; charset=utf-8")


def page_style(control: Control, request: ApiRequest) -> Response:
    """GET /_mock/ui/ui.css: the page's style."""
    return _answer(_asset("ui.css"), "text/css; charset=utf-8")
