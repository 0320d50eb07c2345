"""One client connection: HTTP/1.1 requests answered in order or, once upgraded at the WebSocket path, a WebSocket.

httptools calls back as bytes arrive; a whole request is answered in the same call (the app runs in the loop's
thread) unless the server sends it to its thread pool. A request the server refuses itself gets UCloud's JSON
error, and the rest of what the client is still sending is read and dropped before the connection closes, so
the client reads the answer rather than a reset.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from typing import TYPE_CHECKING, cast

import httptools

from mockserver.server.framing import (
    Answer,
    ClientError,
    Request,
    error_answer,
    response_bytes,
    split_target,
    unknown_method,
    wsgi_environ,
)
from mockserver.server.host import Host
from mockserver.server.websocket import Accepted, Channel, WebSocket, handshake

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment

__all__ = ["Connection"]

UNKNOWN_METHOD_HEAD = 16 * 1024  # how much of a request with a method llhttp does not know is kept to read it


class Connection(asyncio.Protocol):
    """An asyncio protocol for one client."""

    def __init__(self, server: Host, loop: asyncio.AbstractEventLoop) -> None:
        self.server, self.loop, self.limits = server, loop, server.limits
        self.parser = httptools.HttpRequestParser(self)
        self.transport: asyncio.Transport | None = None
        self.client = ""
        self.request: Request | None = None  # the one being parsed
        self.head_bytes = 0
        self.queue: deque[Request | ClientError] = deque()  # parsed, not yet answered
        self.busy = False  # an answer is being computed in the thread pool
        self.error: ClientError | None = None
        self.deadline: float | None = None
        self.channel: Channel | None = None
        self.after_upgrade = b""
        self.since_message = b""  # what was read since the last request began (for an unknown method)
        self.lingering = False

    # ---------------------------------------------------------------- transport events
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast("asyncio.Transport", transport)  # uvloop's transports do not subclass asyncio's
        peer = self.transport.get_extra_info("peername")
        self.client = str(peer[0]) if peer else ""
        self.server.admit(self)
        self.arm(self.limits.header_timeout_s)

    def connection_lost(self, exc: Exception | None) -> None:
        self.server.forget(self)
        if self.channel is not None:
            self.channel.lost()

    def data_received(self, data: bytes) -> None:
        if self.channel is not None:
            self.channel.received(data)
            return
        if self.lingering:
            return  # the rest of a refused request: read and dropped
        fresh, answered = self.request is None, len(self.queue)
        self.since_message = data if fresh else (self.since_message + data)[:UNKNOWN_METHOD_HEAD]
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade as upgrade:
            self.after_upgrade = data[upgrade.args[0]:]
        except httptools.HttpParserInvalidMethodError:
            # Found only when the request began this read (a pipelined one gets a 400).
            unknown = unknown_method(self.since_message) if len(self.queue) == answered else None
            self.queue.append(unknown or ClientError(400, "Bad Request: Invalid method encountered"))
        except httptools.HttpParserError as error:
            self.queue.append(self.error or ClientError(400, f"Bad Request: {error}"))
        if len(self.queue) > self.limits.max_pipelined and self.transport is not None:
            self.transport.pause_reading()
        self.drain()

    def eof_received(self) -> bool | None:
        if self.channel is not None:
            self.channel.eof()
        elif self.lingering and self.transport is not None:
            self.transport.close()
        elif self.request is not None and self.transport is not None and not self.busy and not self.queue:
            # The client ended its side in the middle of a request: say so; it may still read the answer.
            self.refuse(ClientError(400, "Bad Request: the connection ended before the request did"))
            self.transport.close()
            return True
        return None

    def arm(self, seconds: float | None) -> None:
        """Set the one deadline of this connection; the server's sweep closes it once that has passed."""
        self.deadline = None if seconds is None else self.loop.time() + seconds

    def abort(self) -> None:
        """Cut the connection at once."""
        if self.transport is not None:
            self.transport.abort()

    def idle(self) -> bool:
        """Whether dropping this connection loses no work: no answer pending, at most headers arriving."""
        return not self.busy and not self.queue and self.channel is None and (
            self.request is None or not self.request.method)

    # ---------------------------------------------------------------- httptools callbacks
    def on_message_begin(self) -> None:
        self.request = Request()
        self.request.method = ""  # not known until the headers are complete
        self.head_bytes = 0
        self.arm(self.limits.header_timeout_s)

    def on_url(self, url: bytes) -> None:
        assert self.request is not None
        self.request.url += url
        self._count(len(url))

    def on_header(self, name: bytes, value: bytes) -> None:
        assert self.request is not None
        self.request.headers.append((name, value))
        self._count(len(name) + len(value) + 4)

    def _count(self, size: int) -> None:
        self.head_bytes += size
        if self.head_bytes > self.limits.max_header_bytes:
            self.error = ClientError(431, "Request Header Fields Too Large")
            raise self.error

    def on_headers_complete(self) -> None:
        request = self.request
        assert request is not None
        request.method = self.parser.get_method().decode("ascii")
        request.upgrade = self.parser.should_upgrade()
        request.version = self.parser.get_http_version()
        self.arm(self.limits.idle_timeout_s)
        length = (request.header(b"content-length") or b"").strip()
        if length.isdigit() and int(length) > self.limits.max_body_bytes:
            self.error = ClientError(413, "Payload Too Large")
            raise self.error
        if (request.header(b"expect") or b"").lower() == b"100-continue" and not self.queue and not self.busy:
            assert self.transport is not None
            self.transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")

    def on_body(self, body: bytes) -> None:
        assert self.request is not None
        self.request.body += body
        if len(self.request.body) > self.limits.max_body_bytes:
            self.error = ClientError(413, "Payload Too Large")
            raise self.error

    def on_message_complete(self) -> None:
        assert self.request is not None
        self.request.keep_alive = self.parser.should_keep_alive()
        self.queue.append(self.request)
        self.request = None

    # ---------------------------------------------------------------- answering, in order
    def drain(self) -> None:
        """Answer what was parsed, in order, until the queue is empty or an answer is computed elsewhere."""
        while self.queue and not self.busy and self.transport is not None and not self.transport.is_closing():
            item = self.queue.popleft()
            if isinstance(item, ClientError):
                self.refuse(item)
                return
            if item.upgrade and self.server.websocket is not None and self.path(item) == self.server.ws_path:
                self.upgrade(item)
                return
            environ = wsgi_environ(item, self.server.host, self.server.port, self.client)
            if self.server.offload is not None and self.server.offload(environ):
                self.busy = True
                self.arm(None)
                self.server.track(self.loop.create_task(self.answer_offloaded(item, environ)))
                return
            self.answer(item, self.server.call_app(environ))
        if self.transport is not None and len(self.queue) <= self.limits.max_pipelined:
            self.transport.resume_reading()
        if not self.queue and not self.busy and self.request is None and self.channel is None:
            self.arm(self.limits.idle_timeout_s)

    async def answer_offloaded(self, request: Request, environ: WSGIEnvironment) -> None:
        """Answer a request whose app call runs in the thread pool (it may wait: a latency fault)."""
        try:
            answer = await self.loop.run_in_executor(self.server.executor(), self.server.call_app, environ)
        finally:
            self.busy = False
        self.answer(request, answer)
        self.drain()

    def answer(self, request: Request, answer: Answer) -> None:
        """Write the answer; close after it when the client or the request asks for that."""
        if self.transport is None or self.transport.is_closing():
            return
        close = not request.keep_alive or request.upgrade  # the parser reads nothing after an upgrade request
        self.transport.write(response_bytes(request.version, answer, head_only=request.method == "HEAD",
                                            close=close))
        if close:
            self.transport.close()

    def refuse(self, error: ClientError) -> None:
        """The server's own answer to a request it cannot pass on; what the client still sends is dropped."""
        assert self.transport is not None
        self.transport.write(response_bytes("1.1", error_answer(error.status, error.why), head_only=False,
                                            close=True))
        self.linger()

    def linger(self) -> None:
        """Close after an error answer without losing it: end our side, then read and drop until the client's
        end (or ``Limits.linger_s``), so the kernel sends no reset while the answer is still unread."""
        assert self.transport is not None
        self.queue.clear()
        self.lingering = True
        self.transport.resume_reading()
        if self.transport.can_write_eof():
            self.transport.write_eof()
            self.arm(self.limits.linger_s)
        else:
            self.transport.close()

    @staticmethod
    def path(request: Request) -> str:
        """The request's path, not decoded."""
        return split_target(request.url)[0].decode("latin-1")

    # ---------------------------------------------------------------- WebSocket
    def upgrade(self, request: Request) -> None:
        """Accept a WebSocket at the server's path and hand it to the server's WebSocket app."""
        app = self.server.websocket
        assert self.transport is not None
        assert app is not None
        started = time.perf_counter()
        path, query = (part.decode("latin-1") for part in split_target(request.url))
        headers = {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in request.headers}
        refusal = app.refuse(path, headers)
        result = handshake(request, self.limits) if refusal is None else error_answer(*refusal)
        if not isinstance(result, Accepted):
            request.keep_alive = False
            self.answer(request, result)
            self.server.logged(self.client, request.method, path, result[0].split(" ", 1)[0], started)
            return
        self.transport.write(result.head)
        self.server.logged(self.client, request.method, path, "101", started)
        self.arm(None)
        self.channel = Channel(self.server, self.transport, self.loop, result.protocol)
        self.channel.open(app, WebSocket(self.channel, path, query, headers, self.client))
        if self.after_upgrade:
            self.channel.received(self.after_upgrade)
