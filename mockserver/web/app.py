"""The WSGI application: one route table, authentication, faults and the journal around thin handlers.

Requests are Werkzeug ``Request``s and answers Werkzeug ``Response``s; every error, whether the domain's,
Werkzeug's or the mock's own bug, is answered as UCloud's ``CommonErrorMessage`` (``web.errors``).
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from werkzeug.exceptions import HTTPException
from werkzeug.http import HTTP_STATUS_CODES
from werkzeug.routing import RequestRedirect
from werkzeug.wrappers import Response

from contracts.errors import ContractError, ContractViolation
from contracts.scenario import Scenario, resolve_scenario
from contracts.validation import Contract, default_contract
from mockserver.control import Control
from mockserver.domain.access import Caller
from mockserver.domain.clock import Clock, SystemClock
from mockserver.domain.engine import Engine, Limits
from mockserver.domain.errors import DomainError
from mockserver.domain.profiles import Profile, profile_named
from mockserver.web.admin import (
    ADMIN_HANDLERS,
    ADMIN_PREFIX,
    STATE_CHANGING,
    AdminPolicy,
    admin_not_found,
    require_json,
)
from mockserver.web.auth import DEFAULT_USER, Authenticator
from mockserver.web.encoding import JSON_TYPE, encode
from mockserver.web.errors import ApiError, from_domain, from_werkzeug
from mockserver.web.faults import Fault, Faults, LatencyWaits
from mockserver.web.follow import Followers, FollowStream
from mockserver.web.follow_socket import FollowSocket
from mockserver.web.handlers import API_HANDLERS, ApiCall, Query
from mockserver.web.journal import DEFAULT_JOURNAL_BYTES, DEFAULT_JOURNAL_SIZE, Journal
from mockserver.web.memo import DEFAULT_KEY_BYTES, Memo, UrlCache
from mockserver.web.offload import Offload
from mockserver.web.pages import PAGE_HANDLERS, PAGE_PATHS, Page
from mockserver.web.requestlog import RequestRecord, RequestSink
from mockserver.web.requests import ApiRequest
from mockserver.web.routing import not_found_why, routes
from mockserver.web.sites import SitePolicy

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

__all__ = ["DEFAULT_SCENARIO", "MockApp", "ServerError", "create_app"]

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


class MockApp:
    """The mock of the Jobs API as a WSGI application; build it with ``create_app``."""

    def __init__(self, control: Control, *, authenticator: Authenticator, admin: AdminPolicy,
                 validate_responses: bool, sites: SitePolicy | None = None,
                 cache_key_bytes: int = DEFAULT_KEY_BYTES, request_log: RequestSink | None = None) -> None:
        self.control = control
        self.engine = control.engine
        self.contract = control.contract
        self.journal = control.journal
        self.faults = control.faults
        self.authenticator = authenticator
        self.admin = admin
        #: The names the server answers to, and the origins it trusts (web.sites).
        self.sites = sites if sites is not None else SitePolicy()
        self.validate_responses = validate_responses
        self.errors: deque[ServerError] = deque(maxlen=100)
        self._errors_lock = threading.Lock()
        self._routes = routes(self.contract.spec).bind("ucloud-jobs-mock")
        # Fast paths the server benchmark keeps (web.memo): routes have no variables, so few (path, method) pairs
        # match; clients repeat their query strings; the engine hands out an unchanged job's JSON again.
        self._matched: Memo[tuple[str, str], str] = Memo(entries=64, key_limit=cache_key_bytes,
                                                         size=lambda key: len(key[0]))
        self._queries: Memo[tuple[str, bytes], Query] = Memo(entries=512, key_limit=cache_key_bytes,
                                                               size=lambda key: len(key[1]))
        self._urls = UrlCache(cache_key_bytes)
        control.caches += [self._matched, self._queries, authenticator.subjects, self._urls]
        #: Held while a request with a large body is handled (web.requests.LARGE_BODY_BYTES): one at a time.
        self._large_body = threading.Lock()
        #: The waits of latency faults, which the server ends when it stops.
        self.waits = LatencyWaits()
        #: How a latency fault waits (tests replace it).
        self.sleep: Callable[[float], None] = self.waits.wait
        #: The wall clock, in epoch ms: only for the journal and the request log, never for the mock's behaviour.
        self.wall_ms: Callable[[], int] = lambda: _wall_ns() // 1_000_000
        #: The streams of jobs.follow, fed from the engine's changes.
        self.followers = Followers(self.engine)
        #: The WebSocket side of the app (jobs.follow at /api/jobs), for the socket server.
        self.websocket = FollowSocket(self)
        #: Which requests the socket server answers in its thread pool (web.offload).
        self.offload = Offload(self.contract.spec, self.faults)
        #: Called with every ServerError as it happens (``ucloud-jobs serve`` prints them to stderr).
        self.on_error: Callable[[ServerError], None] | None = None
        #: Called after every request with its RequestRecord (``ucloud-jobs serve`` writes a line to stderr).
        self.request_log: RequestSink | None = request_log
        #: Seconds, for the request log's durations only.
        self.timer: Callable[[], float] = time.perf_counter

    def follow(self, job_id: str, *, user: str = DEFAULT_USER, project: str | None = None,
               stream_id: str = "0") -> FollowStream:
        """jobs.follow in process, as ``user`` (in ``project``): the stream's frames, its first message already
        due. ``ApiError`` (404, 403) as the WebSocket would refuse it; see ``FollowStream`` for how to read it."""
        stream = FollowStream(self.followers, stream_id)
        try:
            self.engine.follow(Caller(user, project), job_id,
                               lambda job, first: self.followers.start(job, first, stream))
        except DomainError as error:
            raise from_domain(error) from None
        return stream

    def take_errors(self) -> list[ServerError]:
        """The server errors recorded since the last call, oldest first (the pytest plugin fails tests with them)."""
        with self._errors_lock:
            errors = list(self.errors)
            self.errors.clear()
        return errors

    # ------------------------------------------------------------------ WSGI
    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        started = self.timer()
        # Not kept in the environ: a cycle of the two would keep the body (1 MiB) until the cyclic GC runs.
        request = ApiRequest(environ, populate_request=False)
        path = environ.get("PATH_INFO", "") or "/"
        seen = _Seen()
        answer = self._respond(request, path, seen)
        self._urls.forget_if_long(len(path) + len(environ.get("QUERY_STRING", "")))
        if isinstance(answer, Response):
            if self.request_log is not None:
                self._log(request, path, (answer.status_code, answer.content_length or 0), seen, started)
            return answer(environ, start_response)
        if self.request_log is not None:
            self._log(request, path, (answer[0], len(answer[2])), seen, started)
        return self._send(environ, start_response, *answer)

    def _respond(self, request: ApiRequest, path: str, seen: _Seen) -> Response | _Direct:
        try:
            self.sites.check_host(request.environ.get("HTTP_HOST"))
        except ApiError as refused:  # a request for another name (DNS rebinding): not this server's business
            return _refusal(refused, seen)
        if path == ADMIN_PREFIX or path.startswith(ADMIN_PREFIX + "/"):
            return self._admin(request, path, seen)
        if path in PAGE_PATHS:
            return self._page(request, path, seen)
        if request.method == "OPTIONS" and self.sites.cors_origins and \
                "Access-Control-Request-Method" in request.headers:
            return self._preflight(request, path, seen)
        return self._api(request, path, seen)

    def _api(self, request: ApiRequest, path: str, seen: _Seen) -> _Direct:
        headers: Mapping[str, str] = {}
        self.engine.forget_cue()
        try:
            operation = seen.operation = self._match(request, not_found_why)
            caller = self.authenticator.caller(request.headers.get("Authorization"), request.headers.get("Project"))
            seen.user = caller.username
            self._apply_fault(operation, seen)
            call = ApiCall(request, self.contract, self.engine, self._queries)
            with self._large_body if request.large else contextlib.nullcontext():
                if request.method == "HEAD":  # a HEAD request looks; it plays no step of the script
                    with self.engine.probing():
                        payload = API_HANDLERS[operation](call, caller)
                else:
                    payload = API_HANDLERS[operation](call, caller)
            body = payload if isinstance(payload, bytes) else encode(payload)  # a retrieve comes encoded
            status = 200
            if self.validate_responses:
                self._check_response(request, path, operation, body)
        except Exception as error:  # every failure is answered; the mock's own bugs are also recorded
            answer = self._error(error, request, path, seen.operation)
            status, body, headers, seen.why = answer.code or 500, answer.body(), answer.extra_headers, answer.why
        if self.sites.cors_origins:
            headers = {**headers, **self.sites.cors_headers(request.headers.get("Origin"))}
        cue = self.engine.cue()
        seen.script = None if cue is None else cue.describe()
        self.journal.record(clock_ms=self.engine.clock.now_ms(), wall_ms=self.wall_ms(), method=request.method,
                            path=path, query=request.environ.get("QUERY_STRING", ""), operation=seen.operation,
                            user=seen.user, status=status, request=request.body_read, response=body,
                            script=seen.script, evicted=self.engine.forgotten())
        return status, headers, body

    @staticmethod
    def _send(environ: WSGIEnvironment, start_response: StartResponse, status: int, headers: Mapping[str, str],
              body: bytes) -> list[bytes]:
        """An API answer, written directly: through Werkzeug's Response object it took two fifths of a retrieve's
        time in the app (benchmarks/RESULTS.md, "request path"), for a body that is always JSON bytes of a known
        length."""
        start_response(f"{status} {HTTP_STATUS_CODES.get(status, 'Unknown')}",
                       [("Content-Type", JSON_TYPE), ("Content-Length", str(len(body))), *headers.items()])
        return [] if environ.get("REQUEST_METHOD") == "HEAD" else [body]

    def _admin(self, request: ApiRequest, path: str, seen: _Seen) -> Response:
        try:
            self.admin.check(request)
            self.sites.check_admin_origin(request.headers.get("Origin"), request.headers.get("Host"))
            endpoint = seen.operation = self._match(request, lambda path: admin_not_found())
            handler = ADMIN_HANDLERS.get(endpoint)
            if handler is None:
                raise ApiError(404, admin_not_found())
            if request.method in STATE_CHANGING:
                require_json(request)
            with self._large_body if request.large else contextlib.nullcontext():
                answer = handler(self.control, request)
            if isinstance(answer, Response):  # the page at /_mock/ui and its files
                return answer
            body = answer if isinstance(answer, bytes) else encode(answer)  # the journal comes encoded
            return Response(body, 200, content_type=JSON_TYPE)
        except Exception as error:  # every failure is answered; the mock's own bugs are also recorded
            return _refusal(self._error(error, request, path, None), seen)

    def _page(self, request: ApiRequest, path: str, seen: _Seen) -> Response:
        """The index and the contract: the Host check passed; the index shows the mock's state to admin clients."""
        origin = request.headers.get("Origin")
        try:
            endpoint = seen.operation = self._match(request, lambda path: "Not Found")
            admitted = self.admin.admits(request) and (
                origin is None or not self.sites.is_foreign(origin, request.headers.get("Host")))
            page = Page(self.control, self.contract.spec, request, admitted=admitted)
            response = PAGE_HANDLERS[endpoint](page)
        except Exception as error:  # every failure is answered; the mock's own bugs are also recorded
            return _refusal(self._error(error, request, path, None), seen)
        if endpoint != "page.index":  # a page of a --cors origin may read the contract (a simple GET)
            response.headers.update(self.sites.cors_headers(origin))
        return response

    def _preflight(self, request: ApiRequest, path: str, seen: _Seen) -> Response:
        """A browser asks whether a page of its origin may call the Jobs API (only with ``--cors``)."""
        seen.operation = "preflight"
        try:
            methods = self._routes.allowed_methods(path)
            if not methods:
                raise ApiError(404, "Not Found")
            headers = self.sites.preflight(request.headers.get("Origin"), sorted(methods))
        except ApiError as refused:
            return _refusal(refused, seen)
        return Response(b"", 204, headers)

    def _log(self, request: ApiRequest, path: str, sent: tuple[int, int], seen: _Seen, started: float) -> None:
        """Hand the request log its record (``sent``: the status and the body's size); a log that fails is the
        mock's bug, never the client's answer."""
        assert self.request_log is not None
        fault = seen.fault
        record = RequestRecord(
            wall_ms=self.wall_ms(), clock_ms=self.engine.clock.now_ms(), client=request.remote_addr or "-",
            method=request.method, path=path, query=request.environ.get("QUERY_STRING", ""),
            operation=seen.operation, user=seen.user, status=sent[0], duration_ms=(self.timer() - started) * 1000,
            response_bytes=sent[1], why=seen.why, fault=None if fault is None else fault.describe(),
            script=seen.script)
        try:
            self.request_log(record)
        except Exception:  # the mock's own bug: recorded for the test, and the client still gets its answer
            self._record_error(request.method, path, seen.operation,
                               "the request log failed:\n" + traceback.format_exc())

    def _match(self, request: ApiRequest, not_found: Callable[[str], str]) -> str:
        path, method = request.path, request.method
        return self._matched.get((path, method), lambda: self._route(path, method, not_found))

    def _route(self, path: str, method: str, not_found: Callable[[str], str]) -> str:
        try:
            endpoint, _ = self._routes.match(path, method)
        except RequestRedirect:
            raise ApiError(404, not_found(path)) from None
        except HTTPException as error:
            raise from_werkzeug(error, not_found(path)) from None
        return str(endpoint)

    def _error(self, error: Exception, request: ApiRequest, path: str, operation: str | None) -> ApiError:
        """The answer to an exception: a client's mistake in UCloud's words, or a 500 surfaced to the test.

        The answer carries no traceback: an ``ApiError`` raised and answered as itself would otherwise hold the
        frame that caught it, which holds it, a cycle that keeps the request's body (up to 1 MiB) and its parsed
        JSON alive until the cyclic garbage collector runs, which under load can be never.
        """
        if isinstance(error, DomainError):
            answer = from_domain(error)
        elif isinstance(error, HTTPException):
            answer = from_werkzeug(error)
        else:
            self._record_error(request.method, path, operation, traceback.format_exc())
            answer = ApiError(500, "Internal Server Error")
        answer.__context__ = None
        return answer.with_traceback(None)

    def _apply_fault(self, operation: str, seen: _Seen) -> None:
        fault = seen.fault = self.faults.take(operation)
        if fault is None:
            return
        if fault.latency_ms:
            self.sleep(fault.latency_ms / 1000)
        if fault.status is not None:
            raise ApiError(fault.status, fault.why or HTTP_STATUS_CODES.get(fault.status, "Error"))

    def _check_response(self, request: ApiRequest, path: str, operation: str, body: bytes) -> None:
        try:
            self.contract.validate_response(operation, 200, json.loads(body))
        except ContractViolation as violation:
            self._record_error(request.method, path, operation,
                               f"the mock's own answer breaks the contract: {violation}")

    def _record_error(self, method: str, path: str, operation: str | None, text: str) -> None:
        error = ServerError(method, path, operation, text)
        with self._errors_lock:
            self.errors.append(error)
        if self.on_error is not None:
            self.on_error(error)


#: An answer of the Jobs API, written without a Response object: status, extra headers, JSON body.
_Direct = tuple[int, Mapping[str, str], bytes]


@dataclass(slots=True)
class _Seen:
    """What the request log says about one request, filled in while it is served."""

    operation: str | None = None
    user: str | None = None
    why: str | None = None
    fault: Fault | None = None
    script: str | None = None


def _refusal(answer: ApiError, seen: _Seen) -> Response:
    """The answer to a request refused with ``answer``; its ``why`` goes to the request log."""
    seen.why = answer.why
    return Response(answer.body(), answer.code, answer.extra_headers, content_type=JSON_TYPE)


_wall_ns = time.time_ns  # bound once: the journal's and the log's wall time only, never the mock's behaviour


def create_app(*, scenario: Scenario | str | None = None, profile: str | Profile | None = None,
               era: str | None = None, clock: Clock | None = None, real_clock: bool = False,
               users: Mapping[str, str] | None = None,
               scenario_dirs: Sequence[str | Path] = (), journal_size: int = DEFAULT_JOURNAL_SIZE,
               journal_bytes: int = DEFAULT_JOURNAL_BYTES, limits: Limits | None = None,
               cache_key_bytes: int = DEFAULT_KEY_BYTES,
               admin: AdminPolicy | None = None, validate_responses: bool = False,
               contract: Contract | None = None, allowed_hosts: Iterable[str] = (),
               cors_origins: Iterable[str] = (), request_log: RequestSink | None = None) -> MockApp:
    """Build the mock: a scenario (by name, or the seed), a profile and era (the scenario's unless given), a clock.

    The clock is virtual, starting at the scenario's start, unless ``clock`` is given or ``real_clock`` is set.
    ``users`` maps bearer tokens to usernames; without it any non-empty token is accepted. The server answers to
    loopback names and ``allowed_hosts``; pages of ``cors_origins`` may call the Jobs API from a browser
    (``ValueError`` for a name or origin that is malformed). ``request_log`` is called after every request with
    its ``RequestRecord``. ``ContractError`` for an unknown scenario or a scenario folder that does not exist.
    The bounds: the jobs kept and their size (``limits``), the journal's entries and bytes, and the longest key
    the memos of the request path remember.
    """
    folders = tuple(Path(folder) for folder in scenario_dirs)
    for folder in folders:
        if not folder.is_dir():
            raise ContractError(f"the scenario folder {folder} "
                                + ("is not a folder" if folder.exists() else "does not exist"))
    if scenario is None:
        scenario = DEFAULT_SCENARIO
    if isinstance(scenario, str):
        scenario = resolve_scenario(scenario, folders)
    chosen: Profile | None = profile if not isinstance(profile, str) else None
    if isinstance(profile, str) or (profile is None and era is not None):
        chosen = profile_named(profile or scenario.profile, era or scenario.era)
    contract = contract if contract is not None else default_contract()
    if clock is None and real_clock:
        clock = SystemClock()
    control = Control(Engine(scenario, profile=chosen, clock=clock, limits=limits), faults=Faults(),
                      journal=Journal(journal_size, journal_bytes), contract=contract, scenario_dirs=folders)
    control.faults.replace(control.scenario_faults(scenario))
    return MockApp(control, authenticator=Authenticator(users, cache_key_bytes), admin=admin or AdminPolicy(),
                   validate_responses=validate_responses, sites=SitePolicy(allowed_hosts, cors_origins),
                   cache_key_bytes=cache_key_bytes, request_log=request_log)

