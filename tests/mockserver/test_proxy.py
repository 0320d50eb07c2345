"""ucloud-jobs proxy over sockets: in front of the mock (both profiles), of broken providers, of an HTTPS
upstream with a certificate made here, and of an upstream that is down."""

from __future__ import annotations

import http.client
import json
import socket
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest

from contracts.cli.verify import VerifyOptions, verify_url
from contracts.testing.transport import mock_token
from mockserver.api import MockServer
from mockserver.web.app import create_app
from tests.contracts import broken
from tests.mockserver.proxy_support import (
    WsgiApp,
    https_upstream,
    make_certificate,
    proxy_to,
    upstream,
)

DOCS = Path(__file__).resolve().parents[1] / "data" / "docs"
SEED: list[dict[str, Any]] = json.loads((DOCS / "seed_flow.json").read_text(encoding="utf-8"))["steps"]
TOKEN = "seed-flow-access-token"


def play_seed(call: Any) -> list[tuple[int, dict[str, str], bytes]]:
    """The seed's six documented requests, exactly as documented, through ``call``."""
    answers = []
    for step in SEED:
        target = step["path"] + (f"?{step['query']}" if step["query"] else "")
        body = step["body"].encode() if step["body"] else None
        headers = {"Content-Type": "content-type: application/json; charset=utf-8"} if body else {}
        answers.append(call(step["method"], target, body, token=TOKEN, headers=headers))
    return answers


def direct(url: str) -> Any:
    def call(method: str, target: str, body: bytes | None, *, token: str, headers: dict[str, str]
             ) -> tuple[int, dict[str, str], bytes]:
        host, port = url.removeprefix("http://").rsplit(":", 1)
        connection = http.client.HTTPConnection(host, int(port), timeout=10)
        try:
            connection.request(method, target, body=body, headers={**headers, "Authorization": f"Bearer {token}"})
            response = connection.getresponse()
            return response.status, dict(response.getheaders()), response.read()
        finally:
            connection.close()
    return call


@pytest.mark.parametrize("profile", ["docs", "ucloud"])
def test_the_seed_through_the_proxy_is_answered_byte_for_byte_as_directly(profile: str) -> None:
    with MockServer(profile=profile) as behind, MockServer(profile=profile) as beside, proxy_to(behind.url) as proxy:
        through = play_seed(proxy.call)
        straight = play_seed(direct(beside.url))
        assert [answer[0] for answer in through] == [200] * 6
        assert [answer[2] for answer in through] == [answer[2] for answer in straight]
        assert all(answer[1]["Content-Type"] == "application/json; charset=utf-8" for answer in through)
        assert proxy.findings() == []
        assert proxy.log.getvalue() == ""
    if profile == "docs":
        assert [json.loads(answer[2]) for answer in through] == [step["response"] for step in SEED]


def test_a_verification_through_the_proxy_finds_the_mock_and_the_proxy_finds_no_drift() -> None:
    with MockServer(scenario="blank", profile="ucloud") as mock, proxy_to(mock.url) as proxy:
        report = verify_url(proxy.url, mock_token("user"), VerifyOptions(examples=3, seed=1, shrink_seconds=0),
                            second_token=mock_token("other-user"))
        calls = proxy.app.ledger.count("calls")
        assert report.ok, report
        assert calls > 20
        assert [finding for finding in proxy.findings() if finding["direction"] != "request"] == []
        assert proxy.app.ledger.count("response") == 0


# ---------------------------------------------------------------------------------------------- broken providers


def _answer(start_response: Any, status: str, document: Any) -> list[bytes]:
    body = json.dumps(document).encode()
    start_response(status, [("Content-Type", "application/json; charset=utf-8"), ("Content-Length", str(len(body)))])
    return [body]


def _rewritten(app: WsgiApp, path: str, change: Any) -> WsgiApp:
    """A provider whose 200 answers at ``path`` are changed by ``change(document, count)`` (count from 1)."""
    seen = {"count": 0}

    def provider(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        if environ["PATH_INFO"] != path:
            return app(environ, start_response)
        statuses: list[str] = []
        body = b"".join(app(environ, lambda status, headers, exc=None: statuses.append(status)))
        if not statuses[0].startswith("200"):
            return _answer(start_response, statuses[0], json.loads(body))
        seen["count"] += 1
        return _answer(start_response, "200 OK", change(json.loads(body), seen["count"]))

    return provider


def _missing_status(job: dict[str, Any], count: int) -> dict[str, Any]:
    return {key: value for key, value in job.items() if key != "status"}


def _backwards(job: dict[str, Any], count: int) -> dict[str, Any]:
    if count == 2:  # the second retrieve: the job, running at the first, is queued again
        job["status"]["state"] = "IN_QUEUE"
    return job


def _teapot(app: WsgiApp) -> WsgiApp:
    def provider(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        if environ["PATH_INFO"] == "/api/jobs/retrieve":
            return _answer(start_response, "418 I'm a teapot", {"why": "I'm a teapot", "errorCode": None})
        return app(environ, start_response)
    return provider


BROKEN: list[tuple[str, Any, str, str]] = [
    ("a wrong type", broken.wrong_type, "/createdAt", "'1633329776235' is not of type integer"),
    ("a missing required field", lambda app: _rewritten(app, "/api/jobs/retrieve", _missing_status), "/status",
     "required field is missing"),
    ("a state that goes backwards", lambda app: _rewritten(app, "/api/jobs/retrieve", _backwards), "/status/state",
     "the job went from RUNNING to IN_QUEUE"),
    ("an undocumented status", _teapot, "", "answered 418, a status the contract does not document"),
    ("an extension applied twice", broken.extend_twice, "/status/expiresAt", "extend moves expiresAt by exactly"),
]


@pytest.mark.parametrize(("defect", "make", "pointer", "words"), BROKEN, ids=[case[0] for case in BROKEN])
def test_each_break_of_a_provider_is_found_as_drift(defect: str, make: Any, pointer: str, words: str) -> None:
    with upstream(make(create_app())) as url, proxy_to(url) as proxy:
        play_seed(proxy.call)
        found = proxy.findings()
        logged = proxy.log.getvalue()
        ledger = proxy.app.ledger
    assert found, f"{defect}: nothing found"
    assert {finding["direction"] for finding in found} == {"response"}
    assert any(finding["pointer"] == pointer and words in finding["message"] for finding in found), found
    assert f"response {pointer or '/'}: " in logged
    assert words in logged
    assert ledger.failed("response")
    assert not ledger.failed("request")


def test_a_clients_bad_request_is_the_clients_and_passes_on_unchanged() -> None:
    bad = {"items": [{"jobId": "62348", "requestedTime": {"hours": 1, "minutes": 75, "seconds": 0}}]}
    with MockServer() as mock, proxy_to(mock.url) as proxy:
        status, _, body = proxy.call("POST", "/api/jobs/extend", bad)
        assert status == 400
        assert json.loads(body)["why"].startswith("Bad Request")  # the mock's own answer, passed on
        [finding] = proxy.findings()
        assert mock.journal[-1]["request"] == bad
    assert (finding["direction"], finding["pointer"]) == ("request", "/items/0/requestedTime/minutes")
    assert proxy.log.getvalue() == ("ucloud-jobs proxy: violation: #1 jobs.extend request "
                                    "/items/0/requestedTime/minutes: 75 is greater than the maximum of 59\n")
    assert proxy.app.ledger.failed("request")
    assert not proxy.app.ledger.failed("response")


# ---------------------------------------------------------------------------------------------- upstream failures


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_an_upstream_that_is_down_answers_502_and_is_reported() -> None:
    with proxy_to(f"http://127.0.0.1:{_free_port()}") as proxy:
        status, headers, body = proxy.call("GET", "/api/jobs/retrieve?id=1")
        journal = json.loads(proxy.call("GET", "/_mock/journal", token=None)[2])
    assert status == 502
    assert headers["Content-Type"] == "application/json; charset=utf-8"
    answer = json.loads(body)
    assert answer["errorCode"] == "UPSTREAM_REFUSED"
    assert answer["why"].startswith("Bad Gateway: http://127.0.0.1:")
    assert "refused the connection" in answer["why"]
    assert journal["entries"][0]["failure"] == answer["why"]
    assert journal["entries"][0]["upstreamStatus"] is None
    assert "upstream: #1 GET /api/jobs/retrieve (jobs.retrieve): Bad Gateway" in proxy.log.getvalue()
    assert proxy.app.ledger.count("upstream") == 1
    assert proxy.app.ledger.failed("response")


def test_an_upstream_that_does_not_answer_in_time_answers_504() -> None:
    with socket.create_server(("127.0.0.1", 0)) as silent, proxy_to(f"http://127.0.0.1:{silent.getsockname()[1]}",
                                                                     timeout=0.2) as proxy:
        status, _, body = proxy.call("GET", "/api/jobs/retrieve?id=1")
    assert status == 504
    assert json.loads(body) == {"why": f"Gateway Timeout: {proxy.app.upstream.url} did not answer within 0.2 s",
                                "errorCode": "UPSTREAM_TIMEOUT"}


def test_an_upstream_that_answers_no_json_answers_502() -> None:
    def html(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "text/html")])
        return [b"<html>maintenance</html>"]

    with upstream(html) as url, proxy_to(url) as proxy:
        status, _, body = proxy.call("GET", "/api/jobs/retrieve?id=1")
        other = proxy.call("GET", "/index.html")
    assert status == 502
    assert json.loads(body)["errorCode"] == "UPSTREAM_NOT_JSON"
    assert other[0] == 200
    assert other[2] == b"<html>maintenance</html>"


def test_an_https_upstream_with_a_certificate_made_here(tmp_path: Path) -> None:
    cert, key = make_certificate(tmp_path)
    with https_upstream(create_app(), cert, key) as url:
        with proxy_to(url, cacert=str(cert)) as proxy:
            answers = play_seed(proxy.call)
            assert [json.loads(answer[2]) for answer in answers] == [step["response"] for step in SEED]
            assert proxy.findings() == []
        with proxy_to(url) as untrusting:  # the system's store does not know the certificate
            status, _, body = untrusting.call("GET", "/api/jobs/retrieve?id=1")
    assert status == 502
    answer = json.loads(body)
    assert answer["errorCode"] == "UPSTREAM_TLS"
    assert "certificate verify failed" in answer["why"]


# ---------------------------------------------------------------------------------------------- unchanged traffic


def test_hop_by_hop_headers_stay_behind_and_the_rest_pass_both_ways() -> None:
    seen: dict[str, str] = {}

    def echo(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        seen.update({key: value for key, value in environ.items() if key.startswith("HTTP_")})
        seen["body"] = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0)).decode()
        start_response("200 OK", [("Content-Type", "application/json"), ("X-Upstream", "kept"),
                                  ("Connection", "X-Hop"), ("X-Hop", "dropped"), ("Keep-Alive", "timeout=5")])
        return [b'{"productsByProvider": {}}']

    with upstream(echo) as url, proxy_to(url) as proxy:
        status, headers, body = proxy.call("GET", "/api/jobs/retrieveProducts",
                                           headers={"Connection": "X-Drop", "X-Drop": "1", "X-Keep": "1",
                                                    "Project": "research", "Keep-Alive": "5"})
    assert (status, body) == (200, b'{"productsByProvider": {}}')
    assert headers["X-Upstream"] == "kept"
    assert "X-Hop" not in headers
    assert "Keep-Alive" not in headers
    assert seen["HTTP_HOST"] == url.removeprefix("http://")
    assert seen["HTTP_X_KEEP"] == "1"
    assert seen["HTTP_PROJECT"] == "research"
    assert seen["HTTP_AUTHORIZATION"] == "Bearer a-test-token-123"
    assert "HTTP_X_DROP" not in seen
    assert "HTTP_KEEP_ALIVE" not in seen


def test_the_proxy_is_safe_by_default() -> None:
    with MockServer() as mock, upstream(broken.echo_token(create_app())) as echoing, \
            proxy_to(echoing) as proxy:
        assert proxy.server.host == "127.0.0.1"
        assert proxy.call("GET", "/api/jobs/retrieve?id=1", headers={"Host": "evil.example"})[0] == 403
        assert proxy.call("GET", "/api/jobs/browse", headers={"Origin": "http://evil.example"})[0] == 403
        secret = "a-very-secret-token-0123456789"
        extend = {"items": [{"jobId": "1", "requestedTime": {"hours": 1, "minutes": 0, "seconds": 0}}]}
        status, _, body = proxy.call("POST", "/api/jobs/extend", extend, token=secret)
        assert status == 403
        assert secret.encode() in body
        journal = proxy.call("GET", "/_mock/journal", token=None)[2]
        upgrade = {"Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "13",
                   "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="}
        foreign_page = proxy.call("GET", "/api/jobs", headers={**upgrade, "Origin": "http://evil.example"})
        foreign_host = proxy.call("GET", "/api/jobs", headers={**upgrade, "Host": "evil.example"})
    assert mock.url  # the mock beside is untouched
    assert secret.encode() not in journal
    assert secret not in proxy.log.getvalue()
    assert secret not in proxy.app.ledger.render("json")
    assert foreign_page[0] == 403
    assert b"another origin ('http://evil.example')" in foreign_page[2]
    assert foreign_host[0] == 403


def test_a_body_past_the_bound_is_refused_before_it_is_passed_on() -> None:
    with MockServer() as mock, proxy_to(mock.url, max_body_bytes=1024) as proxy:
        status, _, body = proxy.call("POST", "/api/jobs", b"{" + b" " * 2048 + b"}")
        assert mock.journal == []
    assert status == 413
    assert json.loads(body)["why"] == "Request is too large!"
