"""The socket server's WebSocket, with a small app of the test's own: the handshake, messages, order, limits.

What ``jobs.follow`` makes of it is in test_follow_socket.py; here the server alone: a bad handshake is answered
with UCloud's JSON error, frames sent from any thread arrive in order, a client that never reads is dropped with
close code 1008 instead of growing the server's memory, a message past the limit is refused with 1009, an app
that fails closes its connection with 1011 and nothing else, and ``stop`` ends every session.
"""

from __future__ import annotations

import base64
import io
import json
import os
import socket
import threading
from collections.abc import Iterator, Mapping

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.frames import Frame, Opcode
from websockets.sync.client import connect

from mockserver.server import CLOSE_UNREAD, HttpServer, Limits, WebSocket
from mockserver.web.app import create_app

IO_TIMEOUT = 10.0  # seconds; reached only when something is wrong
JSON_TYPE = "application/json; charset=utf-8"
FLOOD_FRAME = 64 * 1024


class Session:
    """Echoes text; ``flood`` sends frames until the connection ends; ``boom`` fails."""

    def __init__(self, app: EchoApp, socket: WebSocket) -> None:
        self.app, self.socket = app, socket

    def received(self, message: str | bytes) -> None:
        if message == "flood":
            for _ in range(4096):  # 256 MiB if nothing stopped it
                if self.socket.closed:
                    return
                self.socket.send("x" * FLOOD_FRAME)
        elif message == "boom":
            raise RuntimeError("the app failed")
        else:
            self.socket.send(f"echo {message!r}")

    def closed(self) -> None:
        self.app.ended.set()


class EchoApp:
    """A WebSocket app for the server's tests."""

    def __init__(self) -> None:
        self.refusal: tuple[int, str] | None = None
        self.sockets: list[WebSocket] = []
        self.opened = threading.Event()
        self.ended = threading.Event()

    def refuse(self, path: str, headers: Mapping[str, str]) -> tuple[int, str] | None:
        return self.refusal

    def open(self, socket: WebSocket) -> Session:
        self.sockets.append(socket)
        self.opened.set()
        return Session(self, socket)


@pytest.fixture
def app() -> EchoApp:
    return EchoApp()


@pytest.fixture
def server(app: EchoApp) -> Iterator[HttpServer]:
    errors = io.StringIO()
    with HttpServer(create_app(scenario="blank"), websocket=app, errors=errors,
                    limits=Limits(max_unread_bytes=256 * 1024, max_message_bytes=4096)) as running:
        yield running


def _url(server: HttpServer, path: str = "/api/jobs") -> str:
    return f"ws://{server.host}:{server.port}{path}"


def _handshake(path: str = "/api/jobs", *extra: bytes, method: bytes = b"GET", key: bool = True) -> bytes:
    lines = [method + b" " + path.encode() + b" HTTP/1.1", b"Host: 127.0.0.1", b"Upgrade: websocket",
             b"Connection: Upgrade", b"Sec-WebSocket-Version: 13"]
    if key:
        lines.append(b"Sec-WebSocket-Key: " + base64.b64encode(os.urandom(16)))
    return b"\r\n".join([*lines, *extra]) + b"\r\n\r\n"


def _exchange(server: HttpServer, data: bytes) -> bytes:
    with socket.create_connection((server.host, server.port), timeout=IO_TIMEOUT) as sock:
        sock.sendall(data)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
        return received


def _json_error(raw: bytes) -> tuple[int, dict[str, object]]:
    head, _, body = raw.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    assert f"Content-Type: {JSON_TYPE}".encode() in head, head
    return status, json.loads(body)


def test_messages_are_echoed_and_pings_answered(server: HttpServer) -> None:
    with connect(_url(server), open_timeout=IO_TIMEOUT) as client:
        client.send("hello")
        assert client.recv(IO_TIMEOUT) == "echo 'hello'"
        client.ping().wait(IO_TIMEOUT)
        client.send(b"\x00\x01")
        assert client.recv(IO_TIMEOUT) == "echo b'\\x00\\x01'"


@pytest.mark.parametrize(("data", "status", "words"), [
    pytest.param(_handshake(key=False), 400, "missing Sec-WebSocket-Key", id="no-key"),
    pytest.param(_handshake().replace(b"Version: 13", b"Version: 8"), 400, "Sec-WebSocket-Version",
                 id="another-version"),
    pytest.param(_handshake(method=b"POST").replace(b"\r\n\r\n", b"\r\nContent-Length: 0\r\n\r\n"), 400,
                 "a WebSocket handshake is a GET request", id="post"),
])
def test_a_bad_handshake_gets_a_json_error_and_the_server_goes_on(server: HttpServer, data: bytes, status: int,
                                                                  words: str) -> None:
    raw = _exchange(server, data)
    answered, error = _json_error(raw)
    assert answered == status, raw
    assert set(error) == {"why", "errorCode"}
    assert words in str(error["why"]), error
    with connect(_url(server), open_timeout=IO_TIMEOUT) as client:
        client.send("still here")
        assert client.recv(IO_TIMEOUT) == "echo 'still here'"


def test_the_app_may_refuse_a_handshake_with_its_own_status(server: HttpServer, app: EchoApp) -> None:
    app.refusal = (403, "Forbidden: not from here")
    assert _json_error(_exchange(server, _handshake())) == (403, {"why": "Forbidden: not from here",
                                                                  "errorCode": None})
    assert app.sockets == []


def test_an_upgrade_elsewhere_is_an_ordinary_request_for_the_app(server: HttpServer, app: EchoApp) -> None:
    status, error = _json_error(_exchange(server, _handshake("/api/jobs/retrieve?id=1")))
    assert (status, error["why"]) == (401, "Unauthorized")
    assert app.sockets == []


def test_frames_sent_from_many_threads_arrive_in_each_thread_s_order(server: HttpServer, app: EchoApp) -> None:
    with connect(_url(server), open_timeout=IO_TIMEOUT) as client:
        assert app.opened.wait(IO_TIMEOUT)
        (sent_to,) = app.sockets

        def send(thread: int) -> None:
            for index in range(500):
                sent_to.send(f"{thread}:{index}")

        threads = [threading.Thread(target=send, args=(thread,), daemon=True) for thread in range(4)]
        for thread in threads:
            thread.start()
        received = [str(client.recv(IO_TIMEOUT)) for _ in range(4 * 500)]
        for thread in threads:
            thread.join(IO_TIMEOUT)
    for thread in range(4):
        mine = [int(text.split(":")[1]) for text in received if text.startswith(f"{thread}:")]
        assert mine == list(range(500))


def test_a_client_that_never_reads_is_dropped_with_1008(server: HttpServer, app: EchoApp) -> None:
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # a small window: the server's buffer fills
    sock.settimeout(IO_TIMEOUT)
    with sock:
        sock.connect((server.host, server.port))
        sock.sendall(_handshake())
        assert sock.recv(4096).startswith(b"HTTP/1.1 101 ")
        sock.sendall(Frame(Opcode.TEXT, b"flood").serialize(mask=True))
        # The client reads nothing more; the server drops it once 256 KiB of frames are unread.
        assert app.ended.wait(IO_TIMEOUT), "the server kept the client that reads nothing"
        assert server.dropped_readers == 1
        assert app.sockets[0].closed
    assert server.errors is not None
    assert f"more than 262144 bytes of frames unread (close code {CLOSE_UNREAD})" in server.errors.getvalue()
    with connect(_url(server), open_timeout=IO_TIMEOUT) as client:  # and the server goes on
        client.send("next")
        assert client.recv(IO_TIMEOUT) == "echo 'next'"


def test_a_message_past_the_limit_closes_with_1009(server: HttpServer, app: EchoApp) -> None:
    with connect(_url(server), open_timeout=IO_TIMEOUT, max_size=None) as client:
        client.send("x" * 5000)
        with pytest.raises(ConnectionClosed) as closed:
            client.recv(IO_TIMEOUT)
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 1009
    assert app.ended.wait(IO_TIMEOUT)


def test_an_app_that_fails_closes_its_connection_with_1011(server: HttpServer, app: EchoApp) -> None:
    with connect(_url(server), open_timeout=IO_TIMEOUT) as client:
        client.send("boom")
        with pytest.raises(ConnectionClosed) as closed:
            client.recv(IO_TIMEOUT)
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 1011
    assert server.errors is not None
    assert "RuntimeError: the app failed" in server.errors.getvalue()
    with connect(_url(server), open_timeout=IO_TIMEOUT) as client:
        client.send("after")
        assert client.recv(IO_TIMEOUT) == "echo 'after'"


def test_stop_ends_every_session(app: EchoApp) -> None:
    server = HttpServer(create_app(scenario="blank"), websocket=app).start()
    with connect(_url(server), open_timeout=IO_TIMEOUT) as client:
        assert app.opened.wait(IO_TIMEOUT)
        server.stop()
        assert app.ended.is_set()
        with pytest.raises(ConnectionClosed):
            client.recv(IO_TIMEOUT)
