"""One small interface to drive any implementation of the Jobs API: in-process WSGI, or HTTP to a base URL.

The same scenarios, invariants and state machine then verify the mock, a consumer's use of it, and a live
provider. A target that is a mock comes with its control (reset, clock, scenario); a live provider has none,
and the rules that need it are skipped.
"""

from __future__ import annotations

import base64
import http.client
import json
import shlex
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urlsplit

from contracts.spec import Spec, default_spec
from contracts.testing.control import MockControl
from contracts.testing.following import Following, InProcessFollowing, SocketFollowing
from contracts.wire import encode_query

__all__ = ["SECOND_TOKEN_VARIABLE", "TOKEN_VARIABLE", "HttpTransport", "Reply", "Transport", "WsgiTransport",
           "mock_token", "redactor", "token_variable"]

#: The environment variables a curl line reads the first and the second user's bearer token from.
TOKEN_VARIABLE = "UCLOUD_TOKEN"
SECOND_TOKEN_VARIABLE = "UCLOUD_SECOND_TOKEN"
#: A token shorter than this cannot be told apart from ordinary text, so ``redact`` leaves text with it alone.
MIN_REDACTED_LENGTH = 8


def token_variable(index: int) -> str:
    """The environment variable that holds the bearer token of the ``index``-th user (0 is the default user)."""
    return (TOKEN_VARIABLE, SECOND_TOKEN_VARIABLE)[index] if index < 2 else f"{TOKEN_VARIABLE}_{index + 1}"


def redactor(secrets: Mapping[str, str | None]) -> Callable[[str], str]:
    """A function that replaces each secret in a text by ``$NAME``, the variable that holds it.

    ``secrets`` maps a variable's name to the token it holds (None: not given). The curl lines never hold a
    token; this is for what a target may echo back, such as an error that quotes the Authorization header.
    A token shorter than ``MIN_REDACTED_LENGTH`` cannot be told apart from ordinary text and is left alone.
    """
    pairs = sorted(((token, f"${name}") for name, token in secrets.items()
                    if token is not None and len(token) >= MIN_REDACTED_LENGTH), key=lambda pair: -len(pair[0]))

    def redact(text: str) -> str:
        for token, placeholder in pairs:
            text = text.replace(token, placeholder)
        return text

    return redact


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
    """What the scenarios and the state machine need of a target: its calls, its users, and maybe a control."""

    users: tuple[str, ...]
    #: The control of a mock (reset, clock, scenario); None for a live provider.
    control: MockControl | None

    def call(self, operation_id: str, request: Any, *, user: str | None = None, project: str | None = None) -> Reply:
        """Call an operation: ``request`` is the JSON body (POST) or the query parameters (GET); ``project`` is
        the workspace (the ``Project`` header)."""
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
    control: MockControl | None = None
    users: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        self.users = tuple(self.tokens)

    def _request(self, operation_id: str, request: Any, user: str | None,
                 project: str | None = None) -> tuple[str, str, bytes, dict[str, str]]:
        operation = self.spec.operation(operation_id)
        token = self.tokens[user or self.users[0]]
        headers = {"Authorization": f"Bearer {token}"}
        if project is not None:
            headers["Project"] = project
        if operation.method == "GET":
            query = encode_query(request or {})
            return operation.method, operation.path + (f"?{query}" if query else ""), b"", headers
        headers["Content-Type"] = "application/json; charset=utf-8"
        body = json.dumps(request, separators=(",", ":")).encode()
        return operation.method, operation.path, body, headers

    def _curl(self, method: str, target: str, body: bytes, headers: Mapping[str, str], user: str | None) -> str:
        """A pasteable curl command whose bearer token is read from the shell, never written out.

        ``-H "Authorization: Bearer $UCLOUD_TOKEN"`` is double-quoted so that the shell expands it; every
        other word is quoted so that it does not.
        """
        variable = token_variable(self.users.index(user or self.users[0]))
        words = ["curl", "-X", shlex.quote(method), "-H", f'"Authorization: Bearer ${variable}"']
        for name, value in headers.items():
            if name != "Authorization":
                words += ["-H", shlex.quote(f"{name}: {value}")]
        words.append(shlex.quote(self.base_url.rstrip("/") + target))
        if body:
            words += ["-d", shlex.quote(body.decode())]
        return " ".join(words)


class WsgiTransport(_Base):
    """Calls a WSGI app in-process (no socket). ``users`` name the callers; the first is the default one.

    ``follower`` (job id, user, project) -> an iterator of the frames due lets it follow jobs too (a mock's
    ``follow``); without it, ``follow`` is None.
    """

    def __init__(self, app: Callable[..., Iterable[bytes]], users: Iterable[str] = ("user", "other-user"), *,
                 tokens: Mapping[str, str] | None = None, spec: Spec | None = None,
                 control: MockControl | None = None,
                 follower: Callable[[str, str, str | None], Iterator[dict[str, Any]]] | None = None) -> None:
        from werkzeug.test import Client  # noqa: PLC0415 - werkzeug only for in-process targets

        names = tuple(users)
        super().__init__(spec or default_spec(), dict(tokens) if tokens else {u: mock_token(u) for u in names},
                         control=control)
        self.client = Client(app)
        self.follow: Callable[[str, str | None, str | None], Following] | None = None
        if follower is not None:
            self.follow = lambda job_id, user, project: InProcessFollowing(
                follower(job_id, user or self.users[0], project))

    def call(self, operation_id: str, request: Any, *, user: str | None = None, project: str | None = None) -> Reply:
        """Call an operation of the app."""
        method, target, body, headers = self._request(operation_id, request, user, project)
        response = self.client.open(target, method=method, data=body, headers=headers)
        raw = response.get_data()
        return Reply(response.status_code, _parse(raw), dict(response.headers), raw, f"{method} {target}",
                     self._curl(method, target, body, headers, user))


class HttpTransport(_Base):
    """Calls a target over HTTP with keep-alive: the mock on a socket, or a live provider.

    ``tokens`` maps a name for each user to their bearer token; the first is the default user. ``control`` is
    the mock's control, when the target is a mock.
    """

    def __init__(self, base_url: str, tokens: Mapping[str, str], *, spec: Spec | None = None,
                 timeout: float = 30.0, control: MockControl | None = None) -> None:
        super().__init__(spec or default_spec(), dict(tokens), base_url, control)
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

    def call(self, operation_id: str, request: Any, *, user: str | None = None, project: str | None = None) -> Reply:
        """Call an operation over HTTP."""
        method, target, body, headers = self._request(operation_id, request, user, project)
        status, response_headers, raw = self._raw(method, target, body, headers)
        return Reply(status, _parse(raw), response_headers, raw, f"{method} {target}",
                     self._curl(method, target, body, headers, user))

    def follow(self, job_id: str, user: str | None, project: str | None) -> Following:
        """Follow a job over a WebSocket (jobs.follow), as ``user``."""
        return SocketFollowing(self.base_url, self.tokens[user or self.users[0]], job_id, project=project,
                               timeout=self._timeout)

    def close(self) -> None:
        """Close this thread's connection."""
        connection = getattr(self._local, "connection", None)
        if connection is not None:
            connection.close()
            self._local.connection = None
