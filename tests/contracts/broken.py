"""Deliberately broken providers: the mock with one defect each, added as WSGI middleware in front of it.

`ucloud-jobs verify` must catch every one of them (tests/contracts/test_verify.py, tests/plugin/test_plugin.py);
benchmarks/bench_verify.py times how long it takes to say so.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterable
from typing import Any

WsgiApp = Callable[[dict[str, Any], Any], Iterable[bytes]]
Defect = Callable[[WsgiApp], WsgiApp]

__all__ = ["DEFECTS", "Defect", "WsgiApp", "echo_token", "error_500", "extend_twice", "others_visible",
           "terminate_ignored", "wrong_type"]


def _body(environ: dict[str, Any]) -> bytes:
    length = int(environ.get("CONTENT_LENGTH") or 0)
    return environ["wsgi.input"].read(length) if length else b""


def _with_body(environ: dict[str, Any], body: bytes) -> dict[str, Any]:
    copy = dict(environ)
    copy["wsgi.input"] = io.BytesIO(body)
    copy["CONTENT_LENGTH"] = str(len(body))
    return copy


def _json_reply(start_response: Any, status: str, document: Any) -> list[bytes]:
    body = json.dumps(document).encode()
    start_response(status, [("Content-Type", "application/json; charset=utf-8"), ("Content-Length", str(len(body)))])
    return [body]


def extend_twice(app: WsgiApp) -> WsgiApp:
    """A provider that applies every extension twice."""

    def broken(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        if environ["PATH_INFO"] == "/api/jobs/extend":
            body = _body(environ)
            list(app(_with_body(environ, body), lambda *a: None))
            return app(_with_body(environ, body), start_response)
        return app(environ, start_response)

    return broken


def terminate_ignored(app: WsgiApp) -> WsgiApp:
    """A provider that answers terminate but leaves the job running."""

    def broken(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        if environ["PATH_INFO"] == "/api/jobs/terminate":
            items = json.loads(_body(environ))["items"]
            return _json_reply(start_response, "200 OK", {"responses": [{} for _ in items]})
        return app(environ, start_response)

    return broken


def wrong_type(app: WsgiApp) -> WsgiApp:
    """A provider that sends createdAt as a string."""

    def broken(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        if environ["PATH_INFO"] != "/api/jobs/retrieve":
            return app(environ, start_response)
        seen: list[Any] = []
        body = b"".join(app(environ, lambda status, headers, exc=None: seen.append(status)))
        document = json.loads(body)
        if seen[0].startswith("200"):
            document["createdAt"] = str(document["createdAt"])
        return _json_reply(start_response, seen[0], document)

    return broken


def error_500(app: WsgiApp) -> WsgiApp:
    """A provider that fails a valid extend with 500."""

    def broken(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        if environ["PATH_INFO"] == "/api/jobs/extend":
            return _json_reply(start_response, "500 Internal Server Error", {"why": "Internal Server Error"})
        return app(environ, start_response)

    return broken


def others_visible(app: WsgiApp) -> WsgiApp:
    """A provider that serves everyone as the first user, so another user's jobs are visible to them."""

    def broken(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        if environ["PATH_INFO"].startswith("/api/") and environ.get("HTTP_AUTHORIZATION"):
            environ = {**environ, "HTTP_AUTHORIZATION": "Bearer same-for-everyone"}
        return app(environ, start_response)

    return broken


def echo_token(app: WsgiApp) -> WsgiApp:
    """A provider that refuses extend with an error quoting the caller's Authorization header, token and all."""

    def broken(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        if environ["PATH_INFO"] == "/api/jobs/extend":
            why = f"{environ.get('HTTP_AUTHORIZATION')} may not extend jobs"
            return _json_reply(start_response, "403 Forbidden", {"why": why, "errorCode": "FORBIDDEN"})
        return app(environ, start_response)

    return broken


#: Each defect, the phase of `verify` that catches it first, and the evidence in its finding.
DEFECTS: list[tuple[Defect, str, str]] = [
    (extend_twice, "scenario extend-and-terminate", "extend moves expiresAt by exactly the requested time"),
    (terminate_ignored, "scenario extend-and-terminate", "terminate ends the job"),
    (wrong_type, "scenario extend-and-terminate", "/createdAt: '1633329776235' is not of type integer"),
    (error_500, "scenario extend-and-terminate", "answered 500"),
    (others_visible, "state machine", "expected 404, got 200"),
]
