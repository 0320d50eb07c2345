"""jobs.follow through ucloud-jobs proxy: the WebSocket at /api/jobs passed on both ways unchanged, the client's
envelopes and the upstream's frames checked against the contract (jobs.asyncapi.yaml), a provider whose frames
break it, and an upstream that gives no WebSocket. Nothing sleeps: frames are read as they arrive."""

from __future__ import annotations

import contextlib
import json
import socket
import ssl
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect
from websockets.sync.server import ServerConnection, serve

from mockserver.api import MockServer
from mockserver.server import HttpServer, WebSocket
from tests.mockserver.proxy_support import Through, make_certificate, proxy_to
from tests.mockserver.support import HOUR_MS, QUEUE_DELAY_MS
from tests.mockserver.test_follow_socket import create, envelope

IO_TIMEOUT = 10.0  # seconds; reached only when something is wrong
TOKEN = "a-follow-token-0123456789"
UNKNOWN = {"why": "Unknown job", "errorCode": None}


def ws(url: str) -> ClientConnection:
    return connect(url.replace("http://", "ws://", 1) + "/api/jobs", open_timeout=IO_TIMEOUT)


def frames(client: ClientConnection, count: int) -> list[dict[str, Any]]:
    return [json.loads(client.recv(IO_TIMEOUT)) for _ in range(count)]


@pytest.fixture
def mock() -> Iterator[MockServer]:
    with MockServer(scenario="blank", profile="ucloud", validate_responses=True) as server:
        yield server
        server.check()


def test_a_job_followed_through_the_proxy_gets_each_frame_the_mock_sends_directly(mock: MockServer) -> None:
    job_id = create(mock)
    with proxy_to(mock.url) as proxy, ws(proxy.url) as through, ws(mock.url) as direct:
        for client in (through, direct):
            client.send(envelope(job_id, "7", bearer=TOKEN))
        assert mock.app.followers.wait_for(2, IO_TIMEOUT)
        seen = {"through": frames(through, 1), "direct": frames(direct, 1)}
        mock.clock.advance(QUEUE_DELAY_MS)
        mock.clock.advance(5 * HOUR_MS)
        seen["through"] += frames(through, 3)
        seen["direct"] += frames(direct, 3)
        journal = json.loads(proxy.call("GET", "/_mock/journal", token=None)[2])["entries"]
        logged = proxy.log.getvalue()
        report = proxy.app.ledger.render("json")
        summary = proxy.app.ledger.summary()
    assert seen["through"] == seen["direct"]
    assert [frame["type"] for frame in seen["through"]] == ["message", "message", "message", "response"]
    assert seen["through"][2]["payload"]["newStatus"]["state"] == "EXPIRED"
    assert [(entry["websocket"], entry["operation"], entry["violations"]) for entry in journal] == [
        ("request", "jobs.follow", [])] + [("response", "jobs.follow", [])] * 4
    assert journal[0]["user"] == "user"
    assert TOKEN not in json.dumps(journal)
    assert journal[0]["request"]["bearer"] == "[token]"
    assert TOKEN not in logged
    assert TOKEN not in report
    assert summary == ("ucloud-jobs proxy: 0 calls and 5 WebSocket messages, 0 request violations (the client's), "
                       "0 response violations (drift), 0 upstream failures")


def test_a_clients_bad_envelope_is_the_clients_and_passes_on_unchanged(mock: MockServer) -> None:
    create(mock)
    with proxy_to(mock.url) as proxy, ws(proxy.url) as client:
        client.send(envelope("1", "8", bearer=TOKEN, payload={"id": 1}))
        [refusal] = frames(client, 1)
        found = proxy.findings()
        logged = proxy.log.getvalue()
    assert (refusal["type"], refusal["status"]) == ("response", 400)  # the mock's own answer, passed back
    assert [(finding["direction"], finding["pointer"]) for finding in found] == [("request", "/payload/id")]
    assert "ucloud-jobs proxy: violation: #1 jobs.follow request /payload/id: 1 is not of type string" in logged
    assert proxy.app.ledger.failed("request")
    assert not proxy.app.ledger.failed("response")


# ---------------------------------------------------------------------------------------------- broken providers


class _Scripted:
    """A WebSocket upstream that answers each envelope with ``answers`` (its streamId filled in)."""

    def __init__(self, answers: list[Any]) -> None:
        self.answers = answers

    def refuse(self, path: str, headers: Mapping[str, str]) -> tuple[int, str] | None:
        return None

    def open(self, socket: WebSocket) -> _Scripted:
        self.socket = socket
        return self

    def received(self, message: str | bytes) -> None:
        stream_id = json.loads(message)["streamId"]
        for answer in self.answers:
            self.socket.send(json.dumps({**answer, "streamId": stream_id}))

    def closed(self) -> None:
        """Nothing to let go of."""


def _no_http(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    start_response("404 Not Found", [("Content-Type", "application/json")])
    return [b'{"why": "Not Found", "errorCode": null}']


@contextlib.contextmanager
def scripted_upstream(answers: list[Any]) -> Iterator[str]:
    """A provider whose WebSocket answers every envelope with ``answers``; its URL."""
    server = HttpServer(_no_http, "127.0.0.1", 0, websocket=_Scripted(answers)).start()  # type: ignore[arg-type]
    try:
        yield server.url
    finally:
        server.stop()


def _status(state: str) -> dict[str, Any]:
    return {"state": state, "jobParametersJson": None, "startedAt": None, "expiresAt": None, "resolvedApplication":
            None, "resolvedSupport": None, "resolvedProduct": None, "allowRestart": False}


def _update(state: str) -> dict[str, Any]:
    return {"timestamp": 1633329776235, "state": state, "status": None}


BROKEN: list[tuple[str, list[Any], str, str]] = [
    ("a wrong type", [{"type": "message", "payload": {"updates": "RUNNING"}}], "/payload/updates",
     "'RUNNING' is not of type array or null"),
    ("a missing required field", [{"type": "message"}], "/payload", "required field is missing"),
    ("a state that goes backwards", [{"type": "message", "payload": {"newStatus": _status("RUNNING")}},
                                      {"type": "message", "payload": {"newStatus": _status("IN_QUEUE")}}],
     "/payload/newStatus/state", "RUNNING was followed by IN_QUEUE"),
    ("an update sent twice", [{"type": "message", "payload": {"newStatus": _status("RUNNING")}},
                              {"type": "message", "payload": {"updates": [_update("RUNNING")]}},
                              {"type": "message", "payload": {"updates": [_update("RUNNING")]}}],
     "/payload/updates", "came again"),
    ("a stream that ends well before a final state", [
        {"type": "message", "payload": {"newStatus": _status("RUNNING")}},
        {"type": "response", "payload": {}, "status": 200}], "/status", "it ended after RUNNING"),
    ("an undocumented status", [{"type": "response", "payload": {"why": "moved", "errorCode": None},
                                 "status": 302}], "/status",
     "ended the stream with 302, a status the contract does not document for jobs.follow (it documents 200, "
     "400-599)"),
]


@pytest.mark.parametrize(("defect", "answers", "pointer", "words"), BROKEN, ids=[case[0] for case in BROKEN])
def test_each_break_of_a_providers_frames_is_found_as_drift(defect: str, answers: list[Any], pointer: str,
                                                           words: str) -> None:
    with scripted_upstream(answers) as url, proxy_to(url) as proxy, ws(proxy.url) as client:
        client.send(envelope("1", "3", bearer=TOKEN))
        passed = frames(client, len(answers))
        found = proxy.findings()
        logged = proxy.log.getvalue()
    assert passed == [{**answer, "streamId": "3"} for answer in answers]  # passed back unchanged
    assert found, f"{defect}: nothing found"
    assert {finding["direction"] for finding in found} == {"response"}
    assert any(finding["pointer"] == pointer and words in finding["message"] for finding in found), found
    assert f"jobs.follow response {pointer}: " in logged
    assert proxy.app.ledger.failed("response")
    assert not proxy.app.ledger.failed("request")


# ---------------------------------------------------------------------------------------------- no WebSocket


def _ends_with_a_bad_gateway(proxy: Through, code: str) -> dict[str, Any]:
    with ws(proxy.url) as client:
        client.send(envelope("1", "5", bearer=TOKEN))
        [frame] = frames(client, 1)
        client.send(envelope("2", "6", bearer=TOKEN))  # the connection goes on; each stream ends the same way
        [again] = frames(client, 1)
    assert (frame["type"], frame["streamId"], frame["status"], frame["payload"]["errorCode"]) == (
        "response", "5", 502, code)
    assert again == {**frame, "streamId": "6"}
    assert proxy.app.ledger.count("upstream") == 1
    assert proxy.app.ledger.failed("response")
    return frame


def test_an_upstream_that_is_down_ends_each_stream_with_a_502() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with proxy_to(f"http://127.0.0.1:{port}") as proxy:
        frame = _ends_with_a_bad_gateway(proxy, "UPSTREAM_REFUSED")
        logged = proxy.log.getvalue()
    assert frame["payload"]["why"] == f"Bad Gateway: http://127.0.0.1:{port} refused the connection"
    assert "WS /api/jobs (" in logged
    assert f"): Bad Gateway: http://127.0.0.1:{port} refused the connection" in logged


def test_an_upstream_without_the_websocket_ends_each_stream_with_a_502() -> None:
    server = HttpServer(_no_http, "127.0.0.1", 0).start()  # type: ignore[arg-type]
    try:
        with proxy_to(server.url) as proxy:
            frame = _ends_with_a_bad_gateway(proxy, "UPSTREAM_REFUSED_WEBSOCKET")
    finally:
        server.stop()
    assert frame["payload"]["why"].startswith(f"Bad Gateway: {server.url} answered ")
    assert frame["payload"]["why"].endswith(" to the WebSocket handshake at /api/jobs")


def test_a_wss_upstream_with_a_certificate_made_here(tmp_path: Path) -> None:
    cert, key = make_certificate(tmp_path)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)

    def ends_each_stream(connection: ServerConnection) -> None:
        for message in connection:
            stream_id = json.loads(message)["streamId"]
            connection.send(json.dumps({"type": "response", "streamId": stream_id, "payload": UNKNOWN, "status": 404}))

    with serve(ends_each_stream, "127.0.0.1", 0, ssl=context) as server:
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        url = f"https://127.0.0.1:{server.socket.getsockname()[1]}"
        try:
            with proxy_to(url, cacert=str(cert)) as proxy, ws(proxy.url) as client:
                client.send(envelope("1", "9", bearer=TOKEN))
                assert frames(client, 1) == [{"type": "response", "streamId": "9", "payload": UNKNOWN, "status": 404}]
                assert proxy.findings() == []
            with proxy_to(url) as untrusting:  # the system's store does not know the certificate
                frame = _ends_with_a_bad_gateway(untrusting, "UPSTREAM_TLS")
        finally:
            server.shutdown()
            thread.join(IO_TIMEOUT)
    assert "certificate verify failed" in frame["payload"]["why"]


def test_an_upstream_websocket_that_breaks_off_closes_the_clients_as_a_bad_gateway() -> None:
    def breaks_off(connection: ServerConnection) -> None:
        stream_id = json.loads(connection.recv(IO_TIMEOUT))["streamId"]
        connection.send(json.dumps({"type": "message", "streamId": stream_id, "payload": {}}))
        connection.socket.shutdown(socket.SHUT_RDWR)  # no closing handshake: the connection just ends

    with serve(breaks_off, "127.0.0.1", 0) as server:
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            with proxy_to(f"http://127.0.0.1:{server.socket.getsockname()[1]}") as proxy, ws(proxy.url) as client:
                client.send(envelope("1", "2", bearer=TOKEN))
                assert frames(client, 1) == [{"type": "message", "streamId": "2", "payload": {}}]
                with pytest.raises(ConnectionClosed) as closed:
                    client.recv(IO_TIMEOUT)
                logged = proxy.log.getvalue()
                failures = proxy.app.ledger.count("upstream")
        finally:
            server.shutdown()
            thread.join(IO_TIMEOUT)
    assert closed.value.rcvd is not None
    assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (1014, "Bad Gateway: the upstream's WebSocket "
                                                                         "broke off")
    assert failures == 1
    assert "broke off the WebSocket without closing it" in logged


def test_a_relay_is_counted_while_its_websocket_is_open_and_a_failed_handshake_never(mock: MockServer) -> None:
    with proxy_to(mock.url) as proxy:
        relay = proxy.server.relay
        status, _, _ = proxy.call("GET", "/api/jobs", headers={"Connection": "Upgrade", "Upgrade": "websocket",
                                                               "Sec-WebSocket-Version": "13"})  # no key
        assert status == 400
        assert relay.open_relays == 0
        with ws(proxy.url) as client:
            assert relay.wait_for(1, IO_TIMEOUT)
            client.send(envelope("1", "1", bearer=TOKEN))
            assert frames(client, 1)[0]["status"] == 404
        assert relay.wait_for(0, IO_TIMEOUT)
        assert mock.app.followers.wait_for(0, IO_TIMEOUT)
