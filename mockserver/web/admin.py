"""The admin API under ``/_mock/``: reset, clock, journal, scenario and faults, over the control plane; the
read calls of the page at ``/_mock/ui`` (``web.views``) and the page itself (``web.ui``).

By default it answers loopback clients only; a token, or an explicit flag, lets others in. Each handler takes
the ``Control`` and the request and returns the JSON payload (or, for the page, the ``Response``).
"""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from werkzeug.routing import Rule, Submount

from contracts.errors import ContractError
from mockserver.control import Control, ScenarioNotFound
from mockserver.domain.errors import InvalidTime
from mockserver.web import ui, views
from mockserver.web.errors import ApiError
from mockserver.web.faults import FaultError
from mockserver.web.requests import ApiRequest, parse_json

__all__ = ["ADMIN_HANDLERS", "ADMIN_PATHS", "ADMIN_PREFIX", "STATE_CHANGING", "AdminPolicy", "admin_not_found",
           "admin_rules", "require_json"]

ADMIN_PREFIX = "/_mock"
TOKEN_HEADER = "X-Mock-Admin-Token"
#: The methods of the admin calls that change the mock: they take JSON only.
STATE_CHANGING = frozenset({"POST", "DELETE"})


@dataclass(frozen=True)
class AdminPolicy:
    """Who may use the admin API: loopback clients, anyone with ``token``, or everyone if ``allow_remote``."""

    allow_remote: bool = False
    token: str | None = None

    def __post_init__(self) -> None:
        if self.token is not None and not self.token:
            raise ValueError("an empty admin token would admit every client that sends an empty header")

    def admits(self, request: ApiRequest) -> bool:
        """Whether the policy admits this client."""
        if self.allow_remote or _is_loopback(request.remote_addr or ""):
            return True
        if self.token is None:
            return False
        given = request.headers.get(TOKEN_HEADER, "")
        return hmac.compare_digest(given.encode("utf-8", "replace"), self.token.encode("utf-8"))

    def check(self, request: ApiRequest) -> None:
        """Refuse with 403 a client the policy does not admit."""
        if self.admits(request):
            return
        if self.token is not None:
            raise ApiError(403, f"The admin API needs the {TOKEN_HEADER} header from a client that is not on the "
                                "loopback interface")
        raise ApiError(403, "The admin API answers only loopback clients (start the server with --admin-token or "
                            "--allow-remote-admin to open it)")


def _is_loopback(address: str) -> bool:
    if not address:
        return True  # no network peer: the app is called in-process (werkzeug.test.Client, the plugin's app)
    try:
        return ipaddress.ip_address(address.split("%", maxsplit=1)[0]).is_loopback
    except ValueError:
        return False


def require_json(request: ApiRequest) -> None:
    """415 unless the request says ``Content-Type: application/json``.

    A web page may send text/plain, a form or multipart to any address without asking; for JSON its browser
    must first send a preflight, which the admin API never answers.
    """
    if request.mimetype != "application/json":
        raise ApiError(415, "The admin API takes POST and DELETE calls with Content-Type: application/json only "
                            "(so that no web page can send them without its browser asking first)")


AdminHandler = Callable[[Control, ApiRequest], Any]


def _json_object(request: ApiRequest) -> dict[str, Any]:
    raw = request.raw_body()
    document = parse_json(raw) if raw.strip() else {}
    if not isinstance(document, dict):
        raise ApiError(400, "Bad Request: the admin API takes a JSON object")
    return document


def _integer(document: dict[str, Any], key: str) -> int:
    value = document[key]
    if isinstance(value, bool) or not isinstance(value, int):
        raise ApiError(400, f"Bad Request: {key} must be an integer (milliseconds)")
    return value


def reset(control: Control, request: ApiRequest) -> Any:
    """POST /_mock/reset: forget every job and restart the current scenario."""
    control.reset()
    return control.state()


def get_clock(control: Control, request: ApiRequest) -> Any:
    """GET /_mock/clock."""
    return {"nowMs": control.now_ms()}


def move_clock(control: Control, request: ApiRequest) -> Any:
    """POST /_mock/clock with {"advanceMs": n} or {"setMs": t}."""
    document = _json_object(request)
    if set(document) not in ({"advanceMs"}, {"setMs"}):
        raise ApiError(400, 'Bad Request: send {"advanceMs": n} or {"setMs": t}')
    (key,) = document
    try:
        if key == "advanceMs":
            return {"nowMs": control.advance(_integer(document, key))}
        return {"nowMs": control.set_time(_integer(document, key))}
    except InvalidTime as error:  # the domain's words, and the key of the call that asked
        raise ApiError(400, f"Bad Request: {key}: {error.why}") from None


def clear_journal(control: Control, request: ApiRequest) -> Any:
    """DELETE /_mock/journal."""
    control.journal.clear()
    return control.journal.snapshot()


def get_scenario(control: Control, request: ApiRequest) -> Any:
    """GET /_mock/scenario: the current scenario and the ones that can be loaded."""
    return {**control.state(), "available": control.available(), "profiles": control.profiles(),
            "eras": control.eras()}


def load_scenario(control: Control, request: ApiRequest) -> Any:
    """POST /_mock/scenario with {"name": ..., "profile": ..., "era": ...}: load a scenario by name."""
    document = _json_object(request)
    name, profile, era = document.get("name"), document.get("profile"), document.get("era")
    if not isinstance(name, str):
        raise ApiError(400, 'Bad Request: send {"name": "<scenario>"} (and optionally "profile" and "era")')
    for key, value, known in (("profile", profile, control.profiles()), ("era", era, control.eras())):
        if value is not None and (not isinstance(value, str) or value not in known):
            raise ApiError(400, f"Bad Request: unknown {key} {value!r}; known: {', '.join(known)}")
    try:
        control.load_scenario(name, profile, era)
    except (ScenarioNotFound, ContractError) as error:
        raise ApiError(404, str(error)) from None
    return control.state()


def get_faults(control: Control, request: ApiRequest) -> Any:
    """GET /_mock/faults."""
    return {"faults": control.faults.snapshot()}


def set_faults(control: Control, request: ApiRequest) -> Any:
    """POST /_mock/faults with {"faults": [...]}: replace the active faults."""
    try:
        return {"faults": control.set_faults(_json_object(request).get("faults"))}
    except FaultError as error:
        raise ApiError(400, str(error)) from None


def clear_faults(control: Control, request: ApiRequest) -> Any:
    """DELETE /_mock/faults."""
    control.faults.clear()
    return {"faults": []}


def health(control: Control, request: ApiRequest) -> Any:
    """GET /_mock/health."""
    return {"status": "ok", **control.state()}


#: (path under /_mock, method, handler): the admin API, in the order the 404 lists it.
_ROUTES: tuple[tuple[str, str, AdminHandler], ...] = (
    ("/reset", "POST", reset),
    ("/clock", "GET", get_clock),
    ("/clock", "POST", move_clock),
    ("/journal", "GET", views.journal),
    ("/journal", "DELETE", clear_journal),
    ("/scenario", "GET", get_scenario),
    ("/scenario", "POST", load_scenario),
    ("/faults", "GET", get_faults),
    ("/faults", "POST", set_faults),
    ("/faults", "DELETE", clear_faults),
    ("/health", "GET", health),
    # what the page at /_mock/ui reads, and the page itself
    ("/jobs", "GET", views.jobs),
    ("/job", "GET", views.job),
    ("/timeline", "GET", views.timeline),
    ("/ui", "GET", ui.show_page),
    ("/ui/ui.js", "GET", ui.page_script),
    ("/ui/ui.css", "GET", ui.page_style),
)

ADMIN_HANDLERS: dict[str, AdminHandler] = {f"admin.{handler.__name__}": handler for _, _, handler in _ROUTES}

#: Where each admin call lives, by handler name ("reset", "move_clock", ...): for clients of the admin API.
ADMIN_PATHS: dict[str, tuple[str, str]] = {handler.__name__: (method, ADMIN_PREFIX + path)
                                           for path, method, handler in _ROUTES}


def admin_rules() -> Submount:
    """The admin API's rules, mounted under ``/_mock``."""
    return Submount(ADMIN_PREFIX, [Rule(path, endpoint=f"admin.{handler.__name__}", methods=[method])
                                   for path, method, handler in _ROUTES])


def admin_not_found() -> str:
    """The 404 ``why`` for a path under /_mock that is not a call of the admin API."""
    paths = list(dict.fromkeys(ADMIN_PREFIX + path for path, _, _ in _ROUTES))
    return f"Not Found: the admin API has {', '.join(paths[:-1])} and {paths[-1]}"
