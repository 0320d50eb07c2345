"""One small interface to drive any implementation of the Jobs API: in-process WSGI, or HTTP to a base URL.

The same scenarios, invariants and state machine then verify the mock, a consumer's use of it, and a live
provider. A target that is the mock also offers its admin API (reset, clock); others do not, and the rules
that need it are skipped.
"""

from __future__ import annotations

import base64
import http.client
import json
import shlex
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urlsplit

from contracts.spec import Spec, default_spec
from contracts.wire import encode_query

__all__ = ["HttpTransport", "Reply", "Transport", "WsgiTransport", "mock_token"]


def mock_token(username: str) -> str:
    """An unsigned JWT whose ``sub`` is ``username``: the mock (without configured users) takes it as that user."""

    def part(document: Mapping[str, Any]) -> str:
        raw = json.dumps(document, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part({'sub': username})}.mock"


@dataclass(frozen=True)
class Reply:
    """What the target answered: status, parsed JSON body (None if it was not JSON), headers, raw bytes."""

    status: int
    body: Any
    headers: Mapping[str, str]
    raw: bytes
    request_line: str = ""
    curl: str = ""

    @property
    def is_json(self) -> bool:
        """Whether the body parsed as JSON."""
        return self.body is not None or self.raw.strip() == b"null"


class Transport(Protocol):
    """What the scenarios and the state machine need of a target."""

    users: tuple[str, ...]
    supports_admin: bool

    def call(self, operation_id: str, request: Any, *, user: str | None = None) -> Reply:
        """Call an operation: ``request`` is the JSON body (POST) or the query parameters (GET)."""
        ...

    def reset(self) -> None:
        """Forget every job (the mock only)."""
        ...

    def advance(self, ms: int) -> int:
        """Move the target's clock forward (the mock only) and return the new time."""
        ...

    def now_ms(self) -> int | None:
        """The target's clock if it exposes one (the mock only)."""
        ...


def _parse(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):
        return None


@dataclass
class _Base:
    spec: Spec
    tokens: dict[str, str]
    base_url: str = "http://ucloud.invalid"
    users: tuple[str, ...] = field(init=False)
    supports_admin: bool = field(init=False, default=False)

    def __post_init__(self) -> None:
        self.users = tuple(self.tokens)

    def _request(self, operation_id: str, request: Any, user: str | None) -> tuple[str, str, bytes, dict[str, str]]:
        operation = self.spec.operation(operation_id)
        token = self.tokens[user or self.users[0]]
        headers = {"Authorization": f"Bearer {token}"}
        if operation.method == "GET":
            query = encode_query(request or {})
            return operation.method, operation.path + (f"?{query}" if query else ""), b"", headers
        headers["Content-Type"] = "application/json; charset=utf-8"
        body = json.dumps(request, separators=(",", ":")).encode()
        return operation.method, operation.path, body, headers

    def request_json(self, method: str, path: str, document: Any = None) -> tuple[int, Any]:
        """Send a JSON request outside the Jobs API (the mock's admin API); status and parsed body."""
        raise NotImplementedError

    def _admin(self, method: str, path: str, document: Any = None) -> Any:
        status, body = self.request_json(method, path, document)
        if status != 200:
            raise RuntimeError(f"{method} {path} answered {status}: {body!r}")
        return body

    def reset(self) -> None:
        """POST /_mock/reset."""
        self._admin("POST", "/_mock/reset")

    def advance(self, ms: int) -> int:
        """POST /_mock/clock {"advanceMs": ms}."""
        return int(self._admin("POST", "/_mock/clock", {"advanceMs": ms})["nowMs"])

    def now_ms(self) -> int | None:
        """GET /_mock/clock, where the target has the admin API."""
        return int(self._admin("GET", "/_mock/clock")["nowMs"]) if self.supports_admin else None

    def _curl(self, method: str, target: str, body: bytes, headers: Mapping[str, str]) -> str:
        parts = ["curl", "-X", method]
        for name, value in headers.items():
            parts += ["-H", f"{name}: {value}"]
        parts.append(self.base_url.rstrip("/") + target)
        if body:
            parts += ["-d", body.decode()]
        return " ".join(shlex.quote(part) for part in parts)


class WsgiTransport(_Base):
    """Calls a WSGI app in-process (no socket). ``users`` name the callers; the first is the default one."""

    def __init__(self, app: Callable[..., Iterable[bytes]], users: Iterable[str] = ("user", "other-user"), *,
                 tokens: Mapping[str, str] | None = None, spec: Spec | None = None) -> None:
        from werkzeug.test import Client  # noqa: PLC0415 - werkzeug only for in-process targets

        names = tuple(users)
        super().__init__(spec or default_spec(), dict(tokens) if tokens else {u: mock_token(u) for u in names})
        self.client = Client(app)
        self.supports_admin = self.client.get("/_mock/health").status_code == 200

    def call(self, operation_id: str, request: Any, *, user: str | None = None) -> Reply:
        """Call an operation of the app."""
        method, target, body, headers = self._request(operation_id, request, user)
        response = self.client.open(target, method=method, data=body, headers=headers)
        raw = response.get_data()
        return Reply(response.status_code, _parse(raw), dict(response.headers), raw, f"{method} {target}",
                     self._curl(method, target, body, headers))

    def request_json(self, method: str, path: str, document: Any = None) -> tuple[int, Any]:
        """Send a JSON request outside the Jobs API (the mock's admin API); status and parsed body."""
        data = b"" if document is None else json.dumps(document).encode()
        response = self.client.open(path, method=method, data=data)
        return response.status_code, _parse(response.get_data())


class HttpTransport(_Base):
    """Calls a target over HTTP with keep-alive: the mock on a socket, or a live provider.

    ``tokens`` maps a name for each user to their bearer token; the first is the default user. The admin API
    is used only if the target answers ``GET /_mock/health`` (the mock does; UCloud does not).
    """

    def __init__(self, base_url: str, tokens: Mapping[str, str], *, spec: Spec | None = None,
                 timeout: float = 30.0, probe_admin: bool = True) -> None:
        super().__init__(spec or default_spec(), dict(tokens), base_url)
        if not self.tokens:
            raise ValueError("HttpTransport needs at least one user's token")
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"{base_url!r} is not an http(s) URL")
        self._scheme = parts.scheme
        self._host = parts.hostname
        self._port = parts.port
        self._prefix = parts.path.rstrip("/")
        self._timeout = timeout
        self._local = threading.local()
        try:
            self.supports_admin = probe_admin and self._raw("GET", "/_mock/health", b"", {})[0] == 200
        except BaseException:
            self.close()
            raise

    def _connection(self) -> http.client.HTTPConnection:
        connection: http.client.HTTPConnection | None = getattr(self._local, "connection", None)
        if connection is None:
            kind = http.client.HTTPSConnection if self._scheme == "https" else http.client.HTTPConnection
            connection = kind(self._host, self._port, timeout=self._timeout)
            self._local.connection = connection
        return connection

    def _raw(self, method: str, target: str, body: bytes, headers: Mapping[str, str]) -> tuple[int, dict[str, str],
                                                                                              bytes]:
        for attempt in (1, 2):
            connection = self._connection()
            try:
                connection.request(method, self._prefix + target, body=body or None, headers=dict(headers))
                response = connection.getresponse()
                return response.status, dict(response.getheaders()), response.read()
            except (ConnectionError, http.client.HTTPException):
                connection.close()
                self._local.connection = None
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def call(self, operation_id: str, request: Any, *, user: str | None = None) -> Reply:
        """Call an operation over HTTP."""
        method, target, body, headers = self._request(operation_id, request, user)
        status, response_headers, raw = self._raw(method, target, body, headers)
        return Reply(status, _parse(raw), response_headers, raw, f"{method} {target}",
                     self._curl(method, target, body, headers))

    def request_json(self, method: str, path: str, document: Any = None) -> tuple[int, Any]:
        """Send a JSON request outside the Jobs API (the mock's admin API) and return status and parsed body."""
        body = b"" if document is None else json.dumps(document).encode()
        status, _, raw = self._raw(method, path, body, {"Content-Type": "application/json"})
        return status, _parse(raw)

    def close(self) -> None:
        """Close this thread's connection."""
        connection = getattr(self._local, "connection", None)
        if connection is not None:
            connection.close()
            self._local.connection = None
