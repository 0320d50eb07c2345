"""Hostile input over a real socket, against one running server (issue 5 §2).

Every case is sent as raw bytes on its own connection to the same ``HttpServer``. Each gets its documented 4xx
with a ``CommonErrorMessage`` (from the app, or from the server where it refuses a request before the app: a
malformed request line, a header or body past its limits), the state the user can see and the clock are
exactly as before (a snapshot through browse and ``/_mock/clock``, plus the engine's job count, so nothing was
created out of sight), and the server serves the next request.

The same inputs are proven in process, with exact ``why`` texts, in tests/mockserver/test_bad_input.py; what
only a socket shows (the server's own errors, keep-alive, a reset mid-request, stop) in
tests/mockserver/test_socket.py. Here the point is the whole stack on one long-lived server.
"""

from __future__ import annotations

import json
import socket
import struct
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from mockserver.web.requests import MAX_BODY_BYTES
from tests.conformance.support import IO_TIMEOUT, JSON_TYPE, TOKEN, Live, exchange, job_spec, live_server, send

BULK_NOT_FOUND = "Could not find the items that you requested. Do you have permission to perform this action?"
LONG_MAX = 2**63 - 1
INT_MAX = 2**31 - 1
HOUR_MS = 3_600_000
QUEUE_DELAY_MS = 5_000


@pytest.fixture(scope="module")
def live() -> Iterator[Live]:
    """One server for the whole corpus (ucloud profile, blank scenario), with a running, a suspended and an
    ended job, so that a refused request has something it could have damaged."""
    with live_server(profile="ucloud", scenario="blank") as server:
        running, suspended, ended = server.create(job_spec(name="running"), job_spec(name="suspended"),
                                                  job_spec(name="ended"))
        assert (running, suspended, ended) == ("1", "2", "3")
        server.advance(QUEUE_DELAY_MS)
        for operation, job_id in (("suspend", suspended), ("terminate", ended)):
            answer = server.request("POST", f"/api/jobs/{operation}", {"items": [{"id": job_id}]})
            assert answer.status == 200, answer.body
        yield server


def raw(method: str, target: str | bytes, body: bytes = b"", *headers: bytes, length: bool = True,
        token: bytes | None = TOKEN.encode()) -> bytes:
    """One HTTP/1.1 request as bytes, closing the connection after the answer."""
    target_bytes = target if isinstance(target, bytes) else target.encode("ascii")
    lines = [method.encode("ascii") + b" " + target_bytes + b" HTTP/1.1", b"Host: localhost", b"Connection: close"]
    if token is not None:
        lines.append(b"Authorization: Bearer " + token)
    lines.extend(headers)
    if length:
        lines.append(b"Content-Length: %d" % len(body))
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


def post(path: str, body: bytes, *headers: bytes) -> bytes:
    """A POST of raw ``body`` bytes."""
    return raw("POST", path, body, *headers)


def post_json(path: str, document: Any, *headers: bytes) -> bytes:
    """A POST of ``document`` as JSON (saying so: the admin API takes nothing else)."""
    return raw("POST", path, json.dumps(document).encode(), b"Content-Type: application/json", *headers)


class _Received:
    """Just enough of a socket for ``http.client.HTTPResponse`` to parse bytes already received."""

    def __init__(self, data: bytes) -> None:
        self._data = data

    def makefile(self, mode: str) -> Any:
        import io  # noqa: PLC0415

        return io.BytesIO(self._data)


def parse(data: bytes) -> tuple[int, dict[str, str], bytes]:
    """Status, headers (lower-case names) and body of the one answer in ``data``."""
    import http.client  # noqa: PLC0415

    response = http.client.HTTPResponse(_Received(data))  # type: ignore[arg-type]
    response.begin()
    return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()


@dataclass(frozen=True)
class Hostile:
    """One hostile request and what the server must answer.

    ``status`` is the documented status; ``why`` its exact text, or ``names`` words it must contain. With
    ``half_close`` the client ends its side once it has sent ``data`` (a request that would otherwise wait for
    more), and still reads the answer.
    """

    data: bytes
    status: int
    why: str | None = None
    names: tuple[str, ...] = ()
    half_close: bool = False


GOOD_ITEM = json.dumps(job_spec()).encode()
NAME_ITEM = json.dumps(job_spec(name="x")).encode()


def create_with(key: str, raw_value: bytes) -> bytes:
    """A create body whose one item has ``key`` set to the raw JSON text ``raw_value``."""
    return b'{"items": [' + GOOD_ITEM[:-1] + b', "' + key.encode() + b'": ' + raw_value + b"}]}"


def extend_by(job_id: str, hours: Any = 1, minutes: Any = 0, seconds: Any = 0) -> dict[str, Any]:
    """One extend item."""
    return {"jobId": job_id, "requestedTime": {"hours": hours, "minutes": minutes, "seconds": seconds}}


SEARCH = json.dumps({"query": "", "flags": {}}).encode()
DEEP_ARRAY = b'{"items": ' + b"[" * 10_000 + b"]" * 10_000 + b"}"
DEEP_OBJECT = b'{"a":' * 10_000 + b"1" + b"}" * 10_000
OVER_1_MIB = b'{"items": [' + GOOD_ITEM + b"]}" + b" " * MAX_BODY_BYTES

CORPUS: dict[str, Hostile] = {
    # --------------------------------------------------------------- malformed and truncated JSON
    "unparseable JSON": Hostile(post("/api/jobs", b'{"items": ['), 400, names=("JSON",)),
    "truncated mid-string": Hostile(post("/api/jobs/terminate", b'{"items": [{"id": "1'), 400, names=("JSON",)),
    "truncated after a key": Hostile(post("/api/jobs/extend", b'{"items": [{"jobId":'), 400, names=("JSON",)),
    "one brace": Hostile(post("/api/jobs/search", b"{"), 400, names=("JSON",)),
    "trailing garbage": Hostile(post("/api/jobs/terminate", b'{"items": [{"id": "1"}]} x'), 400, names=("JSON",)),
    "single quotes": Hostile(post("/api/jobs/terminate", b"{'items': [{'id': '1'}]}"), 400),
    "a bare NUL": Hostile(post("/api/jobs", b"\x00"), 400),
    "empty body": Hostile(post("/api/jobs", b""), 400, names=("empty",)),
    "blank body": Hostile(post("/api/jobs/extend", b" \r\n\t "), 400, names=("empty",)),
    "body is an array": Hostile(post("/api/jobs/terminate", b'[{"id": "1"}]'), 400, names=("object",)),
    "body is null": Hostile(post("/api/jobs/terminate", b"null"), 400, names=("object",)),
    "NaN": Hostile(post("/api/jobs", create_with("replicas", b"NaN")), 400, names=("NaN",)),
    "Infinity": Hostile(post("/api/jobs", create_with("replicas", b"-Infinity")), 400),
    # A body shorter than its Content-Length, and the client half-closes: the app never sees it.
    "shorter than Content-Length": Hostile(
        raw("POST", "/api/jobs", b'{"items": [', b"Content-Length: 500", length=False), 400, half_close=True),
    # --------------------------------------------------------------- bytes that are not UTF-8
    "Latin-1 in a name": Hostile(post("/api/jobs", create_with("name", b'"caf\xe9"')), 400, names=("UTF-8",)),
    "UTF-16 body": Hostile(post("/api/jobs/terminate", '{"items": [{"id": "1"}]}'.encode("utf-16")), 400),
    # Half a surrogate pair, once accepted, made every later answer about the job a 500: no UTF-8 can carry it.
    "half a surrogate pair in an application name": Hostile(post("/api/jobs", b'{"items": [' + json.dumps(
        job_spec(application={"name": "\ud800", "version": "1"}), ensure_ascii=True).encode() + b"]}"), 400,
        names=("surrogate",)),
    "half a surrogate pair in an unknown key": Hostile(post("/api/jobs/search", b'{"query": "", "flags": {}, '
                                                                                b'"\\udc00": 1}'), 400,
                                                       names=("surrogate",)),
    "0xFF in the query": Hostile(raw("GET", b"/api/jobs/retrieve?id=%FF%FE"), 404, why="Unknown job"),
    "0xFF in the token": Hostile(raw("GET", "/api/jobs/browse", token=b"\xff\xfe"), 401, why="Unauthorized"),
    "0xFF in the Project header": Hostile(  # nobody gets into a project by naming it
        post_json("/api/jobs/terminate", {"items": [{"id": "1"}]}, b"Project: \xff\xfe"), 403,
        why="You are not a member of the project '\xff\xfe'"),
    "NUL in a header": Hostile(raw("GET", "/api/jobs/browse", b"", b"X-Anything: a\x00b"), 400),
    # --------------------------------------------------------------- nesting
    "JSON nested 10,000 deep (arrays)": Hostile(post("/api/jobs", DEEP_ARRAY), 400, names=("nested",)),
    "JSON nested 10,000 deep (objects)": Hostile(post("/api/jobs/search", DEEP_OBJECT), 400, names=("nested",)),
    # --------------------------------------------------------------- numbers
    "2^63 replicas": Hostile(post("/api/jobs", create_with("replicas", str(2**63).encode())), 400,
                             names=("/items/0/replicas", "maximum")),
    "2^63 hours": Hostile(post_json("/api/jobs/extend", {"items": [extend_by("1", hours=2**63)]}), 400,
                          names=("/items/0/requestedTime/hours", "maximum")),
    "1e308 minutes": Hostile(post_json("/api/jobs/extend", {"items": [extend_by("1", minutes=1e308)]}), 400,
                             names=("/items/0/requestedTime/minutes",)),
    "1e999": Hostile(post("/api/jobs", create_with("replicas", b"1e999")), 400),
    "-2^63-1 in search": Hostile(post_json("/api/jobs/search", {"query": "", "flags": {
        "filterCreatedAfter": -(2**63) - 1}}), 400, names=("/flags/filterCreatedAfter", "minimum")),
    "5000-digit integer": Hostile(post("/api/jobs", create_with("replicas", b"9" * 5000)), 400),
    "2^63 itemsToSkip in the query": Hostile(raw("GET", f"/api/jobs/browse?itemsToSkip={2**63}"), 400,
                                             why="Invalid offset"),
    "2^63 filterCreatedAfter in the query": Hostile(raw("GET", f"/api/jobs/browse?filterCreatedAfter={2**63}"),
                                                    400, names=("filterCreatedAfter", "maximum")),
    "2^31 itemsPerPage": Hostile(raw("GET", f"/api/jobs/browse?itemsPerPage={2**31}"), 400,
                                 names=("itemsPerPage", "maximum")),
    "1e308 itemsPerPage": Hostile(raw("GET", "/api/jobs/browse?itemsPerPage=1e308"), 400,
                                  names=("itemsPerPage", "integer")),
    # --------------------------------------------------------------- durations
    "negative hours": Hostile(post_json("/api/jobs/extend", {"items": [extend_by("1", hours=-1)]}), 400,
                              names=("/items/0/requestedTime/hours", "minimum")),
    "negative seconds": Hostile(post_json("/api/jobs/extend", {"items": [extend_by("1", seconds=-1)]}), 400,
                                names=("/items/0/requestedTime/seconds", "minimum")),
    "60 minutes": Hostile(post_json("/api/jobs", {"items": [job_spec(timeAllocation={
        "hours": 1, "minutes": 60, "seconds": 0})]}), 400, names=("/items/0/timeAllocation/minutes", "59")),
    "a zero allocation": Hostile(post_json("/api/jobs", {"items": [job_spec(hours=0)]}), 400,
                                 why="Time allocated for job is too short."),
    "2^31-1 hours onto a running job": Hostile(
        post_json("/api/jobs/extend", {"items": [extend_by("1", hours=INT_MAX)]}), 400,
        why="Time allocated for job is too long."),
    "2^41 hours at create (a Long of ms, not an Int of hours)": Hostile(
        post_json("/api/jobs", {"items": [job_spec(hours=(LONG_MAX // HOUR_MS))]}), 400,
        names=("/items/0/timeAllocation/hours", "maximum")),
    # --------------------------------------------------------------- sizes
    "1001 items": Hostile(post_json("/api/jobs/terminate", {"items": [{"id": "1"}] * 1001}), 400,
                          why="Request cannot exceed 1000 items"),
    "1001 creates": Hostile(post_json("/api/jobs", {"items": [job_spec()] * 1001}), 400,
                            why="Request cannot exceed 1000 items"),
    "no items": Hostile(post_json("/api/jobs/extend", {"items": []}), 400, why="Request must not be empty"),
    "a body over 1 MiB": Hostile(post("/api/jobs", OVER_1_MIB), 413, why="Request is too large!"),
    "a chunked body over 1 MiB": Hostile(
        raw("POST", "/api/jobs", b"%x\r\n" % len(OVER_1_MIB) + OVER_1_MIB + b"\r\n0\r\n\r\n",
            b"Transfer-Encoding: chunked", length=False), 413, why="Request is too large!"),
    "Content-Length of 5000 digits": Hostile(raw("POST", "/api/jobs", b"", b"Content-Length: " + b"9" * 5000,
                                                 length=False), 400),
    "Content-Length past the wire limit": Hostile(
        raw("POST", "/api/jobs", b"", b"Content-Length: %d" % (64 * 1024 * 1024 + 1), length=False), 413),
    # --------------------------------------------------------------- Content-Types: ignored, as UCloud does
    "absurd Content-Type on bad JSON": Hostile(post("/api/jobs", b"{", b"Content-Type: image/png; q=\xff"), 400,
                                               names=("JSON",)),
    "multipart Content-Type on bad JSON": Hostile(
        post("/api/jobs", b"--x\r\n\r\n{}", b"Content-Type: multipart/form-data; boundary=" + b"x" * 1000), 400),
    "empty Content-Type on an empty bulk": Hostile(post("/api/jobs/suspend", b'{"items": []}', b"Content-Type: "),
                                                   400, why="Request must not be empty"),
    "three Content-Types": Hostile(post("/api/jobs/terminate", b'{"items": [{"id": "404"}]}',
                                        b"Content-Type: text/xml", b"Content-Type: application/json",
                                        b"Content-Type: content-type: application/json; charset=utf-8"),
                                   404, why=BULK_NOT_FOUND),
    # --------------------------------------------------------------- unknown jobs: the whole request fails
    "one unknown among known": Hostile(post_json("/api/jobs/extend", {"items": [
        extend_by("1"), extend_by("2"), extend_by("999999")]}), 404, why=BULK_NOT_FOUND),
    "../../etc/passwd as a job id": Hostile(post_json("/api/jobs/terminate", {"items": [
        {"id": "1"}, {"id": "../../etc/passwd"}]}), 404, why=BULK_NOT_FOUND),
    # --------------------------------------------------------------- query strings
    "repeated id, the first unknown": Hostile(raw("GET", "/api/jobs/retrieve?id=999&id=1"), 404,
                                              why="Unknown job"),
    "repeated itemsToSkip, the first negative": Hostile(raw("GET", "/api/jobs/browse?itemsToSkip=-1&itemsToSkip=0"),
                                                        400, why="Invalid offset"),
    "a 64 KiB query string": Hostile(raw("GET", "/api/jobs/retrieve?id=" + "1" * 65536), 404, why="Unknown job"),
    "retrieve without an id": Hostile(raw("GET", "/api/jobs/retrieve?" + "&".join(["x=1"] * 5000)), 400,
                                      names=("id", "required")),
    # --------------------------------------------------------------- headers
    "a 64 KiB bearer token": Hostile(raw("GET", "/api/jobs/browse", token=b"t" * 65536), 401, why="Unauthorized"),
    # The server answers while the client is still sending; it reads and drops the rest, so the answer arrives.
    "a header past the server's limit": Hostile(
        raw("GET", "/api/jobs/browse", b"", b"X-Padding: " + b"a" * (300 * 1024)), 431,
        why="Request Header Fields Too Large"),
    "a header without a colon": Hostile(raw("GET", "/api/jobs/browse", b"", b"No colon here"), 400),
    "no token": Hostile(raw("POST", "/api/jobs/terminate", b'{"items": [{"id": "1"}]}', token=None), 401,
                        why="Unauthorized"),
    "another scheme": Hostile(raw("POST", "/api/jobs/terminate", b'{"items": [{"id": "1"}]}',
                                  b"Authorization: Basic dXNlcjpwYXNz", token=None), 401, why="Unauthorized"),
    "a token nobody was given": Hostile(raw("POST", "/api/jobs/terminate", b'{"items": [{"id": "1"}]}',
                                            token=b"made-up"), 401, why="Unauthorized"),
    # --------------------------------------------------------------- routes and methods
    "malformed request line": Hostile(b"GARBAGE\r\n\r\n", 400),
    "a method nobody knows": Hostile(raw("BREW", "/api/jobs/terminate"), 405, why="Method Not Allowed"),
    "DELETE on jobs": Hostile(raw("DELETE", "/api/jobs", b'{"items": [{"id": "1"}]}'), 405,
                              why="Method Not Allowed"),
    "path traversal in the route": Hostile(raw("GET", "/api/jobs/../../etc/passwd"), 404, why="Not Found"),
    # Raw bytes that are not UTF-8 in the request target: refused before the app (llhttp, or the app's own check).
    "0xFF in the path": Hostile(raw("GET", b"/api/jobs/\xff"), 400),
    "0xFF in the query, unescaped": Hostile(raw("GET", b"/api/jobs/retrieve?id=\xff\xfe"), 400),
    # --------------------------------------------------------------- the admin API
    **{f"scenario name {name!r}": Hostile(post_json("/_mock/scenario", {"name": name}), 404,
                                          names=("unknown scenario",))
       for name in ("../../etc/passwd", "/etc/passwd", "..", "blank/../blank", "./blank", "blank.yaml",
                    "contracts/scenarios/blank.yaml", "%2e%2e%2fetc%2fpasswd", "blank\x00", "x" * 10_000,
                    "~root", "C:\\Windows\\win.ini", "")},
    "scenario name that is a list": Hostile(post_json("/_mock/scenario", {"name": ["blank"]}), 400),
    "scenario profile that is a list": Hostile(post_json("/_mock/scenario", {"name": "blank", "profile": []}),
                                               400, names=("profile",)),
    "admin path traversal": Hostile(raw("GET", "/_mock/../../etc/passwd"), 404),
    "admin scenario sub-path": Hostile(raw("GET", "/_mock/scenario/../../../etc/passwd"), 404),
    "journal limit in Unicode digits": Hostile(raw("GET", "/_mock/journal?limit=%C2%B2"), 400, names=("limit",)),
    "clock set into the past": Hostile(post_json("/_mock/clock", {"setMs": 0}), 400, names=("setMs",)),
    "clock advanced by 2^63": Hostile(post_json("/_mock/clock", {"advanceMs": 2**63}), 400, names=("advanceMs",)),
    "clock advanced by a string": Hostile(post_json("/_mock/clock", {"advanceMs": "1h"}), 400),
    "a fault for an operation that is a list": Hostile(
        post_json("/_mock/faults", {"faults": [{"operation": [], "status": 503}]}), 400, names=("operation",)),
    "admin body nested 10,000 deep": Hostile(post("/_mock/faults", DEEP_OBJECT, b"Content-Type: application/json"),
                                             400, names=("nested",)),
}


def _check_answer(data: bytes, reset: bool, case: Hostile) -> None:
    assert data, f"the server closed the connection without an answer (reset: {reset})"
    status, headers, body = parse(data)
    assert status == case.status, body
    assert headers["content-type"] == JSON_TYPE, headers
    error = json.loads(body)
    assert set(error) == {"why", "errorCode"}, error
    assert isinstance(error["why"], str), error
    assert error["why"], error
    if case.why is not None:
        assert error["why"] == case.why
    for name in case.names:
        assert name in error["why"], error["why"]
    if status == 405:
        assert headers["allow"], headers


@pytest.mark.parametrize("case", CORPUS.values(), ids=CORPUS.keys())
def test_a_hostile_request_gets_its_error_and_changes_nothing(live: Live, case: Hostile) -> None:
    before = live.snapshot()
    data, reset = exchange(live, case.data, shut_write=case.half_close)
    _check_answer(data, reset, case)
    assert live.snapshot() == before  # the state is unchanged, and the server serves the next request


# ---------------------------------------------------------------------------------------------- accepted as sent


@pytest.mark.parametrize(("target", "first"), [
    ("/api/jobs/retrieve?id=2&id=1", "2"),
    ("/api/jobs/retrieve?id=1&includeUpdates=false&includeUpdates=true&id=3", "1"),
    ("/api/jobs/browse?itemsPerPage=10&itemsPerPage=abc&itemsToSkip=0&itemsToSkip=-5", None),
])
def test_repeated_query_keys_take_the_first_and_change_nothing(live: Live, target: str, first: str | None) -> None:
    before = live.snapshot()
    answer = live.request("GET", target)
    assert answer.status == 200, answer.body
    if first is not None:
        assert answer.json["id"] == first
        assert answer.json["updates"] == []  # includeUpdates=false came first
    else:
        assert answer.json["itemsPerPage"] == 10
    assert live.snapshot() == before


@pytest.mark.parametrize("content_type", [
    b"content-type: application/json; charset=utf-8", b"", b"text/html", b"application/xml",
    b"application/x-www-form-urlencoded", b"\xff\xfe garbage", b"a" * 8192, b"application/json; charset=ebcdic",
])
def test_any_content_type_is_ignored(live: Live, content_type: bytes) -> None:
    before = live.snapshot()
    data, _ = exchange(live, post("/api/jobs/search", SEARCH, b"Content-Type: " + content_type))
    status, _, body = parse(data)
    plain = live.request("POST", "/api/jobs/search", {"query": "", "flags": {}})
    assert (status, json.loads(body)) == (200, plain.json)
    assert live.snapshot() == before


def test_a_64_kib_header_is_served_and_changes_nothing(live: Live) -> None:
    before = live.snapshot()
    data, _ = exchange(live, post("/api/jobs/search", SEARCH, b"X-Padding: " + b"p" * 65536))
    status, _, body = parse(data)
    plain = live.request("POST", "/api/jobs/search", {"query": "", "flags": {}})
    assert (status, json.loads(body)) == (200, plain.json)
    assert live.snapshot() == before


def test_an_error_keeps_a_kept_alive_connection_serving(live: Live) -> None:
    before = live.snapshot()
    connection = live.connect()
    headers = {"Authorization": f"Bearer {TOKEN}"}
    try:
        assert send(connection, "POST", "/api/jobs", b'{"items": [', headers).status == 400
        sock = connection.sock
        assert send(connection, "POST", "/api/jobs", OVER_1_MIB, headers).status == 413
        assert send(connection, "POST", "/api/jobs/extend", json.dumps({"items": [extend_by("999")]}).encode(),
                    headers).status == 404
        answer = send(connection, "GET", "/api/jobs/retrieve?id=1", None, headers)
        assert (answer.status, answer.json["id"]) == (200, "1")
        assert connection.sock is sock, "an error answer must not close a kept-alive connection"
    finally:
        connection.close()
    assert live.snapshot() == before


# ---------------------------------------------------------------------------------------------- half a request


def _abort(sock: socket.socket) -> None:
    """Close with a reset instead of a FIN, as a crashed client or a dropped network does."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


CREATE = json.dumps({"items": [job_spec(name="half")]}).encode()
HALVES = {
    "half a request line": b"POST /api/jo",
    "headers without their end": raw("POST", "/api/jobs", CREATE)[:60],
    "half the body": raw("POST", "/api/jobs", CREATE)[: -len(CREATE) // 2],
    "all but the last byte": raw("POST", "/api/jobs", CREATE)[:-1],
}


@pytest.mark.parametrize("half", HALVES.values(), ids=HALVES.keys())
def test_a_client_that_sends_half_a_request_and_stops(live: Live, half: bytes) -> None:
    before = live.snapshot()
    stalled = [socket.create_connection((live.host, live.port), timeout=IO_TIMEOUT) for _ in range(20)]
    try:
        for sock in stalled:
            sock.sendall(half)
        # While they wait, with their connections open, everyone else is served.
        assert live.snapshot() == before
    finally:
        for index, sock in enumerate(stalled):
            if index % 2:
                _abort(sock)
            else:
                sock.shutdown(socket.SHUT_WR)  # the client says it is done: the request stays half-sent
                sock.settimeout(IO_TIMEOUT)
                received = sock.recv(65536)
                assert received in (b"",) or received.startswith(b"HTTP/1."), received
                sock.close()
    assert live.snapshot() == before  # no half-sent create reached the app


# ---------------------------------------------------------------------------------------------- overflowing time


def test_extending_by_2_31_hours_until_past_a_long_is_refused_whole() -> None:
    """In the docs profile an extension moves expiresAt; once it would pass a Long, the request is a 400 and
    changes nothing, however it is split (REFERENCE.md §3: timestamps are Kotlin Longs, hours an Int)."""
    with live_server(profile="docs", scenario="blank") as live:
        (job_id,) = live.create(job_spec(hours=INT_MAX))
        step = INT_MAX * HOUR_MS

        def expires_at() -> int:
            job = live.request("GET", f"/api/jobs/retrieve?id={job_id}").json
            return int(job["status"]["expiresAt"])

        start = expires_at()
        room = (LONG_MAX - start) // step  # how many more extensions a Long holds
        assert 1000 < room < 2000
        extended = 0
        for count in (500, 500):  # two bulks of 500 fit ...
            answer = live.request("POST", "/api/jobs/extend", {"items": [extend_by(job_id, hours=INT_MAX)] * count})
            assert answer.status == 200, answer.body
            extended += count
        assert expires_at() == start + extended * step
        before = live.snapshot()
        # ... a third does not, though its first items would: all or nothing.
        answer = live.request("POST", "/api/jobs/extend", {"items": [extend_by(job_id, hours=INT_MAX)] * 500})
        assert (answer.status, answer.json["why"]) == (400, "Time allocated for job is too long.")
        assert live.snapshot() == before
        connection = live.connect()
        body = json.dumps({"items": [extend_by(job_id, hours=INT_MAX)]}).encode()
        headers = {"Authorization": f"Bearer {TOKEN}"}
        try:
            while (answer := send(connection, "POST", "/api/jobs/extend", body, headers)).status == 200:
                extended += 1
                assert extended <= room
        finally:
            connection.close()
        assert (answer.status, answer.json["why"]) == (400, "Time allocated for job is too long.")
        assert extended == room
        assert expires_at() == start + room * step <= LONG_MAX
        before = live.snapshot()
        for hours, minutes, seconds in ((0, 0, 1), (INT_MAX, 59, 59)):
            answer = live.request("POST", "/api/jobs/extend",
                                  {"items": [extend_by(job_id, hours, minutes, seconds)]})
            if start + room * step + (hours * HOUR_MS + minutes * 60_000 + seconds * 1000) > LONG_MAX:
                assert answer.status == 400, answer.body
        assert live.snapshot()["nowMs"] == before["nowMs"]


def test_the_ucloud_profile_refuses_an_allocation_past_an_int_of_hours(live: Live) -> None:
    """In the ucloud profile extend grows timeAllocation, whose hours are a Kotlin Int: past 2^31-1 hours the
    request is a 400 and changes nothing."""
    (job_id,) = live.create(job_spec(hours=INT_MAX - 1))
    before = live.snapshot()
    answer = live.request("POST", "/api/jobs/extend", {"items": [extend_by(job_id, 0, 59, 59)] * 3})
    assert (answer.status, answer.json["why"]) == (400, "Time allocated for job is too long.")
    assert live.snapshot() == before
    answer = live.request("POST", "/api/jobs/extend", {"items": [extend_by(job_id, 0, 59, 59)]})
    assert answer.status == 200, answer.body
    job = live.request("GET", f"/api/jobs/retrieve?id={job_id}").json
    assert job["specification"]["timeAllocation"] == {"hours": INT_MAX - 1, "minutes": 59, "seconds": 59}
    answer = live.request("POST", "/api/jobs/terminate", {"items": [{"id": job_id}]})  # leave the world as found
    assert answer.status == 200, answer.body


# ---------------------------------------------------------------------------------------------- all at once


def test_the_corpus_from_many_clients_at_once_changes_nothing(live: Live) -> None:
    """Every case of the corpus, eight clients at a time, twice over: the server answers each as alone."""
    before = live.snapshot()
    cases = list(CORPUS.values()) * 2
    failures: list[BaseException] = []
    lock = threading.Lock()

    def worker(index: int) -> None:
        try:
            for case in cases[index::8]:
                data, reset = exchange(live, case.data, shut_write=case.half_close)
                _check_answer(data, reset, case)
        except BaseException as error:  # handed to the test's thread
            with lock:
                failures.append(error)

    threads = [threading.Thread(target=worker, args=(index,), daemon=True) for index in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a client was still waiting after 120 s"
    if failures:
        raise failures[0]
    assert live.snapshot() == before
