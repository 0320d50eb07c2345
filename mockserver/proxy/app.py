"""The proxy as a WSGI app: every call passed on to the upstream unchanged, and checked against the contract on
the way back (``contracts.proxy``).

What the client sends reaches the upstream as sent, but for the hop-by-hop headers and the Host (the
upstream's); what the upstream answers reaches the client as answered (status, headers but the hop-by-hop
ones, the same bytes). Only when the upstream gives no usable answer (refused, unreachable, a TLS failure, a
timeout, or a body that is not JSON for a call of the Jobs API) does the proxy answer itself: 502 or 504 with a
``CommonErrorMessage`` saying which. Each finding goes to the log as one line, to the journal and to the
ledger that writes the report; tokens go nowhere (callers are names, and an echoed token is blanked out).
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import replace
from http import HTTPStatus
from typing import IO, TYPE_CHECKING

from contracts.errors import ContractViolation
from contracts.proxy.checks import TrafficChecker
from contracts.proxy.exchange import Direction, Exchange, Finding, parse_json
from contracts.proxy.frames import FrameChecker
from contracts.proxy.histories import Call
from contracts.proxy.recording import Recorder
from contracts.proxy.report import Ledger
from contracts.proxy.users import Callers
from mockserver.proxy.headers import request_headers, response_headers
from mockserver.proxy.upstream import Upstream, UpstreamFailure
from mockserver.web.admin import ADMIN_PREFIX, AdminPolicy, require_json
from mockserver.web.encoding import JSON_TYPE, encode
from mockserver.web.errors import ApiError, error_body
from mockserver.web.journal import Journal
from mockserver.web.requests import ApiRequest
from mockserver.web.sites import SitePolicy

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

__all__ = ["MAX_BODY_BYTES", "ProxyApp"]

MAX_BODY_BYTES = 16 * 1024 * 1024  # a request body past this is refused (413): the proxy holds whole bodies
_REDACTED = b"[token]"
_MIN_SECRET = 8  # shorter tokens cannot be told from ordinary text (as contracts.testing.transport says)
_STEP_STATUSES = (200, 400, 404)  # the answers the mock's engine gives to a request it plays as a step


def _secret(environ: WSGIEnvironment) -> bytes | None:
    scheme, _, token = str(environ.get("HTTP_AUTHORIZATION", "")).partition(" ")
    token = token.strip() or scheme.strip()
    return token.encode("utf-8", "replace") if len(token) >= _MIN_SECRET else None


class ProxyApp:
    """Forwards to ``upstream``, checks, journals, reports and (with a recorder) records."""

    def __init__(self, upstream: Upstream, *, checker: TrafficChecker | None = None, journal_size: int = 1000,
                 recorder: Recorder | None = None, log: IO[str] | None = None, sites: SitePolicy | None = None,
                 admin: AdminPolicy | None = None, wall_ms: Callable[[], int] | None = None,
                 max_body_bytes: int = MAX_BODY_BYTES) -> None:
        self.upstream = upstream
        self.checker = checker if checker is not None else TrafficChecker()
        self.frames = FrameChecker(self.checker.contract)
        self.ledger = Ledger()
        self.journal = Journal(journal_size)
        self.recorder = recorder
        self.callers = Callers()
        self.log = log
        self.sites = sites if sites is not None else SitePolicy()
        self.admin = admin if admin is not None else AdminPolicy()
        #: The proxy's clock, in epoch ms: when each call went out (the recording's real timing).
        self.wall_ms = wall_ms if wall_ms is not None else (lambda: time.time_ns() // 1_000_000)
        self.max_body_bytes = max_body_bytes
        self._seq = itertools.count(1)
        self._lock = threading.Lock()  # checks, journal, ledger and recording see the calls in one order

    # ------------------------------------------------------------------ WSGI
    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "") or "/"
        try:
            self.sites.check_host(environ.get("HTTP_HOST"))
            if path == ADMIN_PREFIX or path.startswith(ADMIN_PREFIX + "/"):
                return self._send(start_response, 200, [], self._admin(environ, path))
            origin = environ.get("HTTP_ORIGIN")
            if origin is not None and self.sites.is_foreign(origin, environ.get("HTTP_HOST")):
                raise ApiError(403, f"The proxy refuses calls from web pages of another origin ({origin[:100]!r}); "
                                    "start it with --cors ORIGIN to let that page use it")
            status, reason, headers, body = self._forward(environ, path)
        except ApiError as refused:
            return self._send(start_response, refused.code or 500, list(refused.extra_headers.items()),
                              refused.body())
        start_response(f"{status} {reason}", headers)
        return [body]

    @staticmethod
    def _send(start_response: StartResponse, status: int, headers: list[tuple[str, str]], body: bytes) -> list[bytes]:
        start_response(f"{status} {HTTPStatus(status).phrase}", [("Content-Type", JSON_TYPE), *headers])
        return [body]

    # ------------------------------------------------------------------ the admin API
    def _admin(self, environ: WSGIEnvironment, path: str) -> bytes:
        request = ApiRequest(environ)
        self.admin.check(request)
        self.sites.check_admin_origin(request.headers.get("Origin"), request.headers.get("Host"))
        method = request.method
        if path == f"{ADMIN_PREFIX}/journal" and method == "GET":
            limit = request.args.get("limit")
            if limit is not None and not (limit.isascii() and limit.isdigit()):
                raise ApiError(400, "Bad Request: limit must be a non-negative integer")
            return encode(self.journal.snapshot(None if limit is None or len(limit) > 18 else int(limit)))
        if path == f"{ADMIN_PREFIX}/journal" and method == "DELETE":
            require_json(request)
            self.journal.clear()
            return encode(self.journal.snapshot())
        if path == f"{ADMIN_PREFIX}/health" and method == "GET":
            return encode({"status": "ok", "upstream": self.upstream.url, "calls": self.ledger.count("calls")})
        raise ApiError(404, f"Not Found: the proxy's admin API has GET and DELETE {ADMIN_PREFIX}/journal and GET "
                            f"{ADMIN_PREFIX}/health")

    # ------------------------------------------------------------------ passing a call on
    def _forward(self, environ: WSGIEnvironment, path: str) -> tuple[int, str, list[tuple[str, str]], bytes]:
        method, query = str(environ["REQUEST_METHOD"]), str(environ.get("QUERY_STRING", ""))
        length = str(environ.get("CONTENT_LENGTH") or "0")
        size = int(length) if length.isdigit() else 0
        if size > self.max_body_bytes:
            raise ApiError(413, "Request is too large!")
        body = environ["wsgi.input"].read(size) if size else b""
        operation = self.checker.route(method, path)
        sent = self.wall_ms()
        started = time.perf_counter()
        failure: UpstreamFailure | None = None
        parsed: tuple[bool, object] | None = None
        try:
            answer = self.upstream.send(method, path + (f"?{query}" if query else ""), request_headers(environ), body)
            parsed = parse_json(answer.body) if operation is not None and method != "HEAD" else None
            if operation is not None and parsed is not None and not parsed[0]:
                failure = UpstreamFailure(502, "UPSTREAM_NOT_JSON", f"Bad Gateway: {self.upstream.url} answered "
                                                                    f"{answer.status} to {operation.operation_id} "
                                                                    "with a body that is not JSON")
        except UpstreamFailure as failed:
            failure, answer = failed, None
        upstream_ms = (time.perf_counter() - started) * 1000
        exchange = Exchange(0, method, path, query, body, operation.operation_id if operation else None,
                            None if answer is None else answer.status, b"" if answer is None else answer.body,
                            sent, self.callers.name(environ.get("HTTP_AUTHORIZATION")), environ.get("HTTP_PROJECT"),
                            None if failure is None else failure.why, parsed)
        self._observe(exchange, upstream_ms, _secret(environ))
        if failure is not None:
            return (failure.status, HTTPStatus(failure.status).phrase, [("Content-Type", JSON_TYPE)],
                    error_body(failure.why, failure.code))
        assert answer is not None
        return answer.status, answer.reason, response_headers(answer.headers, head=method == "HEAD"), answer.body

    def _observe(self, exchange: Exchange, upstream_ms: float, secret: bytes | None) -> None:
        """Check the call, then log, journal, report and record it, in the order calls were answered."""
        with self._lock:
            exchange = replace(exchange, seq=next(self._seq))
            findings = self.checker.check(exchange)
            if secret is not None:
                findings = [_blanked(finding, secret) for finding in findings]
            for finding in findings:
                self._say(f"violation: {finding.line()}")
            if exchange.failure is not None:
                self._say(f"upstream: {exchange.label} ({exchange.operation or '-'}): {exchange.failure}")
            self.ledger.add(exchange, findings)
            self._journal(exchange, findings, upstream_ms, secret)
            if self.recorder is not None and exchange.operation is not None and exchange.status is not None:
                self._record(exchange, findings, secret)

    def _journal(self, exchange: Exchange, findings: list[Finding], upstream_ms: float, secret: bytes | None) -> None:
        request, response = exchange.request, exchange.response
        if secret is not None:
            request, response = request.replace(secret, _REDACTED), response.replace(secret, _REDACTED)
        if exchange.failure is not None:
            response = error_body(exchange.failure)
        self.journal.record(clock_ms=exchange.wall_ms, wall_ms=exchange.wall_ms, method=exchange.method,
                            path=exchange.path, query=exchange.query, operation=exchange.operation,
                            user=exchange.user, status=exchange.status or 502, request=request, response=response,
                            extra={"upstreamStatus": exchange.status, "upstreamMs": round(upstream_ms, 3),
                                   "failure": exchange.failure,
                                   "violations": [finding.to_dict() for finding in findings]})

    def _record(self, exchange: Exchange, findings: list[Finding], secret: bytes | None) -> None:
        assert self.recorder is not None
        assert exchange.operation is not None
        assert exchange.status is not None
        operation = self.checker.contract.spec.operation(exchange.operation)
        refused = any(finding.direction == "request" for finding in findings)
        answer = exchange.parsed() if secret is None or secret not in exchange.response else \
            parse_json(exchange.response.replace(secret, _REDACTED))
        try:
            request = None if refused else self.checker.request_of(operation, exchange)
        except ContractViolation:
            request = None
        why = "its request breaks the contract, so the mock would refuse it before its script" if refused else \
            None if exchange.status in _STEP_STATUSES else \
            f"the mock's engine never answers {exchange.status}, so its script cannot play it"
        self.recorder.add(Call(exchange.operation, request, exchange.user, exchange.project, exchange.wall_ms,
                               exchange.status, answer[1], step=why is None), why)

    # ------------------------------------------------------------------ the WebSocket (mockserver.proxy.relay)
    def client_message(self, path: str, message: str | bytes) -> tuple[str | None, str | None, bytes | None]:
        """Check, log, journal and report a message a client sent on a WebSocket; its call, the caller's name and
        the token its envelope carries (to be blanked out of what comes back)."""
        with self._lock:
            seq = next(self._seq)
            findings, envelope = self.frames.request(seq, message)
            bearer = envelope.get("bearer") if isinstance(envelope, dict) else None
            call = envelope.get("call") if isinstance(envelope, dict) else None
            secret = _secret({"HTTP_AUTHORIZATION": f"Bearer {bearer}"}) if isinstance(bearer, str) else None
            user = self.callers.name(f"Bearer {bearer}") if isinstance(bearer, str) else None
            self._frame(seq, path, call if isinstance(call, str) else None, user, "request", message=message,
                        findings=findings, secret=secret)
        return (call if isinstance(call, str) else None), user, secret

    def upstream_frame(self, path: str, call: str | None, user: str | None, message: str | bytes, *,
                       secret: bytes | None, connection: int = 0) -> None:
        """Check, log, journal and report a frame the upstream sent on a WebSocket (``connection`` tells the
        relays apart, so that each stream is held to its own frames)."""
        with self._lock:
            seq = next(self._seq)
            self._frame(seq, path, call, user, "response", message=message,
                        findings=self.frames.frame(seq, call, message, connection), secret=secret)

    def relay_failed(self, path: str, call: str | None, user: str | None, failure: str) -> None:
        """Log, journal and report a WebSocket the upstream would not open or broke off."""
        with self._lock:
            seq = next(self._seq)
            self._say(f"upstream: #{seq} WS {path} ({call or '-'}): {failure}")
            self._frame(seq, path, call, user, "response", message=b"", findings=[], secret=None, failure=failure)

    def _frame(self, seq: int, path: str, call: str | None, user: str | None, direction: Direction, *,
               message: str | bytes, findings: list[Finding], secret: bytes | None, failure: str | None = None
               ) -> None:
        if secret is not None:
            findings = [_blanked(finding, secret) for finding in findings]
        for finding in findings:
            self._say(f"violation: {finding.line()}")
        self.ledger.add_frame(f"#{seq} WS {path}", call, direction, findings, failure)
        body = message.encode("utf-8") if isinstance(message, str) else message
        if secret is not None:
            body = body.replace(secret, _REDACTED)
        now = self.wall_ms()
        self.journal.record(clock_ms=now, wall_ms=now, method="GET", path=path, query="", operation=call, user=user,
                            status=502 if failure else 101, request=body if direction == "request" else b"",
                            response=body if direction == "response" else b"",
                            extra={"websocket": direction, "upstreamStatus": None, "upstreamMs": None,
                                   "failure": failure, "violations": [finding.to_dict() for finding in findings]})

    def _say(self, line: str) -> None:
        if self.log is not None:
            self.log.write(f"ucloud-jobs proxy: {line}\n")
            self.log.flush()


def _blanked(finding: Finding, secret: bytes) -> Finding:
    text = secret.decode("utf-8", "replace")
    if text not in finding.message:
        return finding
    return Finding(finding.seq, finding.operation, finding.direction, finding.pointer,
                   finding.message.replace(text, _REDACTED.decode()), finding.check)
