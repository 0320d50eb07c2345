"""What one client may cost the socket server, and what it may not take from the others.

The server answers every client from one loop; these tests show that nothing a client does stops it answering
the rest: a call held by a latency fault (it goes to the thread pool), a thousand clients sending their headers
slowly (a header timeout and a connection cap), and that a held call does not hold the server's end. Nothing here
sleeps or measures time: the order of events shows what happened, and every wait has a bound reached only when
something is wrong.
"""

from __future__ import annotations

import http.client
import json
import socket
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from mockserver.api import MockServer
from mockserver.server import HttpServer, Limits
from mockserver.web.app import create_app
from tests.mockserver.support import closed_by_the_server, serving, slow_client

IO_TIMEOUT = 10.0  # seconds; reached only when something is wrong
TOKEN = "limits-test-token"
SLOW_CLIENTS = 1000


def _get(host: str, port: int, target: str) -> tuple[int, Any]:
    connection = http.client.HTTPConnection(host, port, timeout=IO_TIMEOUT)
    try:
        connection.request("GET", target, headers={"Authorization": f"Bearer {TOKEN}"})
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()


class _Held:
    """A stand-in for the latency fault's wait that tells the test it began, and waits until released."""

    def __init__(self, wait: Callable[[float], None]) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()
        self._wait = wait

    def __call__(self, seconds: float) -> None:
        self.entered.set()
        self.release.wait(IO_TIMEOUT)
        self._wait(seconds)


@pytest.fixture
def mock() -> Iterator[MockServer]:
    with MockServer(scenario="blank") as server:
        yield server


def test_a_call_under_a_latency_fault_does_not_hold_the_other_clients(mock: MockServer) -> None:
    held = _Held(mock.app.sleep)
    mock.app.sleep = held
    mock.faults.set(operation="jobs.browse", latency_ms=1000)
    answers: list[tuple[int, Any]] = []
    first = threading.Thread(target=lambda: answers.append(_get(mock.host, mock.port, "/api/jobs/browse")),
                             daemon=True)
    first.start()
    try:
        assert held.entered.wait(IO_TIMEOUT), "the faulted call never reached its wait"
        # While the first call waits out its fault, another client is answered, and the first is not.
        assert _get(mock.host, mock.port, "/_mock/clock")[0] == 200
        assert _get(mock.host, mock.port, "/api/jobs/retrieve?id=1")[0] == 404
        assert answers == []
        assert first.is_alive()
    finally:
        held.release.set()
        first.join(IO_TIMEOUT)
    assert [status for status, _ in answers] == [200]


def test_stopping_ends_a_call_waiting_out_a_latency_fault() -> None:
    before = set(threading.enumerate())  # another test's server may be running in this worker (tests/browser/)
    mock = MockServer(scenario="blank").start()
    mock.faults.set(operation="jobs.browse", latency_ms=60_000)
    entered = threading.Event()
    wait = mock.app.sleep

    def sleep(seconds: float) -> None:
        entered.set()
        wait(seconds)

    mock.app.sleep = sleep
    outcome: list[BaseException | tuple[int, Any]] = []

    def call() -> None:
        try:
            outcome.append(_get(mock.host, mock.port, "/api/jobs/browse"))
        except (OSError, http.client.HTTPException) as error:
            outcome.append(error)

    client = threading.Thread(target=call, daemon=True)
    client.start()
    try:
        assert entered.wait(IO_TIMEOUT), "the faulted call never reached its wait"
        pool = [thread for thread in set(threading.enumerate()) - before
                if thread.name.startswith("ucloud-jobs-mock_")]
        assert pool, "the faulted call did not go to the server's thread pool"
    finally:
        mock.stop()
    client.join(IO_TIMEOUT)
    assert not client.is_alive()
    assert isinstance(outcome[0], (OSError, http.client.HTTPException)), outcome  # the connection was closed
    for thread in pool:  # the pool's thread is free again: nothing holds the interpreter's exit for 60 s
        thread.join(IO_TIMEOUT)
        assert not thread.is_alive()


def test_a_thousand_slow_clients_do_not_lock_out_a_normal_one() -> None:
    app = create_app(scenario="blank", users={TOKEN: "user"})
    with serving(app) as server:
        slow = []
        try:
            for _ in range(SLOW_CLIENTS):
                slow.append(slow_client(server.host, server.port))
            # The server holds at most its cap of connections: the normal client's takes a slow one's place.
            assert _get(server.host, server.port, "/_mock/clock")[0] == 200
            assert _get(server.host, server.port, "/api/jobs/browse")[0] == 200
            assert server.connections <= server.limits.max_connections
        finally:
            for sock in slow:
                sock.close()


def test_a_client_that_sends_its_headers_too_slowly_is_disconnected() -> None:
    server = HttpServer(create_app(scenario="blank"), limits=Limits(header_timeout_s=0.5)).start()
    try:
        sock = slow_client(server.host, server.port)
        with sock:
            # The server closes the connection once the header timeout has passed; recv waits for that.
            assert closed_by_the_server(sock)
        assert _get(server.host, server.port, "/_mock/clock")[0] == 200
    finally:
        server.stop()


def test_past_the_connection_cap_the_idle_connection_is_dropped_for_the_new_one() -> None:
    server = HttpServer(create_app(scenario="blank"), limits=Limits(max_connections=3)).start()
    idle = []
    try:
        idle += [slow_client(server.host, server.port) for _ in range(3)]
        assert _get(server.host, server.port, "/_mock/clock")[0] == 200
        # The oldest idle client was dropped to make room: its connection reads as closed.
        assert closed_by_the_server(idle[0])
    finally:
        for sock in idle:
            sock.close()
        server.stop()


BUDGET = 40_000  # bytes of unanswered requests the budget tests' server holds at most


def _partial_post(host: str, port: int, length: int, sent: int) -> socket.socket:
    """A client that has sent the head of a POST with a body of ``length`` bytes, and ``sent`` of them."""
    sock = socket.create_connection((host, port), timeout=IO_TIMEOUT)
    sock.sendall(b"POST /api/jobs HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer %s\r\n"
                 b"Content-Length: %d\r\n\r\n" % (TOKEN.encode(), length) + b" " * sent)
    return sock


def _answer(sock: socket.socket) -> tuple[int, dict[str, Any]]:
    """Read one whole answer (the server closes after its own refusals; a kept-alive one has a Content-Length)."""
    raw = b""
    while b"\r\n\r\n" not in raw:
        raw += sock.recv(65536)
    head, _, body = raw.partition(b"\r\n\r\n")
    length = int(next(line.split(b":")[1] for line in head.split(b"\r\n")
                      if line.lower().startswith(b"content-length")))
    while len(body) < length:
        body += sock.recv(65536)
    return int(head.split(b" ")[1]), json.loads(body)


@pytest.mark.parametrize("held_in", ["body", "header"])
def test_past_the_budget_of_held_request_bytes_a_request_is_refused_with_503(held_in: str) -> None:
    server = HttpServer(create_app(scenario="blank"), limits=Limits(max_buffered_bytes=BUDGET)).start()
    try:
        if held_in == "body":
            holding = _partial_post(server.host, server.port, 30_000, 30_000 - 1)
        else:  # a header of 30 kB whose end has not come
            holding = socket.create_connection((server.host, server.port), timeout=IO_TIMEOUT)
            holding.sendall(b"GET /api/jobs/browse HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer "
                            + TOKEN.encode() + b"\r\nX-Pad: " + b"a" * 30_000)
        # A request answered on another connection: the loop read what was already waiting on the first meanwhile
        # (asyncio reads every ready socket on each turn), so the held bytes are counted now.
        assert _get(server.host, server.port, "/_mock/clock")[0] == 200
        assert server.buffered >= 30_000 - 1
        with holding, _partial_post(server.host, server.port, 20_000, 20_000) as refused:
            status, body = _answer(refused)
            assert (status, body["errorCode"]) == (503, None)
            assert body["why"].startswith("Service Unavailable: the server holds as many bytes of unanswered "
                                          "requests as it may"), body
            # small requests still fit; and once this is answered, the loop has finished refusing the other
            assert _get(server.host, server.port, "/_mock/clock")[0] == 200
            lingering = [each for each in list(server._connections) if each.lingering]
            assert len(lingering) == 1  # the refused one, reading and dropping what its client still sends
            # and keeping none of it: no request, no traceback holding a read, at most 16 KiB of the last read
            assert lingering[0].request is None
            assert lingering[0].error is not None
            assert lingering[0].error.__traceback__ is None
            assert len(lingering[0].since_message) <= 16 * 1024
            if held_in == "body":
                holding.sendall(b" ")  # the body is complete: answered (not JSON: 400), and let go
                assert _answer(holding)[0] == 400
            else:
                holding.sendall(b"\r\n\r\n")
                assert _answer(holding)[0] == 200
            with _partial_post(server.host, server.port, 20_000, 20_000) as admitted:
                assert _answer(admitted)[0] == 400  # read whole and answered by the app
            assert server.buffered == 0  # every answered request was let go before its answer was sent
    finally:
        server.stop()


def test_a_client_that_leaves_mid_body_gives_its_bytes_back() -> None:
    server = HttpServer(create_app(scenario="blank"), limits=Limits(max_buffered_bytes=BUDGET)).start()
    try:
        for _ in range(5):  # five times the budget in all, each client gone before the next comes
            with _partial_post(server.host, server.port, 30_000, 25_000) as leaving:
                leaving.shutdown(socket.SHUT_WR)  # "ended before the request did": 400, and the bytes let go
                assert _answer(leaving)[0] == 400
        with _partial_post(server.host, server.port, 30_000, 30_000) as whole:
            assert _answer(whole)[0] == 400
        assert server.buffered == 0
    finally:
        server.stop()
