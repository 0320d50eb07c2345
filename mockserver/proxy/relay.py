"""The proxy's WebSocket side: ``jobs.follow`` at ``/api/jobs`` passed on to the upstream's, both ways, checked.

Each client connection the proxy accepts gets its own connection to the upstream (ws:// or wss:// as the
upstream is http or https, with the same certificate checks), opened by a thread of its own so the server's
loop never waits for it. Every message the client sends is checked as the client's side (its envelope) and
passed on as sent; every frame the upstream sends is checked as the service's side and passed back as sent.
When the upstream gives no WebSocket (refused, unreachable, TLS, timeout, a handshake it refuses), each stream
the client asks for ends with a ``response`` frame of status 502 or 504 and a CommonErrorMessage saying which,
as a call would be answered, and the connection stays open as UCloud's does after a refused stream; the failure
is reported once per connection. An upstream connection that breaks off mid-stream closes the client's with
1014 (bad gateway). The bearer token in an envelope is blanked out of the log, journal and report.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import queue
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from mockserver.proxy.upstream import UpstreamFailure
from mockserver.server import WebSocket, WebSocketSession

if TYPE_CHECKING:
    from websockets.sync.client import ClientConnection

    from mockserver.proxy.app import ProxyApp

__all__ = ["MAX_RELAYS", "Relay", "RelaySession"]

MAX_RELAYS = 256  # WebSockets passed on at once; past it a handshake is refused with 503
_QUEUED = 1000  # client messages waiting for the upstream's connection; past it the client is dropped
_CLOSE_BAD_GATEWAY = 1014
_NO_STATUS = 1005  # the upstream closed without a code
_SENDABLE = frozenset({1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014})  # RFC 6455 7.4
_PASSED_HEADERS = ("authorization", "project", "cookie", "user-agent")
_END = object()


class Relay:
    """The WebSocket app of the proxy (``mockserver.server.WebSocketApp``): a relay per connection."""

    def __init__(self, app: ProxyApp) -> None:
        self.app = app
        self._open = 0
        self._lock = threading.Condition()
        self._numbers = itertools.count(1)  # tells connections apart (an id() may be reused)

    def refuse(self, path: str, headers: Mapping[str, str]) -> tuple[int, str] | None:
        """403 for a Host that does not name the proxy or a page of a foreign origin; 503 past ``MAX_RELAYS``."""
        refused = self.app.sites.refuse_handshake(headers, lambda origin: (
            f"The proxy refuses WebSockets from web pages of another origin ({origin}); start it with --cors ORIGIN "
            "to let that page use it"))
        if refused is not None:
            return refused
        with self._lock:
            if self._open >= MAX_RELAYS:
                return 503, f"Service Unavailable: the proxy passes on at most {MAX_RELAYS} WebSockets at once"
        return None

    def open(self, socket: WebSocket) -> RelaySession:
        """A relay for a connection just accepted (counted here: a handshake may still fail after ``refuse``)."""
        with self._lock:
            self._open += 1
            self._lock.notify_all()
        return RelaySession(self, socket, next(self._numbers))

    def ended(self) -> None:
        """A relay has ended."""
        with self._lock:
            self._open -= 1
            self._lock.notify_all()

    @property
    def open_relays(self) -> int:
        """How many WebSockets are being passed on."""
        with self._lock:
            return self._open

    def wait_for(self, count: int, timeout: float) -> bool:
        """Wait until ``count`` WebSockets are being passed on (at most ``timeout`` seconds); whether they are."""
        with self._lock:
            return self._lock.wait_for(lambda: self._open == count, timeout)


class RelaySession(WebSocketSession):
    """One client connection and its upstream connection."""

    def __init__(self, relay: Relay, socket: WebSocket, number: int) -> None:
        self.relay, self.app, self.socket, self.number = relay, relay.app, socket, number
        self.call: str | None = None
        self.user: str | None = None
        self.secret: bytes | None = None
        self._outbox: queue.Queue[object] = queue.Queue(_QUEUED)
        self._streams: list[str] = []  # the streams asked for before the upstream answered
        self._failure: UpstreamFailure | None = None  # why the upstream gave no WebSocket
        self._lock = threading.Lock()
        self._upstream: ClientConnection | None = None
        self._done = threading.Event()
        threading.Thread(target=self._pump, name="proxy-relay", daemon=True).start()

    # ------------------------------------------------------------------ the client's side (the server's loop)
    def received(self, message: str | bytes) -> None:
        """A message of the client: checked, then passed on as sent."""
        call, user, secret = self.app.client_message(self.socket.path, message)
        self.call, self.user = call or self.call, user or self.user
        self.secret = secret or self.secret
        with self._lock:
            failure = self._failure
            if failure is None and self._upstream is None and isinstance(message, str):
                self._streams.append(_stream_id(message))
        if failure is not None:
            self._end_stream(_stream_id(message) if isinstance(message, str) else "", failure)
            return
        try:
            self._outbox.put_nowait(message)
        except queue.Full:
            self.socket.close(1008, "too many messages before the upstream answered")

    def closed(self) -> None:
        """The client has gone: so does the upstream connection."""
        if not self._done.is_set():
            self._done.set()
            self.relay.ended()
        with contextlib.suppress(queue.Full):
            self._outbox.put_nowait(_END)
        upstream = self._upstream
        if upstream is not None:
            upstream.close()

    # ------------------------------------------------------------------ the upstream's side (threads of its own)
    def _pump(self) -> None:
        """Open the upstream's WebSocket, then pass the client's messages on until either side ends."""
        from websockets.exceptions import WebSocketException  # noqa: PLC0415 - loaded with the first relay

        try:
            upstream = self._connect()
        except UpstreamFailure as failure:
            self._refuse(failure)
            return
        with self._lock:
            self._upstream = upstream
        if self._done.is_set():
            upstream.close()
            return
        threading.Thread(target=self._read, args=(upstream,), name="proxy-relay-reader", daemon=True).start()
        while True:
            message = self._outbox.get()
            if message is _END or self._done.is_set():
                break
            try:
                upstream.send(message)  # type: ignore[arg-type]
            except (OSError, WebSocketException):  # the upstream has gone; its reader says how
                break
        upstream.close()

    def _connect(self) -> ClientConnection:
        from websockets.exceptions import InvalidStatus, WebSocketException  # noqa: PLC0415
        from websockets.sync.client import connect  # noqa: PLC0415

        upstream = self.app.upstream
        headers = [(name, value) for name, value in self.socket.headers.items() if name.lower() in _PASSED_HEADERS]
        try:
            # Entered as a context manager, as websockets 17.1+ asks (else it warns on first use); close() exits it.
            return connect(upstream.websocket_url(self.socket.path, self.socket.query), ssl=upstream.ssl_context,
                           additional_headers=headers, user_agent_header=None, proxy=None, compression=None,
                           open_timeout=upstream.timeout, max_size=None, ping_interval=None).__enter__()
        except InvalidStatus as refused:
            raise UpstreamFailure(502, "UPSTREAM_REFUSED_WEBSOCKET",
                                  f"Bad Gateway: {upstream.url} answered {refused.response.status_code} to the "
                                  f"WebSocket handshake at {self.socket.path}") from None
        except (OSError, WebSocketException) as error:
            raise upstream.failure(error) from None

    def _read(self, upstream: ClientConnection) -> None:
        """Pass the upstream's frames back, each checked, until it closes; then close the client's side."""
        from websockets.exceptions import ConnectionClosed  # noqa: PLC0415

        try:
            for frame in upstream:
                self.app.upstream_frame(self.socket.path, self.call, self.user, frame, secret=self.secret,
                                        connection=self.number)
                if isinstance(frame, str):
                    self.socket.send(frame)  # a binary frame is reported and not passed on (no text to send)
        except ConnectionClosed:
            pass
        except OSError as error:
            if not self._done.is_set():
                self.app.relay_failed(self.socket.path, self.call, self.user, str(self.app.upstream.failure(error)))
        code = upstream.close_code
        if code is None or code == _NO_STATUS:
            self.socket.close(1000, "")
        elif code in _SENDABLE or 3000 <= code <= 4999:
            self.socket.close(code, upstream.close_reason or "")
        else:  # 1006: the upstream's connection dropped without a closing handshake
            if not self._done.is_set():
                self.app.relay_failed(self.socket.path, self.call, self.user,
                                      f"Bad Gateway: {self.app.upstream.url} broke off the WebSocket without "
                                      "closing it")
            self.socket.close(_CLOSE_BAD_GATEWAY, "Bad Gateway: the upstream's WebSocket broke off")

    def _refuse(self, failure: UpstreamFailure) -> None:
        """The upstream gave no WebSocket: each stream asked for, and each to come, ends as a call would be
        answered."""
        self.app.relay_failed(self.socket.path, self.call, self.user, failure.why)
        with self._lock:
            self._failure, streams = failure, list(self._streams)
        for stream_id in streams:
            self._end_stream(stream_id, failure)

    def _end_stream(self, stream_id: str, failure: UpstreamFailure) -> None:
        self.socket.send(json.dumps({"type": "response", "streamId": stream_id,
                                     "payload": {"why": failure.why, "errorCode": failure.code},
                                     "status": failure.status}))


def _stream_id(message: str) -> str:
    try:
        envelope: Any = json.loads(message)
    except (ValueError, RecursionError):
        return ""
    stream_id = envelope.get("streamId") if isinstance(envelope, dict) else None
    return stream_id if isinstance(stream_id, str) else ""
