"""The upstream the proxy forwards to: one kept-alive connection per worker thread, over HTTP or HTTPS.

HTTPS verifies the upstream's certificate against the system's store, or against ``--cacert`` alone. What goes
wrong is an ``UpstreamFailure`` that says which, in UCloud's words: refused, unreachable, a TLS failure, a
timeout (504), an answer cut short or too large (502). Only a failure to reuse an idle kept-alive connection
is retried, once, on a fresh one, as HTTP clients do: such a request never reached the upstream's application.
"""

from __future__ import annotations

import http.client
import socket
import ssl
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

__all__ = ["MAX_ANSWER_BYTES", "Answer", "Upstream", "UpstreamFailure"]

MAX_ANSWER_BYTES = 64 * 1024 * 1024  # an answer past this is refused (502): the proxy holds whole answers


class UpstreamFailure(Exception):
    """The upstream gave no usable answer: ``status`` (502 or 504), ``why`` and ``code`` for the client."""

    def __init__(self, status: int, code: str, why: str) -> None:
        super().__init__(why)
        self.status, self.code, self.why = status, code, why


@dataclass(frozen=True)
class Answer:
    """What the upstream answered: status, reason, headers (as sent), body."""

    status: int
    reason: str
    headers: Sequence[tuple[str, str]]
    body: bytes


_STALE = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError, ConnectionAbortedError)


class Upstream:
    """The base URL the proxy forwards to; ``ValueError`` for one that is not http(s)://host[:port][/prefix]."""

    def __init__(self, url: str, *, timeout: float = 30.0, cacert: str | None = None,
                 max_answer_bytes: int = MAX_ANSWER_BYTES) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
            raise ValueError(f"{url!r} is not an upstream URL such as https://cloud.sdu.dk or http://127.0.0.1:8080")
        if parts.username or parts.password:
            raise ValueError("the upstream URL must not hold credentials; the client's own headers are passed on")
        self.scheme, self.hostname = parts.scheme, parts.hostname
        self.port = parts.port or (443 if parts.scheme == "https" else 80)
        self.prefix = parts.path.rstrip("/")
        self.timeout, self.max_answer_bytes = timeout, max_answer_bytes
        default_port = self.port == (443 if self.scheme == "https" else 80)
        name = f"[{self.hostname}]" if ":" in self.hostname else self.hostname
        #: The Host header the upstream expects.
        self.host_header = name if default_port else f"{name}:{self.port}"
        #: The URL without credentials, for messages and the recording.
        self.url = f"{self.scheme}://{self.host_header}{self.prefix}"
        self._context: ssl.SSLContext | None = None
        if cacert is not None and self.scheme != "https":
            raise ValueError(f"a CA certificate is for an https upstream, and {self.url} is http")
        if self.scheme == "https":
            self._context = ssl.create_default_context(cafile=cacert)  # cacert alone, else the system's store
        self._local = threading.local()
        self._open: set[http.client.HTTPConnection] = set()  # every thread's, so that close() closes them all
        self._open_lock = threading.Lock()

    def _connection(self) -> tuple[http.client.HTTPConnection, bool]:
        """This thread's connection, and whether it was used before."""
        connection: http.client.HTTPConnection | None = getattr(self._local, "connection", None)
        if connection is not None:
            return connection, True
        if self._context is not None:
            connection = http.client.HTTPSConnection(self.hostname, self.port, timeout=self.timeout,
                                                     context=self._context)
        else:
            connection = http.client.HTTPConnection(self.hostname, self.port, timeout=self.timeout)
        self._local.connection = connection
        with self._open_lock:
            self._open.add(connection)
        return connection, False

    def _drop(self) -> None:
        connection = getattr(self._local, "connection", None)
        if connection is not None:
            connection.close()
            with self._open_lock:
                self._open.discard(connection)
        self._local.connection = None

    def send(self, method: str, target: str, headers: Sequence[tuple[str, str]], body: bytes) -> Answer:
        """Forward one request (``target`` is the path and query); the answer, or ``UpstreamFailure``."""
        for _ in range(2):
            connection, reused = self._connection()
            try:
                return self._exchange(connection, method, target, headers, body)
            except _STALE as error:
                self._drop()
                if not reused:
                    raise self.failure(error) from None
            except UpstreamFailure:
                self._drop()
                raise
            except (OSError, http.client.HTTPException) as error:
                self._drop()
                raise self.failure(error) from None
        raise UpstreamFailure(502, "UPSTREAM_CLOSED", f"Bad Gateway: {self.url} closed the connection twice")

    def _exchange(self, connection: http.client.HTTPConnection, method: str, target: str,
                  headers: Sequence[tuple[str, str]], body: bytes) -> Answer:
        connection.putrequest(method, self.prefix + target, skip_host=True, skip_accept_encoding=True)
        connection.putheader("Host", self.host_header)
        for name, value in headers:
            connection.putheader(name, value)
        if body or method in ("POST", "PUT", "PATCH", "DELETE"):
            connection.putheader("Content-Length", str(len(body)))
        connection.endheaders(body or None)
        response = connection.getresponse()
        length = response.getheader("Content-Length")
        if length is not None and length.isdigit() and int(length) > self.max_answer_bytes:
            raise self._too_large()
        data = response.read(self.max_answer_bytes + 1)
        if len(data) > self.max_answer_bytes:
            raise self._too_large()
        if response.will_close:
            self._drop()
        return Answer(response.status, response.reason, response.getheaders(), data)

    def _too_large(self) -> UpstreamFailure:
        return UpstreamFailure(502, "UPSTREAM_TOO_LARGE", f"Bad Gateway: {self.url} answered with more than "
                                                          f"{self.max_answer_bytes} bytes")

    @property
    def ssl_context(self) -> ssl.SSLContext | None:
        """The TLS context of an https upstream (its certificate checked as for calls), else None."""
        return self._context

    def websocket_url(self, path: str, query: str = "") -> str:
        """The upstream's WebSocket URL for ``path``: ws:// for an http upstream, wss:// for https."""
        scheme = "wss" if self.scheme == "https" else "ws"
        return f"{scheme}://{self.host_header}{self.prefix}{path}" + (f"?{query}" if query else "")

    def failure(self, error: BaseException) -> UpstreamFailure:
        """The client's answer to a failure to reach or hear the upstream."""
        where = self.url
        if isinstance(error, TimeoutError | socket.timeout):
            return UpstreamFailure(504, "UPSTREAM_TIMEOUT",
                                   f"Gateway Timeout: {where} did not answer within {self.timeout:g} s")
        if isinstance(error, ssl.SSLCertVerificationError):
            return UpstreamFailure(502, "UPSTREAM_TLS", f"Bad Gateway: the TLS handshake with {where} failed: "
                                                        f"certificate verify failed: {error.verify_message}")
        if isinstance(error, ssl.SSLError):
            return UpstreamFailure(502, "UPSTREAM_TLS", f"Bad Gateway: the TLS handshake with {where} failed: "
                                                        f"{error.reason or error}")
        if isinstance(error, ConnectionRefusedError):
            return UpstreamFailure(502, "UPSTREAM_REFUSED", f"Bad Gateway: {where} refused the connection")
        if isinstance(error, socket.gaierror):
            return UpstreamFailure(502, "UPSTREAM_UNREACHABLE",
                                   f"Bad Gateway: the name {self.hostname} could not be resolved")
        if isinstance(error, http.client.HTTPException | ConnectionError):
            return UpstreamFailure(502, "UPSTREAM_BROKEN",
                                   f"Bad Gateway: {where} broke off its answer ({type(error).__name__})")
        return UpstreamFailure(502, "UPSTREAM_UNREACHABLE", f"Bad Gateway: {where} cannot be reached: {error}")

    def close(self) -> None:
        """Close every thread's connection (the proxy is stopping)."""
        with self._open_lock:
            connections, self._open = list(self._open), set()
        for connection in connections:
            connection.close()
