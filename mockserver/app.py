"""The WSGI application: routing, authentication, faults and error rendering around thin handlers."""

from __future__ import annotations

import functools
import json
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.http import HTTP_STATUS_CODES
from werkzeug.routing import RequestRedirect

from contracts.errors import ContractError, ContractViolation
from contracts.scenario import Scenario, resolve_scenario
from contracts.shape import prune
from contracts.validation import Contract, default_contract
from contracts.wire import decode_query
from mockserver.admin import AdminPolicy, admin_response
from mockserver.auth import Authenticator
from mockserver.bodies import parse_json, read_body
from mockserver.clock import Clock, SystemClock
from mockserver.encoding import Encoded, encode
from mockserver.engine import Engine
from mockserver.errors import ApiError, error_body
from mockserver.faults import Fault, Faults, parse_faults
from mockserver.handlers import HANDLERS
from mockserver.journal import Journal
from mockserver.profiles import Profile, profile_named
from mockserver.routing import api_routes

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

__all__ = ["MockApp", "ServerError", "create_app"]

JSON_TYPE = "application/json; charset=utf-8"
DEFAULT_SCENARIO = "extend-and-terminate"


@dataclass(frozen=True)
class ServerError:
    """An exception inside the mock while serving a request: a bug of the mock, surfaced to the test."""

    method: str
    path: str
    operation: str | None
    traceback: str

    def __str__(self) -> str:
        return f"{self.method} {self.path} ({self.operation}) failed inside the mock server:\n{self.traceback}"


def scenario_faults(scenario: Scenario, contract: Contract) -> list[Fault]:
    """The faults a scenario sets; ``ContractError`` naming the scenario file and the fault if one is malformed."""
    try:
        return parse_faults(list(scenario.faults), contract.spec.operations)
    except ApiError as error:
        raise ContractError(f"{scenario.source}: {error.why}") from None


def bad_request(violation: ContractViolation) -> ApiError:
    """A 400 whose ``why`` names the field and the rule, in UCloud's words where UCloud has them."""
    for item in violation.violations:
        if item.pointer == "/items" and item.keyword == "minItems":
            return ApiError(400, "Request must not be empty")
        if item.pointer == "/items" and item.keyword == "maxItems":
            return ApiError(400, "Request cannot exceed 1000 items")
        if item.pointer == "/itemsToSkip":
            return ApiError(400, "Invalid offset")
        if item.keyword == "not" and item.pointer.endswith("/timeAllocation"):  # the spec's "not a zero duration"
            return ApiError(400, "Time allocated for job is too short.")
    shown = "; ".join(str(item) for item in violation.violations[:5])
    more = len(violation.violations) - 5
    return ApiError(400, f"Bad Request: {shown}" + (f" (and {more} more)" if more > 0 else ""))


class _Request:
    """One API request as the handlers see it (see ``handlers.RequestContext``)."""

    def __init__(self, app: MockApp, environ: WSGIEnvironment) -> None:
        self.app = app
        self.engine = app.engine
        self.environ = environ
        self.raw_body = b""

    def body(self, operation_id: str) -> Any:
        document = parse_json(self._read())
        contract = self.app.contract
        try:
            contract.validate_request(operation_id, document)
        except ContractViolation as violation:
            raise bad_request(violation) from None
        schema = contract.spec.operation(operation_id).request_schema
        return document if schema is None else prune(contract.spec, document, schema)

    def query(self, operation_id: str) -> dict[str, Any]:
        return dict(self.app.decoded_query(operation_id, self.environ.get("QUERY_STRING", "")))

    def _read(self) -> bytes:
        self.raw_body = read_body(self.environ)
        return self.raw_body


class MockApp:
    """The mock of the Jobs API as a WSGI application; build it with ``create_app``."""

    def __init__(self, engine: Engine, *, contract: Contract, authenticator: Authenticator, journal: Journal,
                 faults: Faults, scenario_dirs: Sequence[Path], admin: AdminPolicy,
                 validate_responses: bool) -> None:
        self.engine = engine
        self.contract = contract
        self.authenticator = authenticator
        self.journal = journal
        self.faults = faults
        self.scenario_dirs = tuple(scenario_dirs)
        self.admin = admin
        self.validate_responses = validate_responses
        self.errors: deque[ServerError] = deque(maxlen=100)
        self._errors_lock = threading.Lock()
        self._routes = api_routes(contract.spec).bind("ucloud-jobs-mock")
        self._matched: dict[tuple[str, str], str] = {}  # Werkzeug's answers for the paths that matched
        self._decode_cached = functools.lru_cache(maxsize=512)(self._decode)
        self.sleep: Callable[[float], None] = time.sleep
        #: Called with every ServerError as it happens (``ucloud-jobs serve`` prints them to stderr).
        self.on_error: Callable[[ServerError], None] | None = None

    def decoded_query(self, operation_id: str, query: str) -> tuple[tuple[str, Any], ...]:
        """The typed parameters of a query string; the same strings recur, so answers are remembered."""
        return self._decode_cached(operation_id, query)

    def _decode(self, operation_id: str, query: str) -> tuple[tuple[str, Any], ...]:
        args = parse_qs(query, keep_blank_values=True)
        try:
            return tuple(decode_query(self.contract.spec.operation(operation_id), args).items())
        except ContractViolation as violation:
            raise bad_request(violation) from None

    # ------------------------------------------------------------------ scenarios
    def load_scenario(self, scenario: Scenario, profile: Profile | None = None) -> None:
        """Start ``scenario`` from the beginning (its own profile unless one is given); faults come from it.

        A scenario whose faults are malformed raises ``ContractError`` and changes nothing.
        """
        faults = scenario_faults(scenario, self.contract)
        self.engine.reset(scenario, profile)
        self.faults.replace(faults)
        self.journal.clear()

    def take_errors(self) -> list[ServerError]:
        """The server errors recorded since the last call, oldest first (the pytest plugin fails tests with them)."""
        with self._errors_lock:
            errors = list(self.errors)
            self.errors.clear()
        return errors

    # ------------------------------------------------------------------ WSGI
    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "") or "/"
        if path == "/_mock" or path.startswith("/_mock/"):
            try:
                status, headers, body = admin_response(self, environ, path)
            except Exception:  # a bug of the mock: answered as JSON and surfaced, like one in the API
                status, headers, body = 500, {}, error_body("Internal Server Error")
                self._record_error(environ, path, None, traceback.format_exc())
            return self._send(start_response, status, headers, body)
        request = _Request(self, environ)
        operation: str | None = None
        user: str | None = None
        extra: dict[str, str] = {}
        try:
            operation = self._route(environ, path)
            caller = self.authenticator.caller(environ.get("HTTP_AUTHORIZATION"), environ.get("HTTP_PROJECT"))
            user = caller.username
            self._apply_fault(operation)
            payload = HANDLERS[operation](request, caller)
            status = 200
            body = payload if isinstance(payload, Encoded) else encode(payload)
            if self.validate_responses:
                self._check_response(environ, path, operation, json.loads(body))
        except ApiError as error:
            status, body, extra = error.status, error.body(), error.headers
        except Exception:
            status, body = 500, error_body("Internal Server Error")
            self._record_error(environ, path, operation, traceback.format_exc())
        self.journal.record(clock_ms=self.engine.clock.now_ms(), method=environ.get("REQUEST_METHOD", ""),
                            path=path, query=environ.get("QUERY_STRING", ""), operation=operation, user=user,
                            status=status, request=request.raw_body, response=body)
        return self._send(start_response, status, extra, body)

    def _route(self, environ: WSGIEnvironment, path: str) -> str:
        method = environ.get("REQUEST_METHOD", "GET")
        known = self._matched.get((path, method))
        if known is not None:
            return known
        try:
            endpoint, _ = self._routes.match(path, method)
        except MethodNotAllowed as error:
            allowed = ", ".join(sorted(set(error.valid_methods or ())))
            raise ApiError(405, "Method Not Allowed", headers={"Allow": allowed}) from None
        except (NotFound, RequestRedirect):
            raise ApiError(404, "Not Found") from None
        if len(self._matched) < 64:  # the routes have no variables: only a handful of (path, method) pairs match
            self._matched[(path, method)] = str(endpoint)
        return str(endpoint)

    def _apply_fault(self, operation: str) -> None:
        fault = self.faults.take(operation)
        if fault is None:
            return
        if fault.latency_ms:
            self.sleep(fault.latency_ms / 1000)
        if fault.status is not None:
            raise ApiError(fault.status, fault.why or HTTP_STATUS_CODES.get(fault.status, "Error"))

    def _check_response(self, environ: WSGIEnvironment, path: str, operation: str, payload: Any) -> None:
        try:
            self.contract.validate_response(operation, 200, payload)
        except ContractViolation as violation:
            self._record_error(environ, path, operation, f"the mock's own answer breaks the contract: {violation}")

    def _record_error(self, environ: WSGIEnvironment, path: str, operation: str | None, text: str) -> None:
        error = ServerError(environ.get("REQUEST_METHOD", ""), path, operation, text)
        with self._errors_lock:
            self.errors.append(error)
        if self.on_error is not None:
            self.on_error(error)

    @staticmethod
    def _send(start_response: StartResponse, status: int, headers: Mapping[str, str], body: bytes) -> list[bytes]:
        reason = HTTP_STATUS_CODES.get(status, "Unknown")
        start_response(f"{status} {reason}", [("Content-Type", JSON_TYPE), ("Content-Length", str(len(body))),
                                              *headers.items()])
        return [body]


def create_app(*, scenario: Scenario | str | None = None, profile: str | Profile | None = None,
               clock: Clock | None = None, real_clock: bool = False, users: Mapping[str, str] | None = None,
               scenario_dirs: Sequence[str | Path] = (), journal_size: int = 1000,
               admin: AdminPolicy | None = None, validate_responses: bool = False,
               contract: Contract | None = None) -> MockApp:
    """Build the mock: a scenario (by name, or the seed), a profile (the scenario's unless given), a clock.

    The clock is virtual, starting at the scenario's start, unless ``clock`` is given or ``real_clock`` is set.
    ``users`` maps bearer tokens to usernames; without it any non-empty token is accepted.
    """
    folders = tuple(Path(folder) for folder in scenario_dirs)
    if scenario is None:
        scenario = DEFAULT_SCENARIO
    if isinstance(scenario, str):
        scenario = resolve_scenario(scenario, folders)
    chosen = profile_named(profile) if isinstance(profile, str) else profile
    contract = contract if contract is not None else default_contract()
    faults = Faults()
    faults.replace(scenario_faults(scenario, contract))
    if clock is None and real_clock:
        clock = SystemClock()
    engine = Engine(scenario, profile=chosen, clock=clock)
    return MockApp(engine, contract=contract, authenticator=Authenticator(users), journal=Journal(journal_size),
                   faults=faults, scenario_dirs=folders, admin=admin or AdminPolicy(),
                   validate_responses=validate_responses)
