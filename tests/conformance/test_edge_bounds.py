"""What the mock keeps is bounded, whatever a client sends (issue 10 §5), over a real socket.

- Jobs kept (``--max-jobs``): to make room, a create forgets the jobs that reached a final state longest ago
  (from then on 404; the create's journal entry names them, the admin API counts them); when every job kept is
  live, a create is refused whole with 409 and changes nothing. A follower of a job that is forgotten has had
  its closing frame already (only ended jobs are forgotten), and following it later is a 404 frame.
- Bytes per job (``--max-job-bytes``): a create with a larger job, or an ACL change that would make one larger,
  is refused whole with 413 in UCloud's words.
- The journal (``--journal-bytes``): every field clipped, the entries together within their byte budget, so
  ``GET /_mock/journal`` answers a bounded document whatever the requests were.
- The memos of the request path (``--cache-key-bytes``) remember no longer key, and ``POST /_mock/reset``
  empties them with the jobs and the journal.

The resident size these bounds buy is measured by ``benchmarks/bench_memory.py``, not here.
"""

from __future__ import annotations

import base64
import http.client
import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from websockets.sync.client import connect

from mockserver.cli import main
from mockserver.domain.engine import Limits
from tests.conformance.support import IO_TIMEOUT, TOKEN, Live, job_spec, live_server
from tests.mockserver.support import closed_by_the_server, slow_client
from tests.serve_process import served

MAX_JOBS = 3
MAX_JOB_BYTES = 2000
TOO_LARGE = "Request is too large!"


@pytest.fixture
def live() -> Iterator[Live]:
    with live_server(scenario="blank", profile="ucloud", limits=Limits(MAX_JOBS, MAX_JOB_BYTES)) as server:
        yield server


def _terminate(live: Live, *ids: str) -> None:
    answer = live.request("POST", "/api/jobs/terminate", {"items": [{"id": job_id} for job_id in ids]})
    assert answer.status == 200, answer.body


def _status(live: Live) -> dict[str, Any]:
    answer = live.request("GET", "/_mock/scenario")
    assert answer.status == 200, answer.body
    status: dict[str, Any] = answer.json
    return status


# ---------------------------------------------------------------------------------------------- jobs kept


def test_the_jobs_that_ended_longest_ago_make_room_and_the_journal_names_them(live: Live) -> None:
    first, second, third = live.create(job_spec(), job_spec(), job_spec())
    _terminate(live, second)
    _terminate(live, first)  # ended after the second: the second goes first
    fourth, = live.create(job_spec())
    assert live.request("GET", f"/api/jobs/retrieve?id={second}").status == 404
    assert {live.request("GET", f"/api/jobs/retrieve?id={job_id}").status for job_id in (first, third, fourth)} \
        == {200}
    fifth, = live.create(job_spec())
    assert live.request("GET", f"/api/jobs/retrieve?id={first}").status == 404
    browsed = live.request("GET", "/api/jobs/browse?itemsPerPage=100").json["items"]
    assert [job["id"] for job in browsed] == [fifth, fourth, third]
    status = _status(live)
    assert (status["jobs"], status["evicted"], status["limits"]["maxJobs"]) == (3, 2, MAX_JOBS)
    creates = [entry for entry in live.request("GET", "/_mock/journal").json["entries"]
               if entry["operation"] == "jobs.create"]
    assert [entry.get("evicted") for entry in creates] == [None, {"count": 1, "ids": [second]},
                                                           {"count": 1, "ids": [first]}]


def test_a_create_is_refused_whole_with_409_when_every_job_is_live(live: Live) -> None:
    kept = live.create(job_spec(), job_spec())
    answer = live.request("POST", "/api/jobs", {"items": [job_spec(), job_spec()]})
    assert answer.status == 409, answer.body
    assert answer.json["errorCode"] is None
    assert answer.json["why"].startswith(f"The mock keeps at most {MAX_JOBS} jobs and 2 of the 2 it keeps are live")
    assert "--max-jobs" in answer.json["why"]
    too_many = live.request("POST", "/api/jobs", {"items": [job_spec()] * (MAX_JOBS + 1)})
    assert (too_many.status, too_many.json["why"]) == (
        409, f"The request creates {MAX_JOBS + 1} jobs; the mock keeps at most {MAX_JOBS} (ucloud-jobs serve "
             "--max-jobs)")
    browsed = live.request("GET", "/api/jobs/browse").json["items"]
    assert sorted(job["id"] for job in browsed) == sorted(kept)
    _terminate(live, kept[0])
    assert len(live.create(job_spec(), job_spec())) == 2  # the ended job makes room now


def test_a_forgotten_job_s_follower_was_told_it_ended_and_a_new_follower_gets_404(live: Live) -> None:
    job_id, = live.create(job_spec())
    with connect(f"ws://{live.host}:{live.port}/api/jobs", open_timeout=IO_TIMEOUT) as client:
        client.send(json.dumps({"call": "jobs.follow", "streamId": "s", "payload": {"id": job_id}, "bearer": TOKEN,
                                "project": None, "causedBy": None, "signedIntent": None}))
        assert json.loads(client.recv(IO_TIMEOUT))["type"] == "message"
        _terminate(live, job_id)
        frames = [json.loads(client.recv(IO_TIMEOUT))]
        while frames[-1]["type"] != "response":
            frames.append(json.loads(client.recv(IO_TIMEOUT)))
        assert frames[-1]["status"] == 200
        live.create(job_spec(), job_spec(), job_spec())  # forgets the ended job
        assert live.app.followers.count == 0
        client.send(json.dumps({"call": "jobs.follow", "streamId": "t", "payload": {"id": job_id}, "bearer": TOKEN,
                                "project": None, "causedBy": None, "signedIntent": None}))
        refused = json.loads(client.recv(IO_TIMEOUT))
        assert (refused["type"], refused["streamId"], refused["status"]) == ("response", "t", 404)
    assert live.request("GET", f"/api/jobs/retrieve?id={job_id}").status == 404


# ---------------------------------------------------------------------------------------------- bytes per job


def test_a_job_past_max_job_bytes_is_refused_whole_with_413(live: Live) -> None:
    small = job_spec(parameters={"text": {"type": "text", "value": "x" * 100}})
    large = job_spec(parameters={"text": {"type": "text", "value": "x" * MAX_JOB_BYTES}})
    answer = live.request("POST", "/api/jobs", {"items": [small, large]})
    assert answer.status == 413, answer.body
    why = answer.json["why"]
    assert why.startswith(f"{TOO_LARGE} The job at /items/1 is "), why
    assert why.endswith(f"the mock keeps jobs of at most {MAX_JOB_BYTES} bytes (ucloud-jobs serve --max-job-bytes)")
    assert live.request("GET", "/api/jobs/browse").json["items"] == []  # nothing was created
    # 800 bytes of UTF-8, but 2,400 as the JSON the mock keeps (non-ASCII escaped)
    wide = job_spec(parameters={"text": {"type": "text", "value": "é" * 400}})
    assert live.request("POST", "/api/jobs", {"items": [wide]}).status == 413
    assert len(live.create(small)) == 1


def test_an_acl_change_that_would_make_a_job_too_large_is_refused_whole_with_413(live: Live) -> None:
    job_id, = live.create(job_spec())
    grants = [{"entity": {"type": "user", "username": f"user-{n:04}"}, "permissions": ["READ"]} for n in range(40)]
    answer = live.request("POST", "/api/jobs/updateAcl", {"items": [{"id": job_id, "added": grants,
                                                                      "deleted": []}]})
    assert answer.status == 413, answer.body
    assert answer.json["why"].startswith(f"{TOO_LARGE} With this ACL, job {job_id} would be "), answer.json
    job = live.request("GET", f"/api/jobs/retrieve?id={job_id}&includeOthers=true").json
    assert job["permissions"]["others"] == []  # unchanged
    assert live.request("POST", "/api/jobs/updateAcl", {"items": [{"id": job_id, "added": grants[:2],
                                                                     "deleted": []}]}).status == 200


# ---------------------------------------------------------------------------------------------- journal, memos


def _jwt(subject: str) -> str:
    def part(document: Any) -> str:
        return base64.urlsafe_b64encode(json.dumps(document).encode()).rstrip(b"=").decode()
    return f"{part({'alg': 'RS256'})}.{part({'sub': subject})}.c2ln"


def test_the_journal_clips_every_field_and_keeps_its_byte_budget() -> None:
    budget = 64 * 1024
    with live_server(scenario="blank", users=None, journal_bytes=budget) as live:
        long = "x" * 20_000
        for n in range(20):
            live.request("GET", f"/api/jobs/{long}{n}?q={long}", token=_jwt(f"{long}{n}"))
            live.request("POST", "/api/jobs", data=json.dumps({"items": [job_spec(name=long)]}).encode(),
                         token=_jwt(f"{long}{n}"))
        answer = live.request("GET", "/_mock/journal")
        assert answer.status == 200
        journal = answer.json
        assert journal["byteLimit"] == budget
        assert 0 < journal["bytes"] <= budget
        assert len(answer.body) < 2 * budget  # what is kept, as JSON: never the 1.6 MB that was sent
        assert journal["dropped"] == journal["recorded"] - len(journal["entries"]) > 0
        for entry in journal["entries"]:
            assert len(entry["path"]) <= 4096
            assert len(entry["query"]) <= 4096
            assert len(entry["user"] or "") <= 4096
            if entry["method"] == "POST":
                assert entry["request"] is None
                assert entry["requestText"].endswith(f"... ({entry['requestBytes']} bytes)")
                assert len(entry["requestText"]) < 4200


def test_the_memos_remember_no_long_key_and_a_reset_empties_them() -> None:
    limit = 64
    with live_server(scenario="blank", users=None, cache_key_bytes=limit) as live:
        app = live.app
        short = "/api/jobs/browse?itemsPerPage=10"
        for n in range(30):
            assert live.request("GET", f"/api/jobs/browse?itemsPerPage=10&filterIds={'9' * 100}{n}",
                                token=_jwt("u" * 100 + str(n))).status == 200
            assert live.request("GET", f"/api/jobs/{'p' * 100}{n}").status == 404
        assert live.request("GET", short, token=_jwt("alice")).status == 200
        queries, matched = app._queries.keys(), app._matched.keys()  # the memos themselves are what is tested
        subjects = app.authenticator.subjects.keys()
        assert queries
        assert matched
        assert subjects
        assert all(len(query) <= limit for _, query in queries)
        assert all(len(path) <= limit for path, _ in matched)
        assert all(len(token) <= limit for token in subjects)
        live.create(job_spec())
        assert live.request("POST", "/_mock/reset", {}).status == 200
        assert (len(app._queries), len(app._matched), len(app.authenticator.subjects)) == (0, 0, 0)
        assert live.request("GET", "/api/jobs/browse").json["items"] == []
        assert [entry["seq"] for entry in live.request("GET", "/_mock/journal").json["entries"]] == [1]


# ---------------------------------------------------------------------------------------------- serve's options


def _get(host: str, port: int, target: str) -> tuple[int, Any]:
    connection = http.client.HTTPConnection(host, port, timeout=IO_TIMEOUT)
    try:
        connection.request("GET", target, headers={"Authorization": f"Bearer {TOKEN}"})
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()


def test_serve_takes_every_bound_as_an_option() -> None:
    with served("--port", "0", "-q", "--scenario", "blank", "--max-jobs", "7", "--max-job-bytes", "3000",
                "--journal-size", "20", "--journal-bytes", "9000", "--cache-key-bytes", "100",
                "--max-connections", "3", "--header-timeout", "0.5") as (_, url):
        parts = urlsplit(url)
        host, port = str(parts.hostname), int(parts.port or 0)
        status, scenario = _get(host, port, "/_mock/scenario")
        assert (status, scenario["limits"]) == (200, {"maxJobs": 7, "maxJobBytes": 3000, "journalSize": 20,
                                                      "journalBytes": 9000})
        with slow_client(host, port) as slow:  # closed once the header timeout has passed; recv waits for that
            assert closed_by_the_server(slow)
        idle = [slow_client(host, port) for _ in range(3)]
        try:
            assert _get(host, port, "/_mock/clock")[0] == 200  # past the cap: the idle one longest goes
            assert closed_by_the_server(idle[0])
        finally:
            for sock in idle:
                sock.close()


@pytest.mark.parametrize(("option", "value", "fragment"), [
    ("--max-jobs", "0", "0 is not a positive number"),
    ("--max-job-bytes", "lots", "'lots' is not a whole number"),
    ("--journal-bytes", "-1", "-1 is negative"),
    ("--cache-key-bytes", "-5", "-5 is negative"),
    ("--max-connections", "0", "0 is not a positive number"),
    ("--header-timeout", "0", "0 is not between 0 and 3600 seconds"),
    ("--header-timeout", "nan", "nan is not between 0 and 3600 seconds"),
    ("--header-timeout", "soon", "'soon' is not a number of seconds"),
])
def test_a_bad_bound_is_a_usage_error_in_one_line(capsys: pytest.CaptureFixture[str], option: str, value: str,
                                                  fragment: str) -> None:
    assert main(["serve", "--port", "0", option, value]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith(f"ucloud-jobs serve: error: argument {option}: {fragment}"), err
    assert err.count("\n") == 1, err


def test_a_bulk_request_past_its_max_items_is_refused_before_it_is_validated(monkeypatch: pytest.MonkeyPatch) -> None:
    """349,000 empty objects cost the validators as much again as their parsing (benchmarks/RESULTS.md)."""
    with live_server(scenario="blank") as live:
        def never(*args: Any, **kwargs: Any) -> None:
            raise AssertionError("the body was validated")

        monkeypatch.setattr(live.app.contract, "validate_request", never)
        for target in ("/api/jobs", "/api/jobs/terminate"):
            answer = live.request("POST", target, data=b'{"items":[' + b",".join([b"{}"] * 1001) + b"]}")
            assert (answer.status, answer.json) == (400, {"why": "Request cannot exceed 1000 items",
                                                          "errorCode": None})
