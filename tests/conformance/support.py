"""What the conformance tests share: a mock on a real socket, raw HTTP, and a snapshot of everything it holds.

The tests here are about the whole server as a client meets it: the socket server, the app and the engine, over
loopback. Every server checks its own answers against the spec (``validate_responses=True``), and whatever went
wrong inside it (a 500, an answer that breaks the contract) fails the test that started it.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import socket
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from mockserver.server import HttpServer
from mockserver.web.app import MockApp, create_app
from tests.mockserver.support import serving

TOKEN = "conformance-token"
USER = "user"
JSON_TYPE = "application/json; charset=utf-8"
IO_TIMEOUT = 10.0  # seconds; reached only when something is wrong
APPLICATION = {"name": "acme-web-application", "version": "1.0.0"}
PRODUCT = {"id": "example-compute", "category": "example-compute", "provider": "example"}


def job_spec(hours: int = 5, **overrides: Any) -> dict[str, Any]:
    """A valid JobSpecification of ``hours`` hours, with ``overrides`` applied."""
    return {"application": APPLICATION, "product": PRODUCT,
            "timeAllocation": {"hours": hours, "minutes": 0, "seconds": 0}, **overrides}


@dataclass(frozen=True)
class Answer:
    """One HTTP answer: status, headers (lower-case names) and the raw body."""

    status: int
    headers: Mapping[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        """The body, parsed."""
        return json.loads(self.body)


class Live:
    """A running ``HttpServer`` on 127.0.0.1 and a free port, with helpers to talk to it."""

    def __init__(self, app: MockApp, server: HttpServer) -> None:
        self.app = app
        self.server = server
        self.host = server.host
        self.port = server.port
        self.url = server.url

    def connect(self) -> http.client.HTTPConnection:
        """A new keep-alive connection."""
        return http.client.HTTPConnection(self.host, self.port, timeout=IO_TIMEOUT)

    def request(self, method: str, target: str, body: Any = None, *, data: bytes | None = None,
                headers: Mapping[str, str] | None = None, token: str | None = TOKEN) -> Answer:
        """One request on a fresh connection (JSON ``body``, or raw ``data``)."""
        sent = {"Authorization": f"Bearer {token}"} if token is not None else {}
        if body is not None:
            data = json.dumps(body).encode("utf-8")
            sent["Content-Type"] = "application/json"
        sent.update(headers or {})
        connection = self.connect()
        try:
            return send(connection, method, target, data, sent)
        finally:
            connection.close()

    def create(self, *specs: Mapping[str, Any]) -> list[str]:
        """jobs.create, expecting 200; the new ids."""
        answer = self.request("POST", "/api/jobs", {"items": list(specs)})
        assert answer.status == 200, answer.body
        return [item["id"] for item in answer.json["responses"]]

    def advance(self, ms: int) -> int:
        """Move the virtual clock forward through the admin API."""
        answer = self.request("POST", "/_mock/clock", {"advanceMs": ms})
        assert answer.status == 200, answer.body
        return int(answer.json["nowMs"])

    def snapshot(self) -> dict[str, Any]:
        """Everything the user can see (every include flag), the clock, the number of jobs, the scenario."""
        jobs = self.request("GET", "/api/jobs/browse?itemsPerPage=1000&includeUpdates=true&includeOthers=true"
                                   "&includeParameters=true&includeProduct=true&includeSupport=true"
                                   "&includeApplication=true")
        clock = self.request("GET", "/_mock/clock")
        scenario = self.request("GET", "/_mock/scenario")
        assert (jobs.status, clock.status, scenario.status) == (200, 200, 200), (jobs.body, clock.body)
        return {"jobs": jobs.json, "nowMs": clock.json["nowMs"], "jobCount": len(self.app.engine.store),
                "scenario": (scenario.json["scenario"], scenario.json["profile"])}


def send(connection: http.client.HTTPConnection, method: str, target: str, data: bytes | None = None,
         headers: Mapping[str, str] | None = None) -> Answer:
    """Send one request on ``connection`` and read the whole answer."""
    connection.request(method, target, body=data, headers=dict(headers or {}))
    response = connection.getresponse()
    body = response.read()
    return Answer(response.status, {name.lower(): value for name, value in response.getheaders()}, body)


@contextlib.contextmanager
def live_server(threads: int = 4, **options: Any) -> Iterator[Live]:
    """A self-checking mock (``create_app(**options)``, the user ``TOKEN`` by default) served on a socket.

    On exit the server is stopped and any error inside the app fails the caller.
    """
    options.setdefault("users", {TOKEN: USER})
    options.setdefault("validate_responses", True)
    app = create_app(**options)
    with serving(app, threads) as server:
        yield Live(app, server)


def exchange(live: Live, data: bytes, *, shut_write: bool = False) -> tuple[bytes, bool]:
    """Send raw bytes and read until the server closes: what came back, and whether the close was a reset."""
    with socket.create_connection((live.host, live.port), timeout=IO_TIMEOUT) as sock:
        received = b""
        try:
            sock.sendall(data)
            if shut_write:
                sock.shutdown(socket.SHUT_WR)
            while chunk := sock.recv(65536):
                received += chunk
        except (ConnectionResetError, BrokenPipeError):
            return received, True
        return received, False


THREAD_TIMEOUT = 120.0  # seconds for every thread of a test to finish; reached only on a deadlock


def run_threads(work: Callable[[int], None], count: int, timeout: float = THREAD_TIMEOUT) -> None:
    """Run ``work(index)`` in ``count`` threads released together; every one must finish within ``timeout``.

    The first failure in any thread is raised in the caller's.
    """
    start = threading.Barrier(count)
    failures: list[BaseException] = []
    lock = threading.Lock()

    def body(index: int) -> None:
        try:
            start.wait(timeout=timeout)
            work(index)
        except BaseException as error:  # every failure is handed to the test's thread
            with lock:
                failures.append(error)

    threads = [threading.Thread(target=body, args=(index,), name=f"client-{index}", daemon=True)
               for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
    stuck = [thread.name for thread in threads if thread.is_alive()]
    assert not stuck, f"{len(stuck)} threads still running after {timeout} s (a deadlock?): {stuck}"
    if failures:
        raise failures[0]
