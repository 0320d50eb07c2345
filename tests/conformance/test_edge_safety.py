"""A mock that is safe to leave running on a laptop (issue 10 §1, §2): web pages cannot drive or read it.

A page the developer happens to visit can send requests to 127.0.0.1, and a page on a name the attacker controls
can re-point that name at 127.0.0.1 (DNS rebinding) and read the answers as its own. So, over a real socket:

- the Host header must name the server (loopback names, the address it listens on, ``--allowed-host`` names),
  for the Jobs API and the admin API alike, or the answer is 403;
- the admin API takes state-changing calls only as ``application/json`` (which a browser must preflight, and
  the admin API answers no preflight) and refuses every call from a foreign ``Origin``;
- CORS for the Jobs API is off unless ``--cors ORIGIN``, and then answers that exact origin only; the admin API
  never answers CORS.
"""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator, Mapping
from typing import Any

import pytest

from mockserver.api import MockServer
from mockserver.cli import main
from tests.conformance.support import IO_TIMEOUT, TOKEN, Answer, Live, live_server, send
from tests.serve_process import served

T0 = 1633329776235
EVIL = "http://evil.example"

# Every state-changing call of the admin API, with a body a page could send as text/plain.
STATE_CHANGING = [
    ("POST", "/_mock/faults", b'{"faults": [{"operation": "*", "status": 503}]}'),
    ("POST", "/_mock/scenario", b'{"name": "blank", "profile": "ucloud"}'),
    ("POST", "/_mock/clock", b'{"advanceMs": 3600000}'),
    ("POST", "/_mock/reset", b"{}"),
    ("DELETE", "/_mock/journal", b""),
    ("DELETE", "/_mock/faults", b""),
]
ADMIN_READS = ["/_mock/journal", "/_mock/clock", "/_mock/scenario", "/_mock/faults", "/_mock/health"]


@pytest.fixture(scope="module")
def live() -> Iterator[Live]:
    """One server with a job in its journal and a fault set, so that a refused call has something to change."""
    with live_server() as server:
        yield server


@pytest.fixture
def staged(live: Live) -> Live:
    """The module's server, reset, with one job created and one fault set through the admin API."""
    assert admin(live, "POST", "/_mock/scenario", b'{"name": "extend-and-terminate", "profile": "docs"}') \
        .status == 200
    live.create({"application": {"name": "a", "version": "1"},
                 "product": {"id": "example-compute", "category": "example-compute", "provider": "example"}})
    answer = admin(live, "POST", "/_mock/faults", b'{"faults": [{"operation": "jobs.search", "latencyMs": 1}]}')
    assert answer.status == 200, answer.body
    return live


def admin(live: Live, method: str, target: str, data: bytes = b"", headers: Mapping[str, str] | None = None, *,
          content_type: str | None = "application/json") -> Answer:
    """One admin call on a fresh connection (JSON by default)."""
    sent = {} if content_type is None else {"Content-Type": content_type}
    sent.update(headers or {})
    return live.request(method, target, data=data or None, headers=sent, token=None)


def state(live: Live) -> dict[str, Any]:
    """What a page could have changed: clock, scenario, profile, faults, jobs and the journal's length."""
    clock = admin(live, "GET", "/_mock/clock").json
    scenario = admin(live, "GET", "/_mock/scenario").json
    faults = admin(live, "GET", "/_mock/faults").json
    journal = admin(live, "GET", "/_mock/journal").json
    return {"clock": clock, "scenario": (scenario["scenario"], scenario["profile"], scenario["jobs"]),
            "faults": faults, "journal": journal["recorded"]}


def assert_refused(answer: Answer, status: int, *fragments: str) -> None:
    """A JSON error in UCloud's shape, with this status, whose ``why`` says each fragment."""
    assert answer.status == status, answer.body
    assert answer.headers["content-type"] == "application/json; charset=utf-8"
    assert set(answer.json) == {"why", "errorCode"}, answer.json
    assert answer.json["errorCode"] is None
    for fragment in fragments:
        assert fragment in answer.json["why"], answer.json["why"]
    assert not any(name.startswith("access-control-") for name in answer.headers), answer.headers


# ---------------------------------------------------------------------------------------------- the Host header


@pytest.mark.parametrize("host", ["evil.example", "evil.example:{port}", "localhost.evil.example:{port}",
                                  "127.0.0.1.evil.example", "192.0.2.7:{port}", "0.0.0.0:{port}", "[::2]:{port}",
                                  "localhost:{port}:1", "[::1", "user@localhost", "local host", "localhost:http"])
def test_a_host_that_does_not_name_the_server_is_refused_everywhere(staged: Live, host: str) -> None:
    # A rebinding page's requests carry its own name as Host; so does anything else not meant for this server.
    before = state(staged)
    header = {"Host": host.format(port=staged.port)}
    for method, target, data in [("GET", "/_mock/journal", b""), ("GET", "/api/jobs/browse", b""),
                                 *STATE_CHANGING, ("POST", "/api/jobs/terminate", b'{"items": [{"id": "62348"}]}')]:
        answer = staged.request(method, target, data=data or None,
                                headers={**header, "Content-Type": "application/json"})
        assert_refused(answer, 403, "Host", "--allowed-host")
    assert state(staged) == before


@pytest.mark.parametrize("host", ["localhost", "localhost:{port}", "LocalHost:{port}", "localhost.:{port}",
                                  "127.0.0.1", "127.0.0.1:{port}", "127.1.2.3:{port}", "[::1]", "[::1]:{port}",
                                  "localhost:1"])
def test_loopback_names_with_or_without_a_port_name_the_server(live: Live, host: str) -> None:
    header = {"Host": host.format(port=live.port)}
    assert live.request("GET", "/api/jobs/browse", headers=header).status == 200
    assert admin(live, "GET", "/_mock/journal", headers=header).status == 200
    assert admin(live, "POST", "/_mock/clock", b'{"advanceMs": 0}', headers=header).status == 200


def test_a_request_without_a_host_header_is_not_from_a_browser_and_is_served(live: Live) -> None:
    connection = live.connect()
    try:
        connection.putrequest("GET", "/api/jobs/browse", skip_host=True)
        connection.putheader("Authorization", f"Bearer {TOKEN}")
        connection.endheaders()
        assert connection.getresponse().status == 200
    finally:
        connection.close()


def test_allowed_host_names_are_the_server_too() -> None:
    with live_server(allowed_hosts=["devbox.test", "Mock.Example.", "2001:DB8:0::5"]) as live:
        for host in ("devbox.test", f"devbox.test:{live.port}", "DEVBOX.TEST", "mock.example:80",
                     f"[2001:db8::5]:{live.port}"):
            assert live.request("GET", "/api/jobs/browse", headers={"Host": host}).status == 200, host
            assert admin(live, "GET", "/_mock/clock", headers={"Host": host}).status == 200, host
        for host in ("evil.example", "sub.devbox.test", "devbox.test.evil.example"):
            assert_refused(live.request("GET", "/api/jobs/browse", headers={"Host": host}), 403, host)


def test_a_server_bound_to_every_address_answers_for_addresses_but_not_for_names() -> None:
    # An address in the Host header cannot be re-pointed by DNS, so on 0.0.0.0 any address names the server;
    # names still have to be allowed. (The client connects over loopback; only the Host header differs.)
    with MockServer(host="0.0.0.0", users={TOKEN: "user"}) as mock:
        def status(host: str) -> int:
            connection = http.client.HTTPConnection("127.0.0.1", mock.port, timeout=IO_TIMEOUT)
            try:
                return send(connection, "GET", "/api/jobs/browse", None,
                            {"Host": host, "Authorization": f"Bearer {TOKEN}"}).status
            finally:
                connection.close()

        assert [status(host) for host in ("192.0.2.7:8080", "[2001:db8::1]:8080", "localhost", "evil.example")] \
            == [200, 200, 200, 403]


# ---------------------------------------------------------------------------------------------- cross-origin admin


@pytest.mark.parametrize(("method", "target", "data"), STATE_CHANGING)
@pytest.mark.parametrize("content_type", ["text/plain", "text/plain; charset=utf-8",
                                          "application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
                                          None, "content-type: application/json", "application/jsonp"])
def test_a_state_changing_admin_call_needs_json_so_that_a_browser_must_ask_first(
        staged: Live, method: str, target: str, data: bytes, content_type: str | None) -> None:
    # A "simple" request (no preflight) may only be text/plain, form-urlencoded or multipart.
    before = state(staged)
    answer = admin(staged, method, target, data, content_type=content_type)
    assert_refused(answer, 415, "Content-Type: application/json")
    assert state(staged) == before


@pytest.mark.parametrize(("method", "target", "data"), STATE_CHANGING)
@pytest.mark.parametrize("origin", [EVIL, "null", "http://localhost:1", "https://localhost:{port}",
                                    "http://127.0.0.1.evil.example:{port}", "garbage"])
@pytest.mark.parametrize("content_type", ["text/plain", "application/json"])
def test_a_foreign_origin_cannot_change_anything(staged: Live, method: str, target: str, data: bytes, *, origin: str,
                                                 content_type: str) -> None:
    before = state(staged)
    answer = admin(staged, method, target, data, {"Origin": origin.format(port=staged.port)},
                   content_type=content_type)
    assert_refused(answer, 403, "Origin")
    assert state(staged) == before


@pytest.mark.parametrize("target", ADMIN_READS)
def test_a_foreign_origin_cannot_read_the_admin_api(staged: Live, target: str) -> None:
    for origin in (EVIL, "null", "http://localhost:1"):
        assert_refused(admin(staged, "GET", target, headers={"Origin": origin}), 403, "Origin")


def test_the_servers_own_origin_and_json_are_admitted(staged: Live) -> None:
    for origin in (f"http://127.0.0.1:{staged.port}", f"http://localhost:{staged.port}",
                   f"http://[::1]:{staged.port}"):
        assert admin(staged, "GET", "/_mock/journal", headers={"Origin": origin}).status == 200
        answer = admin(staged, "POST", "/_mock/clock", b'{"advanceMs": 1}', {"Origin": origin},
                       content_type="Application/JSON; charset=utf-8")
        assert answer.status == 200, answer.body
    assert admin(staged, "DELETE", "/_mock/faults").json == {"faults": []}


def test_allowed_host_and_cors_origins_are_not_foreign_but_get_no_cors_from_the_admin_api() -> None:
    with live_server(allowed_hosts=["devbox.test"], cors_origins=["http://localhost:3000"]) as live:
        for origin in ("http://devbox.test", "https://devbox.test:8443", "http://localhost:3000"):
            answer = admin(live, "POST", "/_mock/clock", b'{"advanceMs": 1}', {"Origin": origin})
            assert answer.status == 200, (origin, answer.body)
            assert "access-control-allow-origin" not in answer.headers
        assert_refused(admin(live, "GET", "/_mock/clock", headers={"Origin": "http://localhost:3001"}), 403)


# ---------------------------------------------------------------------------------------------- CORS


def preflight(live: Live, target: str, origin: str, method: str = "POST",
              headers: str = "authorization, content-type, project") -> Answer:
    """An OPTIONS preflight as a browser sends it."""
    return live.request("OPTIONS", target, token=None, headers={
        "Origin": origin, "Access-Control-Request-Method": method, "Access-Control-Request-Headers": headers})


@pytest.mark.parametrize("target", ["/api/jobs", "/api/jobs/extend", "/api/jobs/retrieve?id=1"])
def test_without_cors_a_preflight_is_a_405_with_allow_as_for_any_other_method(live: Live, target: str) -> None:
    answer = preflight(live, target, "http://localhost:3000")
    assert_refused(answer, 405, "Method Not Allowed")
    assert answer.headers["allow"] in ("POST", "GET, HEAD")
    actual = live.request("GET", "/api/jobs/browse", headers={"Origin": "http://localhost:3000"})
    assert actual.status == 200
    assert not any(name.startswith("access-control-") for name in actual.headers)


@pytest.fixture(scope="module")
def cors() -> Iterator[Live]:
    """A server that lets two origins call the Jobs API from a browser."""
    with live_server(cors_origins=["http://localhost:3000", "https://app.example.org/"]) as server:
        yield server


@pytest.mark.parametrize(("target", "method", "methods"), [
    ("/api/jobs", "POST", "POST"), ("/api/jobs/extend", "POST", "POST"), ("/api/jobs/search", "POST", "POST"),
    ("/api/jobs/retrieve?id=1", "GET", "GET, HEAD"), ("/api/jobs/browse", "GET", "GET, HEAD"),
])
@pytest.mark.parametrize("origin", ["http://localhost:3000", "https://app.example.org"])
def test_cors_answers_a_preflight_for_an_allowed_origin_exactly(cors: Live, target: str, method: str, methods: str,
                                                                origin: str) -> None:
    answer = preflight(cors, target, origin, method)
    assert answer.status == 204, answer.body
    assert answer.body == b""
    assert answer.headers["access-control-allow-origin"] == origin
    assert answer.headers["vary"] == "Origin"
    assert answer.headers["access-control-allow-methods"] == methods
    allowed = {name.strip().lower() for name in answer.headers["access-control-allow-headers"].split(",")}
    assert allowed == {"authorization", "content-type", "project"}
    assert int(answer.headers["access-control-max-age"]) > 0
    assert "access-control-allow-credentials" not in answer.headers


def test_cors_refuses_a_preflight_from_another_origin_and_never_says_star(cors: Live) -> None:
    for origin in ("http://localhost:3001", "http://evil.example", "null", "https://app.example.org.evil.example"):
        answer = preflight(cors, "/api/jobs", origin)
        assert_refused(answer, 403, origin, "--cors")
    assert_refused(preflight(cors, "/api/jobs/nothing", "http://localhost:3000"), 404)


def test_cors_marks_actual_answers_for_allowed_origins_only(cors: Live) -> None:
    allowed = {"Origin": "http://localhost:3000"}
    for method, target, body, status in [("GET", "/api/jobs/browse", None, 200),
                                         ("POST", "/api/jobs/terminate", {"items": [{"id": "404"}]}, 404)]:
        answer = cors.request(method, target, body, headers=allowed)
        assert answer.status == status
        assert answer.headers["access-control-allow-origin"] == "http://localhost:3000"
        assert answer.headers["vary"] == "Origin"
    unauthorized = cors.request("GET", "/api/jobs/browse", headers=allowed, token=None)
    assert (unauthorized.status, unauthorized.headers["access-control-allow-origin"]) == (401,
                                                                                          "http://localhost:3000")
    for headers in ({"Origin": "http://evil.example"}, {}):
        answer = cors.request("GET", "/api/jobs/browse", headers=headers)
        assert answer.status == 200
        assert "access-control-allow-origin" not in answer.headers
        assert answer.headers["vary"] == "Origin"


@pytest.mark.parametrize("target", ["/_mock/clock", "/_mock/journal", "/_mock/faults"])
def test_the_admin_api_never_answers_cors(cors: Live, target: str) -> None:
    answer = preflight(cors, target, "http://localhost:3000")
    assert_refused(answer, 405)
    read = admin(cors, "GET", target, headers={"Origin": "http://localhost:3000"})
    assert read.status == 200
    assert not any(name.startswith("access-control-") for name in read.headers)


# ---------------------------------------------------------------------------------------------- the command line


@pytest.fixture
def no_server(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail at once, instead of serving forever, if a usage error were to get as far as starting a server."""
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("serve started a server despite the usage error")
    monkeypatch.setattr("mockserver.cli.serve.MockServer", refuse)


@pytest.mark.usefixtures("no_server")
@pytest.mark.parametrize(("args", "fragment"), [
    (("--admin-token", ""), "--admin-token: the token is empty (an unset shell variable?)"),
    (("--admin-token", "s3cret"), "--admin-token: the token has 6 characters; give one of at least 16"),
    (("--admin-token", "x" * 15), "the token has 15 characters"),
    (("--allowed-host", "http://devbox.test"), "--allowed-host: 'http://devbox.test' is not a host name"),
    (("--allowed-host", "devbox.test:8080"), "is not a host name"),
    (("--allowed-host", ""), "is not a host name"),
    (("--cors", "*"), "--cors: '*' is not an origin such as http://localhost:3000"),
    (("--cors", "localhost:3000"), "is not an origin"),
    (("--cors", "http://localhost:3000/app"), "is not an origin"),
    (("--cors", "ftp://localhost"), "is not an origin"),
])
def test_a_guessable_admin_token_or_a_malformed_name_is_a_usage_error(capsys: pytest.CaptureFixture[str],
                                                                      args: tuple[str, ...], fragment: str) -> None:
    assert main(["serve", "--port", "0", *args]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("ucloud-jobs serve: error: argument "), err
    assert err.count("\n") == 1, err
    assert fragment in err


def test_serve_answers_to_allowed_hosts_and_cors_origins_and_a_long_admin_token() -> None:
    token = "a-token-of-sixteen"
    with served("--port", "0", "-q", "--allowed-host", "devbox.test", "--cors", "http://localhost:3000",
                "--admin-token", token) as (server, _):
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=IO_TIMEOUT)
        try:
            answers = [send(connection, "GET", "/api/jobs/browse", None, {"Host": host, "Authorization": "Bearer t"})
                       for host in ("devbox.test", "evil.example")]
            ask = send(connection, "OPTIONS", "/api/jobs", None, {
                "Origin": "http://localhost:3000", "Access-Control-Request-Method": "POST"})
            clock = send(connection, "POST", "/_mock/clock", json.dumps({"advanceMs": 1}).encode(),
                         {"Content-Type": "text/plain", "Origin": "http://evil.example"})
        finally:
            connection.close()
    assert [answer.status for answer in answers] == [200, 403]
    assert (ask.status, ask.headers["access-control-allow-origin"]) == (204, "http://localhost:3000")
    assert clock.status == 403
