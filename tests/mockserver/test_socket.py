"""The one real-socket server, ``HttpServer``: what only a socket can show about HTTP.

Everything about the API itself is tested in-process through ``werkzeug.test.Client``. Here: connections are
kept alive; the server's own errors (a request it refuses before the app is called) come back as UCloud's JSON
error in a proper HTTP/1.1 answer, even while the client is still sending; a large header is served; a client
that gives up half-way does not hurt the server; ``stop()`` is prompt and frees the port; the access log writes
one line per request. The limits (slow clients, the connection cap, latency faults) are in test_server_limits.py,
the WebSocket in test_websocket.py.
"""

from __future__ import annotations

import contextlib
import http.client
import io
import json
import re
import socket
import struct
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from mockserver.server import HttpServer, Limits
from mockserver.web.app import create_app
from tests.mockserver.support import job_spec, serving

JSON_TYPE = "application/json; charset=utf-8"
TOKEN = "socket-test-token"
CREATE_BODY = json.dumps({"items": [job_spec()]}).encode()
FIRST_ID = "62348"  # the seed scenario's first job id
IO_TIMEOUT = 10.0  # seconds; only reached when something is wrong


@pytest.fixture
def live_server() -> Iterator[HttpServer]:
    """The mock (seed scenario) on an ephemeral loopback port, served from a background thread.

    Its app checks its own answers against the spec; an error inside it fails the test that caused it.
    """
    with serving(create_app(validate_responses=True)) as server:
        yield server


def _connect(server: HttpServer) -> http.client.HTTPConnection:
    return http.client.HTTPConnection(server.host, server.port, timeout=IO_TIMEOUT)


def _call(connection: http.client.HTTPConnection, method: str, target: str, body: bytes | None = None,
          headers: dict[str, str] | None = None) -> tuple[int, str, Any]:
    """Send one request on ``connection``; the status, Content-Type and parsed JSON body of the answer."""
    connection.request(method, target, body=body, headers={"Authorization": f"Bearer {TOKEN}", **(headers or {})})
    response = connection.getresponse()
    raw = response.read()
    return response.status, response.getheader("Content-Type", ""), json.loads(raw)


def _exchange(server: HttpServer, data: bytes) -> tuple[bytes, bool]:
    """Send raw bytes, read until the server closes: what came back, and whether the close was a reset."""
    with socket.create_connection((server.host, server.port), timeout=IO_TIMEOUT) as sock:
        received = b""
        try:
            sock.sendall(data)
            while chunk := sock.recv(65536):
                received += chunk
        except (ConnectionResetError, BrokenPipeError):
            return received, True
        except TimeoutError:
            pytest.fail(f"the server neither answered nor closed the connection in {IO_TIMEOUT} s; "
                        f"received {received[:200]!r}")
        return received, False


class _Bytes:
    """Just enough of a socket for ``http.client.HTTPResponse`` to parse bytes already received."""

    def __init__(self, data: bytes) -> None:
        self._data = data

    def makefile(self, mode: str) -> io.BytesIO:
        return io.BytesIO(self._data)


def _parse(raw: bytes) -> tuple[int, str, Any]:
    response = http.client.HTTPResponse(_Bytes(raw))  # type: ignore[arg-type]
    response.begin()
    return response.status, response.getheader("Content-Type", ""), json.loads(response.read())


def _assert_still_serving(server: HttpServer) -> None:
    connection = _connect(server)
    try:
        status, _, body = _call(connection, "GET", "/_mock/clock")
    finally:
        connection.close()
    assert status == 200, body


def test_keep_alive_serves_several_requests_on_one_connection(live_server: HttpServer) -> None:
    connection = _connect(live_server)
    try:
        assert _call(connection, "POST", "/api/jobs", CREATE_BODY)[0] == 200
        sock = connection.sock
        assert sock is not None
        for _ in range(3):
            status, content_type, job = _call(connection, "GET", f"/api/jobs/retrieve?id={FIRST_ID}")
            assert (status, content_type, job["id"]) == (200, JSON_TYPE, FIRST_ID)
            # http.client drops the socket when the server asks to close; the same object means it stayed open.
            assert connection.sock is sock
        status, _, error = _call(connection, "GET", "/api/jobs/retrieve?id=999")
        assert (status, set(error)) == (404, {"why", "errorCode"})
        assert connection.sock is sock, "an error answer must not close a kept-alive connection"
    finally:
        connection.close()


REQUEST = b"GET /api/jobs/retrieve?id=1 HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer t\r\n"


@pytest.mark.parametrize(("data", "status"), [
    pytest.param(b"GARBAGE\r\n\r\n", 400, id="malformed-request-line"),
    pytest.param(b"\x00\x01\x02 not http\r\n\r\n", 400, id="binary-request-line"),
    pytest.param(REQUEST + b"Header without a colon\r\n\r\n", 400, id="malformed-header"),
    pytest.param(REQUEST + b"Content-Length: many\r\n\r\n", 400, id="non-numeric-content-length"),
    pytest.param(REQUEST + b"Transfer-Encoding: chunked\r\n\r\nzz\r\n", 400, id="broken-chunked-body"),
    pytest.param(REQUEST + b"Content-Length: %d\r\n\r\n" % (64 * 1024 * 1024 + 1), 413,
                 id="content-length-past-the-wire-limit"),
])
def test_the_server_s_own_errors_come_back_as_json_and_close_the_connection(live_server: HttpServer, data: bytes,
                                                                              status: int) -> None:
    raw, reset = _exchange(live_server, data)
    assert not reset, f"the connection was reset instead of answered; received {raw!r}"
    answered, content_type, body = _parse(raw)
    assert (answered, content_type) == (status, JSON_TYPE), raw
    assert set(body) == {"why", "errorCode"}, body
    assert isinstance(body["why"], str), body
    assert body["why"], body
    assert body["errorCode"] is None
    _assert_still_serving(live_server)


def test_a_header_past_the_limit_gets_a_431_in_json_while_the_client_is_still_sending(
        live_server: HttpServer) -> None:
    # The server answers as soon as the header passes 256 KiB, while the client is still sending: it ends its
    # side and reads and drops the rest, so the kernel sends no reset and the client reads the whole answer.
    raw, reset = _exchange(live_server, REQUEST + b"X-Padding: " + b"a" * (300 * 1024) + b"\r\n\r\n")
    assert not reset, f"the connection was reset; received {raw[:200]!r}"
    assert raw.startswith(b"HTTP/1.1 431 Request Header Fields Too Large\r\n"), raw[:200]
    status, content_type, body = _parse(raw)
    assert (status, content_type, body) == (
        431, JSON_TYPE, {"why": "Request Header Fields Too Large", "errorCode": None})
    assert b"\r\nConnection: close\r\n" in raw.split(b"\r\n\r\n", 1)[0] + b"\r\n"
    _assert_still_serving(live_server)


def test_a_64_kib_header_is_served(live_server: HttpServer) -> None:
    connection = _connect(live_server)
    try:
        status, _, body = _call(connection, "POST", "/api/jobs", CREATE_BODY, {"X-Padding": "p" * 64 * 1024})
        assert (status, body) == (200, {"responses": [{"id": FIRST_ID}]})
        big_token = "t" * 64 * 1024  # a large bearer token in the header the mock does read
        connection.request("GET", f"/api/jobs/retrieve?id={FIRST_ID}", headers={"Authorization": f"Bearer {big_token}"})
        response = connection.getresponse()
        assert response.status == 200
        assert json.loads(response.read())["owner"]["createdBy"] == "user"
    finally:
        connection.close()


def _abort(sock: socket.socket) -> None:
    """Close with a reset instead of a FIN, as a crashed client or a dropped network does."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def test_a_client_that_gives_up_half_way_does_not_stop_the_server(live_server: HttpServer) -> None:
    create = (b"POST /api/jobs HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer t\r\n"
              b"Content-Length: %d\r\n\r\n" % len(CREATE_BODY))
    halves = [
        b"POST /api/jo",  # half a request line
        create[:-10],  # headers without their end
        create + CREATE_BODY[: len(CREATE_BODY) // 2],  # half the body
    ]
    for half in halves:
        for close in (socket.socket.close, _abort):
            sock = socket.create_connection((live_server.host, live_server.port), timeout=IO_TIMEOUT)
            sock.sendall(half)
            close(sock)
    # A whole request whose client leaves before the answer: the server writes into a closed connection.
    sock = socket.create_connection((live_server.host, live_server.port), timeout=IO_TIMEOUT)
    sock.sendall(REQUEST + b"\r\n")
    _abort(sock)

    connection = _connect(live_server)
    try:
        status, _, body = _call(connection, "POST", "/api/jobs", CREATE_BODY)
    finally:
        connection.close()
    # The first job the app ever created: no half-sent create reached it.
    assert (status, body) == (200, {"responses": [{"id": FIRST_ID}]})


def test_stop_ends_the_loop_without_waiting_for_clients_and_releases_the_port() -> None:
    # Clients that would hold the server for an hour if stop() waited for them: stop() must not.
    patient = Limits(idle_timeout_s=3600.0, header_timeout_s=3600.0)
    before = set(threading.enumerate())  # another test's server may be running in this worker (tests/browser/)
    server = HttpServer(create_app(), "127.0.0.1", 0, limits=patient).start()
    port = server.port
    loops = [thread for thread in set(threading.enumerate()) - before if thread.name == "ucloud-jobs-mock"]
    assert len(loops) == 1
    idle = _connect(server)  # a kept-alive connection, idle between requests
    half = socket.create_connection(("127.0.0.1", port), timeout=IO_TIMEOUT)
    try:
        assert _call(idle, "GET", "/_mock/clock")[0] == 200
        half.sendall(b"GET /_mock/clock HTTP/1.1\r\nHost: mo")  # a request still arriving

        server.stop()

        assert not any(thread.is_alive() for thread in loops), "stop() returned with the server's loop still running"
        # Closed either way; a reset when the server had not yet read what the client sent.
        with contextlib.suppress(ConnectionResetError):
            assert half.recv(1024) == b"", "stop() must close connections that are still open"
        assert idle.sock is not None
        assert idle.sock.recv(1024) == b""
    finally:
        idle.close()
        half.close()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=IO_TIMEOUT).close()
    again = HttpServer(create_app(), "127.0.0.1", port).start()  # a restart on the same port binds at once
    try:
        _assert_still_serving(again)
    finally:
        again.stop()


def test_stop_without_start_and_a_second_stop_release_the_port() -> None:
    server = HttpServer(create_app(), "127.0.0.1", 0)
    port = server.port
    server.stop()
    server.stop()
    again = HttpServer(create_app(), "127.0.0.1", port).start()
    again.stop()
    again.stop()
    HttpServer(create_app(), "127.0.0.1", port).stop()


ACCESS_LINE = re.compile(r'127\.0\.0\.1 "(?P<request>[A-Z]+ \S+)" (?P<status>\d{3}) (?P<bytes>\d+) \d+\.\dms')


def test_the_access_log_writes_one_line_per_request() -> None:
    log = io.StringIO()
    server = HttpServer(create_app(), "127.0.0.1", 0, access_log=log).start()
    sent: list[tuple[str, str, int]] = []
    try:
        connection = _connect(server)
        try:
            for method, target, body in [("POST", "/api/jobs", CREATE_BODY),
                                         ("GET", f"/api/jobs/retrieve?id={FIRST_ID}&includeUpdates=true", None),
                                         ("GET", "/api/jobs/nowhere", None),
                                         ("GET", "/_mock/clock", None)]:
                connection.request(method, target, body=body, headers={"Authorization": f"Bearer {TOKEN}"})
                response = connection.getresponse()
                size = len(response.read())
                sent.append((f"{method} {target}", str(response.status), size))
        finally:
            connection.close()
    finally:
        server.stop()
    lines = log.getvalue().splitlines()
    assert len(lines) == len(sent), lines
    for line, (request, status, size) in zip(lines, sent, strict=True):
        match = ACCESS_LINE.fullmatch(line)
        assert match is not None, line
        assert (match["request"], match["status"], int(match["bytes"])) == (request, status, size)
    assert [status for _, status, _ in sent] == ["200", "200", "404", "200"]
