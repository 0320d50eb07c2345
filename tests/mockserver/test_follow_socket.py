"""jobs.follow over a real WebSocket at /api/jobs, on the same port as the REST API.

UCloud's envelope in, UCloud's frames out: the stream as the clock moves, every refusal as a ``response`` frame
with UCloud's status and a ``CommonErrorMessage`` (none of which stops the server or the REST API), 200 followers
of one job who each get every frame once, and clients that vanish mid-stream leave no stream, thread or
connection behind. Nothing sleeps: frames are read as they arrive, and every wait has a bound reached only when
something is wrong.
"""

from __future__ import annotations

import asyncio
import json
import socket
import struct
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from websockets.asyncio.client import connect as connect_async
from websockets.sync.client import ClientConnection, connect

from contracts.validation import default_contract
from mockserver.api import MockServer
from tests.mockserver.support import HOUR_MS, QUEUE_DELAY_MS, job_spec

IO_TIMEOUT = 10.0  # seconds; reached only when something is wrong
FRAME = "WSMessage_JobsFollowResponse"


@pytest.fixture
def mock() -> Iterator[MockServer]:
    with MockServer(scenario="blank", profile="ucloud", validate_responses=True) as server:
        yield server
        server.check()


def envelope(job_id: str, stream_id: str = "0", bearer: Any = "token", **changes: Any) -> str:
    """UCloud's WSRequest for jobs.follow."""
    message = {"call": "jobs.follow", "streamId": stream_id, "payload": {"id": job_id}, "bearer": bearer,
               "project": None, "causedBy": None, "signedIntent": None}
    return json.dumps({**message, **changes})


def receive(client: ClientConnection) -> dict[str, Any]:
    """The next frame, checked against the contract."""
    frame: dict[str, Any] = json.loads(client.recv(IO_TIMEOUT))
    default_contract().validate(frame, FRAME)
    return frame


def url(mock: MockServer) -> str:
    return f"ws://{mock.host}:{mock.port}/api/jobs"


def create(mock: MockServer) -> str:
    import urllib.request  # noqa: PLC0415

    request = urllib.request.Request(f"{mock.url}/api/jobs", data=json.dumps({"items": [job_spec()]}).encode(),
                                     headers=mock.headers, method="POST")
    with urllib.request.urlopen(request, timeout=IO_TIMEOUT) as answer:
        job_id: str = json.load(answer)["responses"][0]["id"]
    return job_id


def test_a_job_followed_over_a_websocket_until_it_ends(mock: MockServer) -> None:
    job_id = create(mock)
    with connect(url(mock), open_timeout=IO_TIMEOUT) as client:
        client.send(envelope(job_id, "7", bearer=mock.token))
        first = receive(client)
        assert (first["type"], first["streamId"], first["payload"]["newStatus"]["state"]) == ("message", "7",
                                                                                              "IN_QUEUE")
        assert first["payload"]["initialJob"]["id"] == job_id
        mock.clock.advance(QUEUE_DELAY_MS)
        running = receive(client)
        assert [update["state"] for update in running["payload"]["updates"]] == ["RUNNING"]
        mock.clock.advance(5 * HOUR_MS)
        expired = receive(client)
        assert expired["payload"]["newStatus"]["state"] == "EXPIRED"
        assert receive(client) == {"type": "response", "streamId": "7", "payload": {}, "status": 200}
        assert mock.followers == 0
        client.send(envelope(job_id, "8"))  # the connection stays open for other streams
        assert receive(client)["payload"]["newStatus"]["state"] == "EXPIRED"
        assert receive(client)["type"] == "response"
    journal = [entry for entry in mock.journal if entry["operation"] == "jobs.follow"]
    assert [(entry["status"], entry["request"], entry["user"]) for entry in journal] == [
        (200, {"id": job_id}, "user")] * 2


@pytest.mark.parametrize(("message", "stream_id", "status", "why"), [
    pytest.param("not json", "", 400, "Bad Request: the message is not JSON", id="not-json"),
    pytest.param("[1, 2]", "", 400, "Bad Request: the message must be a JSON object (UCloud's WSRequest)",
                 id="not-an-object"),
    pytest.param(json.dumps({"call": "jobs.follow", "payload": {"id": "1"}, "bearer": "t"}), "", 400,
                 "Bad Request: the message has no streamId (a string)", id="no-stream-id"),
    pytest.param(json.dumps({"streamId": "3", "payload": {"id": "1"}, "bearer": "t"}), "3", 400,
                 "Bad Request: the message has no call (a string)", id="no-call"),
    pytest.param(envelope("1", "4", call="files.follow"), "4", 404,
                 "Not Found: 'files.follow' is not a WebSocket call of this mock; it serves jobs.follow",
                 id="unknown-call"),
    pytest.param(envelope("1", "5", bearer=None), "5", 401, "Unauthorized", id="no-bearer"),
    pytest.param(envelope("1", "6", bearer=""), "6", 401, "Unauthorized", id="empty-bearer"),
    pytest.param(envelope("1", "7", payload={}), "7", 400, None, id="payload-without-id"),
    pytest.param(envelope("1", "8", payload={"id": 1}), "8", 400, None, id="numeric-id"),
    pytest.param(envelope("424242", "9"), "9", 404, "Unknown job", id="unknown-job"),
    pytest.param(envelope("1", "10", project="not-mine"), "10", 403, None, id="foreign-project"),
])
def test_a_bad_envelope_gets_ucloud_s_error_on_its_stream(mock: MockServer, message: str, stream_id: str,
                                                          status: int, why: str | None) -> None:
    create(mock)
    with connect(url(mock), open_timeout=IO_TIMEOUT) as client:
        client.send(message)
        frame = receive(client)
        assert (frame["type"], frame["streamId"], frame["status"]) == ("response", stream_id, status), frame
        assert set(frame["payload"]) == {"why", "errorCode"}
        if why is not None:
            assert frame["payload"]["why"] == why
        client.send(envelope("1", "after"))  # the connection goes on
        assert receive(client)["type"] == "message"
        assert mock.followers == 1
    assert mock.app.followers.wait_for(0, IO_TIMEOUT)  # its stream went with the connection


def test_another_user_s_job_is_unknown_and_a_binary_message_is_refused(mock: MockServer) -> None:
    job_id = create(mock)
    with connect(url(mock), open_timeout=IO_TIMEOUT) as client:
        client.send(envelope(job_id, "a", bearer=mock.token_for("alice")))
        assert receive(client)["status"] == 404
        client.send(b"\x00binary")
        frame = receive(client)
        assert (frame["status"], frame["payload"]["why"]) == (
            400, "Bad Request: a message must be a text frame holding a JSON object")
        client.send(envelope(job_id, "b"))
        client.send(envelope(job_id, "b"))
        assert receive(client)["type"] == "message"
        assert receive(client)["payload"]["why"] == "Bad Request: stream 'b' is already open on this connection"
    assert mock.app.followers.wait_for(0, IO_TIMEOUT)


def extend(mock: MockServer, job_id: str) -> None:
    import urllib.request  # noqa: PLC0415

    body = {"items": [{"jobId": job_id, "requestedTime": {"hours": 1, "minutes": 0, "seconds": 0}}]}
    request = urllib.request.Request(f"{mock.url}/api/jobs/extend", data=json.dumps(body).encode(),
                                     headers=mock.headers, method="POST")
    with urllib.request.urlopen(request, timeout=IO_TIMEOUT) as answer:
        assert answer.status == 200


def test_two_hundred_followers_each_get_every_frame_exactly_once(mock: MockServer) -> None:
    job_id = create(mock)
    expected = mock.follow(job_id, stream_id="reference")
    received: dict[int, list[dict[str, Any]]] = {}
    subscribed = threading.Event()

    async def follower(index: int, ready: asyncio.Queue[int]) -> None:
        async with connect_async(url(mock), open_timeout=IO_TIMEOUT, max_queue=None) as client:
            await client.send(envelope(job_id, str(index)))
            frames = [json.loads(await asyncio.wait_for(client.recv(), IO_TIMEOUT))]
            await ready.put(index)
            while frames[-1]["type"] != "response":
                frames.append(json.loads(await asyncio.wait_for(client.recv(), IO_TIMEOUT)))
            received[index] = frames

    async def everyone() -> None:
        ready: asyncio.Queue[int] = asyncio.Queue()
        tasks = [asyncio.ensure_future(follower(index, ready)) for index in range(200)]
        for _ in range(200):
            await asyncio.wait_for(ready.get(), IO_TIMEOUT * 3)
        subscribed.set()
        await asyncio.wait_for(asyncio.gather(*tasks), IO_TIMEOUT * 6)

    clients = threading.Thread(target=lambda: asyncio.run(everyone()), daemon=True)
    clients.start()
    assert subscribed.wait(IO_TIMEOUT * 3), "the followers did not all get their first message"
    assert mock.followers == 201
    mock.clock.advance(QUEUE_DELAY_MS)  # the job runs
    extend(mock, job_id)
    mock.clock.advance(7 * HOUR_MS)  # and runs out of time
    clients.join(IO_TIMEOUT * 6)
    assert not clients.is_alive()
    reference = [dict(frame, streamId="-") for frame in expected]
    assert reference[-1]["type"] == "response"
    assert len(received) == 200
    for index, frames in received.items():
        assert [dict(frame, streamId="-") for frame in frames] == reference, index
        assert {frame["streamId"] for frame in frames} == {str(index)}
    assert mock.followers == 0


def _vanishing_follower(mock: MockServer, job_id: str, stream_id: str) -> None:
    """A raw WebSocket client that follows the job, reads its first frame, and vanishes with a reset."""
    import base64  # noqa: PLC0415
    import os  # noqa: PLC0415

    from websockets.frames import Frame, Opcode  # noqa: PLC0415

    sock = socket.create_connection((mock.host, mock.port), timeout=IO_TIMEOUT)
    try:
        key = base64.b64encode(os.urandom(16))
        sock.sendall(b"GET /api/jobs HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                     b"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: " + key + b"\r\n\r\n")
        head = b""
        while b"\r\n\r\n" not in head:
            head += sock.recv(4096)
        assert head.startswith(b"HTTP/1.1 101 "), head
        sock.sendall(Frame(Opcode.TEXT, envelope(job_id, stream_id).encode()).serialize(mask=True))
        assert sock.recv(65536)  # the first message (or part of it)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    finally:
        sock.close()  # with SO_LINGER 0: a reset, as a crashed client or a dropped network gives


def test_clients_that_vanish_mid_stream_leave_no_stream_thread_or_connection(mock: MockServer) -> None:
    job_id = create(mock)
    threads = threading.active_count()
    for index in range(50):
        _vanishing_follower(mock, job_id, str(index))
    assert mock.app.followers.wait_for(0, IO_TIMEOUT), f"{mock.followers} streams are still open"
    assert mock.connections == 0
    assert threading.active_count() == threads
    mock.clock.advance(QUEUE_DELAY_MS)  # a change after they left goes nowhere, and breaks nothing
    with connect(url(mock), open_timeout=IO_TIMEOUT) as client:
        client.send(envelope(job_id, "after"))
        assert receive(client)["payload"]["newStatus"]["state"] == "RUNNING"


def _raw_handshake(mock: MockServer, *headers: bytes) -> bytes:
    sock = socket.create_connection((mock.host, mock.port), timeout=IO_TIMEOUT)
    with sock:
        sock.sendall(b"\r\n".join([b"GET /api/jobs HTTP/1.1", b"Upgrade: websocket", b"Connection: Upgrade",
                                   b"Sec-WebSocket-Version: 13", b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
                                   *headers]) + b"\r\n\r\n")
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
        return received


@pytest.mark.parametrize(("headers", "words"), [
    pytest.param((b"Host: evil.example",), "does not name this server", id="foreign-host"),
    pytest.param((b"Host: 127.0.0.1", b"Origin: http://evil.example"), "another origin", id="foreign-origin"),
])
def test_a_handshake_for_another_site_is_refused_with_403(mock: MockServer, headers: tuple[bytes, ...],
                                                          words: str) -> None:
    head, _, body = _raw_handshake(mock, *headers).partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 403 "), head
    error = json.loads(body)
    assert set(error) == {"why", "errorCode"}
    assert words in error["why"]
    assert mock.followers == 0


def test_a_page_of_the_server_s_own_origin_may_follow(mock: MockServer) -> None:
    job_id = create(mock)
    with connect(url(mock), open_timeout=IO_TIMEOUT, origin=f"http://127.0.0.1:{mock.port}") as client:  # type: ignore[arg-type]
        client.send(envelope(job_id))
        assert receive(client)["type"] == "message"


def _retrieve_status(mock: MockServer, job_id: str) -> str:
    import urllib.request  # noqa: PLC0415

    request = urllib.request.Request(f"{mock.url}/api/jobs/retrieve?id={job_id}", headers=mock.headers)
    with urllib.request.urlopen(request, timeout=IO_TIMEOUT) as answer:
        state: str = json.load(answer)["status"]["state"]
    return state


def test_stalled_handshakes_and_refused_envelopes_leave_rest_and_following_unblocked(mock: MockServer) -> None:
    """While a handshake hangs half sent, a frame hangs half sent and a connection holds a refused stream,
    the REST API answers, a new follower gets its frames, and a change reaches it."""
    job_id = create(mock)
    half_handshake = socket.create_connection((mock.host, mock.port), timeout=IO_TIMEOUT)
    half_frame = socket.create_connection((mock.host, mock.port), timeout=IO_TIMEOUT)
    try:
        half_handshake.sendall(b"GET /api/jobs HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n")
        half_frame.sendall(b"GET /api/jobs HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade"
                           b"\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
        head = b""
        while b"\r\n\r\n" not in head:
            head += half_frame.recv(4096)
        assert head.startswith(b"HTTP/1.1 101 "), head
        half_frame.sendall(b"\x81\xfe\x01")  # a masked text frame whose 16-bit length is cut off
        with connect(url(mock), open_timeout=IO_TIMEOUT) as refused, \
                connect(url(mock), open_timeout=IO_TIMEOUT) as follower:
            refused.send("not an envelope")
            assert receive(refused)["status"] == 400
            refused.send(envelope("424242", "unknown"))
            assert receive(refused)["status"] == 404
            assert _retrieve_status(mock, job_id) == "IN_QUEUE"  # REST goes on
            follower.send(envelope(job_id, "f"))
            assert receive(follower)["payload"]["newStatus"]["state"] == "IN_QUEUE"
            mock.clock.advance(QUEUE_DELAY_MS)
            assert receive(follower)["payload"]["newStatus"]["state"] == "RUNNING"
            assert _retrieve_status(mock, job_id) == "RUNNING"
            assert mock.followers == 1  # the refused streams hold nothing
    finally:
        half_handshake.close()
        half_frame.close()
    assert mock.app.followers.wait_for(0, IO_TIMEOUT)
