"""WebSocket on an upgraded connection: the handshake, messages in, frames out with a bound on what is unread.

Frames are handled by the sans-I/O protocol of ``websockets``; the server runs it in its loop. An app sees a
``WebSocket`` (send and close from any thread, in order) and answers with a ``WebSocketSession`` that hears each
message and the end of the connection, in the loop's thread.
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

from websockets.datastructures import Headers
from websockets.frames import Frame, Opcode
from websockets.http11 import Request as HandshakeRequest
from websockets.protocol import State
from websockets.server import ServerProtocol

from mockserver.server.framing import Answer, Request, error_answer, split_target
from mockserver.server.host import Host
from mockserver.server.limits import Limits

__all__ = ["CLOSE_UNREAD", "Accepted", "Channel", "WebSocket", "WebSocketApp", "WebSocketSession", "handshake"]

#: The close code a client gets when it left more than ``Limits.max_unread_bytes`` of frames unread (RFC 6455
#: 1008, policy violation).
CLOSE_UNREAD = 1008
_CLOSE_FAILED = 1011  # the app failed while handling a message


class WebSocketSession(Protocol):
    """What an app does with one WebSocket connection; called in the server's loop."""

    def received(self, message: str | bytes) -> None:
        """A whole message from the client: text, or bytes for a binary message."""

    def closed(self) -> None:
        """The connection has ended (the client left, was dropped, or the server stopped); called once."""


class WebSocketApp(Protocol):
    """An app that accepts WebSocket connections at the server's WebSocket path."""

    def refuse(self, path: str, headers: Mapping[str, str]) -> tuple[int, str] | None:
        """A status and a ``why`` to refuse the handshake with, or None to accept it."""

    def open(self, socket: WebSocket) -> WebSocketSession:
        """A session for a connection just accepted."""


class WebSocket:
    """One accepted WebSocket connection as an app holds it. ``send`` and ``close`` may be called from any thread;
    what one thread sends arrives in the order it was sent, and what two threads send in the order of the calls.
    """

    def __init__(self, channel: Channel, path: str, query: str, headers: Mapping[str, str], client: str) -> None:
        self.path, self.query, self.headers, self.client = path, query, headers, client
        self._channel = channel
        self._lock = threading.Lock()
        self._outbox: deque[str | tuple[int, str]] = deque()
        self._outbox_bytes = 0
        self._scheduled = False
        #: Whether the connection has ended; nothing sent after that goes anywhere.
        self.closed = False

    def send(self, text: str) -> None:
        """Queue a text frame."""
        self._queue(text, len(text))

    def close(self, code: int = 1000, reason: str = "") -> None:
        """Start the closing handshake once everything sent before has gone out."""
        self._queue((code, reason), 0)

    def _queue(self, item: str | tuple[int, str], size: int) -> None:
        loop = self._channel.loop
        with self._lock:
            if self.closed:
                return
            self._outbox.append(item)
            self._outbox_bytes += size
            schedule = not self._scheduled
            self._scheduled = True
        if _running_loop() is loop:
            self._flush()
        elif schedule:
            try:
                loop.call_soon_threadsafe(self._flush)
            except RuntimeError:  # the loop has closed: the server stopped, and the connection with it
                return

    def _flush(self) -> None:
        """In the loop: hand every queued frame to the connection, in order."""
        with self._lock:
            items, self._outbox = list(self._outbox), deque()
            self._outbox_bytes = 0
            self._scheduled = False
        for item in items:
            if isinstance(item, str):
                self._channel.send_text(item)
            else:
                self._channel.close(*item)

    def _ended(self) -> None:
        with self._lock:
            self.closed = True
            self._outbox.clear()
            self._outbox_bytes = 0


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


@dataclass(frozen=True)
class Accepted:
    """A handshake the server accepts: the protocol that takes over, and the bytes of the 101 answer."""

    protocol: ServerProtocol
    head: bytes


def handshake(request: Request, limits: Limits) -> Accepted | Answer:
    """Accept a WebSocket upgrade, or say which JSON error to answer instead.

    The request was parsed already, so one protocol object checks it and writes the 101 answer, and another,
    open from the start, reads and writes the frames that follow.
    """
    path, query = split_target(request.url)
    target = path.decode("latin-1") + (f"?{query.decode('latin-1')}" if query else "")
    headers = Headers([(name.decode("latin-1"), value.decode("latin-1")) for name, value in request.headers])
    if request.method != "GET":
        return error_answer(400, f"Bad Request: a WebSocket handshake is a GET request, not {request.method}")
    accepting = ServerProtocol()
    response = accepting.accept(HandshakeRequest(target, headers))
    if response.status_code != 101:
        detail = response.body.decode("utf-8", "replace").strip().rstrip(".")
        return error_answer(response.status_code, f"{response.reason_phrase}: {detail}")
    accepting.send_response(response)
    opened = ServerProtocol(state=State.OPEN, max_size=limits.max_message_bytes)
    return Accepted(opened, b"".join(accepting.data_to_send()))


class Channel:
    """The WebSocket protocol on one upgraded connection; every method runs in the server's loop."""

    def __init__(self, server: Host, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop,
                 protocol: ServerProtocol) -> None:
        self.server, self.transport, self.loop, self.protocol = server, transport, loop, protocol
        self.limits = server.limits
        self.socket: WebSocket | None = None
        self.session: WebSocketSession | None = None
        self._fragments: list[bytes] = []
        self._fragment_bytes = 0
        self._text = True
        self._over = False

    def open(self, app: WebSocketApp, socket: WebSocket) -> None:
        """Hand the connection to the app."""
        self.socket = socket
        self._guarded(lambda: setattr(self, "session", app.open(socket)))

    def received(self, data: bytes) -> None:
        """Bytes from the client: whole messages go to the session; pings and closes are answered."""
        self.protocol.receive_data(data)
        for event in self.protocol.events_received():
            if isinstance(event, Frame):
                self._frame(event)
        self._flush()

    def _frame(self, frame: Frame) -> None:
        if frame.opcode in (Opcode.TEXT, Opcode.BINARY):
            self._text, self._fragments, self._fragment_bytes = frame.opcode is Opcode.TEXT, [], 0
        elif frame.opcode is not Opcode.CONT:
            return  # ping, pong and close are the protocol's business
        self._fragments.append(bytes(frame.data))
        self._fragment_bytes += len(frame.data)
        if self._fragment_bytes > self.limits.max_message_bytes:
            self.protocol.fail(1009, "message too big")
            return
        if not frame.fin:
            return
        raw, self._fragments = b"".join(self._fragments), []
        if not self._text:
            self._deliver(raw)
            return
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            self.protocol.fail(1007, "a text message must be UTF-8")
            return
        self._deliver(text)

    def _deliver(self, message: str | bytes) -> None:
        session = self.session
        if session is not None:
            self._guarded(lambda: session.received(message))

    def _guarded(self, call: Callable[[], None]) -> None:
        try:
            call()
        except Exception:  # the app's bug: reported, and the connection closed as failed
            self.server.report("the WebSocket app failed")
            self.close(_CLOSE_FAILED, "internal error")

    def send_text(self, text: str) -> None:
        """Send a text frame; a client with too much unread is dropped."""
        if self.protocol.state is not State.OPEN or self.transport.is_closing():
            return
        self.protocol.send_text(text.encode("utf-8"))
        self._flush()
        if self.transport.get_write_buffer_size() > self.limits.max_unread_bytes:
            self.drop()

    def drop(self) -> None:
        """Drop a client that does not read its frames: close code 1008, then the connection is cut."""
        self.server.dropped_readers += 1
        self.server.say(f"dropped the WebSocket client {self.socket.client if self.socket else '?'}: more than "
                        f"{self.limits.max_unread_bytes} bytes of frames unread (close code {CLOSE_UNREAD})")
        self.protocol.fail(CLOSE_UNREAD, "too many unread frames")
        self._flush()
        self.transport.abort()

    def close(self, code: int, reason: str) -> None:
        """Start the closing handshake."""
        if self.protocol.state is State.OPEN:
            self.protocol.send_close(code, reason)
            self._flush()

    def eof(self) -> None:
        """The client closed its side."""
        self.protocol.receive_eof()
        self._flush()

    def lost(self) -> None:
        """The connection has ended: the session hears it once."""
        if self._over:
            return
        self._over = True
        if self.socket is not None:
            self.socket._ended()
        session = self.session
        if session is not None:
            try:
                session.closed()
            except Exception:  # the app's bug; the connection is gone already
                self.server.report("the WebSocket app failed while closing")

    def _flush(self) -> None:
        for chunk in self.protocol.data_to_send():
            if self.transport.is_closing():
                return
            if chunk:
                self.transport.write(chunk)
            else:  # websockets' signal that the TCP connection should end here
                self.transport.close()
