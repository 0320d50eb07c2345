"""The admin API under ``/_mock/``: reset, clock, journal, scenario and faults, for tests and development.

It is a router of its own, so UCloud's routes stay exactly the spec's. By default it answers loopback clients
only; a token, or an explicit flag, lets others in.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import Map, RequestRedirect, Rule

from contracts.errors import ContractError
from contracts.scenario import list_scenarios, resolve_scenario
from mockserver.bodies import parse_json, read_body
from mockserver.errors import ApiError
from mockserver.faults import parse_faults
from mockserver.profiles import PROFILES, profile_named

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment

    from mockserver.app import MockApp

__all__ = ["ADMIN_ROUTES", "AdminPolicy", "admin_response"]

TOKEN_HEADER = "HTTP_X_MOCK_ADMIN_TOKEN"


@dataclass(frozen=True)
class AdminPolicy:
    """Who may use the admin API: loopback clients, anyone with ``token``, or everyone if ``allow_remote``."""

    allow_remote: bool = False
    token: str | None = None

    def check(self, environ: WSGIEnvironment) -> None:
        """Refuse with 403 a client the policy does not admit."""
        if self.allow_remote or _is_loopback(environ.get("REMOTE_ADDR", "")):
            return
        if self.token is not None:
            given = environ.get(TOKEN_HEADER, "")
            if hmac.compare_digest(given.encode("utf-8", "replace"), self.token.encode("utf-8")):
                return
            raise ApiError(403, "The admin API needs the X-Mock-Admin-Token header from a client that is not "
                                "on the loopback interface")
        raise ApiError(403, "The admin API answers only loopback clients (start the server with "
                            "--admin-token or --allow-remote-admin to open it)")


def _is_loopback(address: str) -> bool:
    if not address:
        return True  # no network peer: the app is called in-process (werkzeug.test.Client, the plugin's app)
    try:
        return ipaddress.ip_address(address.split("%", maxsplit=1)[0]).is_loopback
    except ValueError:
        return False


AdminHandler = Callable[["MockApp", "WSGIEnvironment"], Any]


def _read_json(environ: WSGIEnvironment) -> dict[str, Any]:
    raw = read_body(environ)
    document = parse_json(raw) if raw.strip() else {}
    if not isinstance(document, dict):
        raise ApiError(400, "Bad Request: the admin API takes a JSON object")
    return document


def _integer(document: dict[str, Any], key: str) -> int:
    value = document[key]
    if isinstance(value, bool) or not isinstance(value, int):
        raise ApiError(400, f"Bad Request: {key} must be an integer (milliseconds)")
    return value


def reset(app: MockApp, environ: WSGIEnvironment) -> Any:
    """POST /_mock/reset: forget every job and restart the current scenario."""
    app.load_scenario(app.engine.scenario, app.engine.profile)
    return _state(app)


def get_clock(app: MockApp, environ: WSGIEnvironment) -> Any:
    """GET /_mock/clock."""
    return {"nowMs": app.engine.now()}


def move_clock(app: MockApp, environ: WSGIEnvironment) -> Any:
    """POST /_mock/clock with {"advanceMs": n} or {"setMs": t}."""
    document = _read_json(environ)
    if set(document) == {"advanceMs"}:
        return {"nowMs": app.engine.advance(_integer(document, "advanceMs"))}
    if set(document) == {"setMs"}:
        return {"nowMs": app.engine.set_time(_integer(document, "setMs"))}
    raise ApiError(400, 'Bad Request: send {"advanceMs": n} or {"setMs": t}')


def journal(app: MockApp, environ: WSGIEnvironment) -> Any:
    """GET /_mock/journal[?limit=n]: the recent requests and answers, oldest first."""
    limit = next(iter(parse_qs(environ.get("QUERY_STRING", "")).get("limit", [])), None)
    if limit is not None and not (limit.isascii() and limit.isdigit()):  # int() refuses "²", a Unicode digit
        raise ApiError(400, "Bad Request: limit must be a non-negative integer")
    # A limit past any journal's size means all of it (and int() refuses more than 4300 digits).
    return app.journal.snapshot(None if limit is None or len(limit) > 18 else int(limit))


def clear_journal(app: MockApp, environ: WSGIEnvironment) -> Any:
    """DELETE /_mock/journal."""
    app.journal.clear()
    return app.journal.snapshot()


def get_scenario(app: MockApp, environ: WSGIEnvironment) -> Any:
    """GET /_mock/scenario: the current scenario and the ones that can be loaded."""
    return {**_state(app), "available": sorted(list_scenarios(app.scenario_dirs)), "profiles": sorted(PROFILES)}


def load_scenario(app: MockApp, environ: WSGIEnvironment) -> Any:
    """POST /_mock/scenario with {"name": ..., "profile": ...}: load a bundled or configured scenario by name."""
    document = _read_json(environ)
    name, profile = document.get("name"), document.get("profile")
    if not isinstance(name, str):
        raise ApiError(400, 'Bad Request: send {"name": "<scenario>"} (and optionally "profile")')
    if profile is not None and (not isinstance(profile, str) or profile not in PROFILES):
        raise ApiError(400, f"Bad Request: unknown profile {profile!r}; known profiles: {', '.join(PROFILES)}")
    try:
        scenario = resolve_scenario(name, app.scenario_dirs, allow_paths=False)
        app.load_scenario(scenario, profile_named(profile) if profile else None)
    except ContractError as error:
        raise ApiError(404, str(error)) from None
    return _state(app)


def get_faults(app: MockApp, environ: WSGIEnvironment) -> Any:
    """GET /_mock/faults."""
    return {"faults": app.faults.snapshot()}


def set_faults(app: MockApp, environ: WSGIEnvironment) -> Any:
    """POST /_mock/faults with {"faults": [...]}: replace the active faults."""
    document = _read_json(environ)
    app.faults.replace(parse_faults(document.get("faults"), app.contract.spec.operations))
    return {"faults": app.faults.snapshot()}


def clear_faults(app: MockApp, environ: WSGIEnvironment) -> Any:
    """DELETE /_mock/faults."""
    app.faults.clear()
    return {"faults": []}


def health(app: MockApp, environ: WSGIEnvironment) -> Any:
    """GET /_mock/health."""
    return {"status": "ok", **_state(app)}


def _state(app: MockApp) -> dict[str, Any]:
    engine = app.engine
    return {"scenario": engine.scenario.name, "profile": engine.profile.name, "nowMs": engine.now(),
            "jobs": len(engine.jobs), "requests": engine.requests_seen}


ADMIN_ROUTES: dict[str, AdminHandler] = {
    "reset": reset,
    "clock.get": get_clock,
    "clock.move": move_clock,
    "journal.get": journal,
    "journal.clear": clear_journal,
    "scenario.get": get_scenario,
    "scenario.load": load_scenario,
    "faults.get": get_faults,
    "faults.set": set_faults,
    "faults.clear": clear_faults,
    "health": health,
}

_MAP = Map([
    Rule("/_mock/reset", endpoint="reset", methods=["POST"]),
    Rule("/_mock/clock", endpoint="clock.get", methods=["GET"]),
    Rule("/_mock/clock", endpoint="clock.move", methods=["POST"]),
    Rule("/_mock/journal", endpoint="journal.get", methods=["GET"]),
    Rule("/_mock/journal", endpoint="journal.clear", methods=["DELETE"]),
    Rule("/_mock/scenario", endpoint="scenario.get", methods=["GET"]),
    Rule("/_mock/scenario", endpoint="scenario.load", methods=["POST"]),
    Rule("/_mock/faults", endpoint="faults.get", methods=["GET"]),
    Rule("/_mock/faults", endpoint="faults.set", methods=["POST"]),
    Rule("/_mock/faults", endpoint="faults.clear", methods=["DELETE"]),
    Rule("/_mock/health", endpoint="health", methods=["GET"]),
], strict_slashes=False, merge_slashes=False).bind("ucloud-jobs-mock")


def admin_response(app: MockApp, environ: WSGIEnvironment, path: str) -> tuple[int, dict[str, str], bytes]:
    """Serve one admin request: status, extra headers, JSON body."""
    try:
        app.admin.check(environ)
        try:
            endpoint, _ = _MAP.match(path, environ.get("REQUEST_METHOD", "GET"))
        except MethodNotAllowed as error:
            allowed = ", ".join(sorted(set(error.valid_methods or ())))
            raise ApiError(405, "Method Not Allowed", headers={"Allow": allowed}) from None
        except (NotFound, RequestRedirect):
            raise ApiError(404, "Not Found: the admin API has /_mock/reset, /_mock/clock, /_mock/journal, "
                                "/_mock/scenario, /_mock/faults and /_mock/health") from None
        payload = ADMIN_ROUTES[str(endpoint)](app, environ)
        return 200, {}, json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    except ApiError as error:
        return error.status, error.headers, error.body()
