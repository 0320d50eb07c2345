"""Acceptance: the documented flow "Extending a Job and terminating it early", verbatim, in both eras.

The seed's rendering (2021, ``seed_flow.json``) is replayed by the bundled ``extend-and-terminate`` scenario, and
today's (2024, ``flow_2024.json``, from reference/jobs_extendAndCancel.md) by ``extend-and-terminate-2024``; the
two older versions of that page (``flow_history.json``) equal one era each, word for word. The requests and
documented responses are extracted by ``scripts/extract_docs.py`` (``tests/contracts/test_docs_data.py`` keeps
them in step). Nothing here is typed by hand: the curl commands run exactly as written, and the answers must be
JSON-equal to the documented ones, key by key and type by type.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from contracts.validation import default_contract
from mockserver.server import HttpServer
from mockserver.web.app import create_app
from tests.mockserver.support import serving
from tests.serve_process import served

DATA = Path(__file__).resolve().parents[1] / "data" / "docs"
FLOW: dict[str, Any] = json.loads((DATA / "seed_flow.json").read_text(encoding="utf-8"))
STEPS: list[dict[str, Any]] = FLOW["steps"]
FLOW_2024: dict[str, Any] = json.loads((DATA / "flow_2024.json").read_text(encoding="utf-8"))
HISTORY: dict[str, dict[str, Any]] = json.loads((DATA / "flow_history.json").read_text(encoding="utf-8"))
#: Each era's document and the bundled scenario that replays it.
ERAS = {"2021": (STEPS, "extend-and-terminate"), "2024": (FLOW_2024["steps"], "extend-and-terminate-2024")}
ACCESS_TOKEN = "seed-flow-access-token"  # any non-empty token is the user "user" when no --user is given
JSON_TYPE = "application/json; charset=utf-8"
CURL_TIMEOUT = 30.0


def differences(documented: Any, actual: Any, pointer: str = "") -> list[str]:
    """Where ``actual`` differs from ``documented``, as JSON pointers; strict about types (1 is not true)."""
    if isinstance(documented, dict) and isinstance(actual, dict):
        found: list[str] = []
        for key in sorted(documented.keys() | actual.keys()):
            where = f"{pointer}/{key.replace('~', '~0').replace('/', '~1')}"
            if key not in actual:
                found.append(f"{where}: missing (documented {json.dumps(documented[key])})")
            elif key not in documented:
                found.append(f"{where}: not in the document (got {json.dumps(actual[key])})")
            else:
                found.extend(differences(documented[key], actual[key], where))
        return found
    if isinstance(documented, list) and isinstance(actual, list):
        found = [item for index, (expected, got) in enumerate(zip(documented, actual, strict=False))
                 for item in differences(expected, got, f"{pointer}/{index}")]
        if len(documented) != len(actual):
            found.append(f"{pointer or '/'}: {len(actual)} items, documented {len(documented)}")
        return found
    if type(documented) is not type(actual) or documented != actual:
        return [f"{pointer or '/'}: documented {json.dumps(documented)}, got {json.dumps(actual)}"]
    return []


def check_step(step: dict[str, Any], body: bytes) -> None:
    """Fail with the step, the document's words for it, and every differing key, unless ``body`` matches."""
    context = f"step {step['step']} ({step['call']}, {step['method']} {step['path']})"
    try:
        actual = json.loads(body)
    except ValueError:
        pytest.fail(f"{context} answered with something that is not JSON: {body[:500]!r}")
    found = differences(step["response"], actual)
    if found:
        pytest.fail(f"{context} differs from the document.\nThe document says: {step['comment']}\n"
                    + "\n".join(f"  {line}" for line in found), pytrace=False)


def test_differences_name_every_differing_key_strictly() -> None:
    documented = {"a": 1, "b": {"c": [1, 2]}, "d": None, "e": True}
    actual = {"a": 1, "b": {"c": [1, 3, 4]}, "e": 1, "f": "x"}
    assert differences(documented, actual) == [
        "/b/c/1: documented 2, got 3",
        "/b/c: 3 items, documented 2",
        "/d: missing (documented null)",
        "/e: documented true, got 1",
        '/f: not in the document (got "x")',
    ]
    assert differences(STEPS[1]["response"], json.loads(json.dumps(STEPS[1]["response"]))) == []


@pytest.mark.parametrize("era", sorted(ERAS))
def test_the_data_file_holds_the_six_documented_steps(era: str) -> None:
    # Guards the tests below against running over an empty or truncated extraction.
    steps, _ = ERAS[era]
    assert [step["call"] for step in steps] == ["jobs.create", "jobs.retrieve", "jobs.extend", "jobs.retrieve",
                                                "jobs.terminate", "jobs.retrieve"]
    assert all(step["command"].startswith("curl ") and step["status"] == 200 for step in steps)
    assert steps[0]["headers"][1] == {"name": "Content-Type",
                                      "value": "content-type: application/json; charset=utf-8"}


def test_the_eras_differ_where_the_documentation_does() -> None:
    old, new = STEPS[1]["response"], FLOW_2024["steps"][1]["response"]
    assert {"acl", "billing"} <= set(old) - set(new)
    assert {"openedFile", "restartOnExit", "sshEnabled"} <= set(new["specification"]) - set(old["specification"])
    assert "allowRestart" in set(new["status"]) - set(old["status"])
    assert {"newTimeAllocation", "allowRestart", "newMounts"} <= set(new["updates"][0]) - set(old["updates"][0])


def test_each_older_version_of_the_page_is_one_era_word_for_word() -> None:
    """Replaying the two eras replays the history too: each older page equals one of them, step for step."""
    equal_to = {source: [era for era, (steps, _) in ERAS.items() if flow["steps"] == steps]
                for source, flow in HISTORY.items()}
    assert equal_to == {"reference/history/jobs_extendAndCancel.2021-10-04.9cb75f2110.md": ["2021"],
                        "reference/history/jobs_extendAndCancel.2022-09-09.a045350a37.md": ["2024"]}


# ---------------------------------------------------------------------------------------------- with curl

@contextlib.contextmanager
def _serve(*args: str) -> Iterator[str]:
    """``python -m mockserver serve`` with ``args`` in a subprocess; yields the URL it prints."""
    with served(*args) as (_, url):
        yield url


@pytest.mark.skipif(shutil.which("curl") is None or shutil.which("bash") is None,
                    reason="the seed's commands are curl commands for a POSIX shell: needs curl and bash on PATH")
@pytest.mark.parametrize("era", sorted(ERAS))
def test_the_documented_curl_commands_run_verbatim_against_ucloud_jobs_serve(era: str) -> None:
    steps, scenario = ERAS[era]
    # The seed is what serve plays with no options; today's rendering is one option away.
    with _serve("--port", "0", *(() if era == "2021" else ("--scenario", scenario))) as url:
        environment = {**os.environ, "host": url, "accessToken": ACCESS_TOKEN}
        # The commands are the document's; a proxy configured on this machine is not part of them.
        for name in ("http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"):
            environment.pop(name, None)
        environment["no_proxy"] = environment["NO_PROXY"] = "*"
        for step in steps:
            done = subprocess.run(["bash", "-c", step["command"]], env=environment, capture_output=True,
                                  timeout=CURL_TIMEOUT, check=False)
            assert done.returncode == 0, (f"step {step['step']}: curl exited {done.returncode}: "
                                          f"{done.stderr.decode(errors='replace')}")
            check_step(step, done.stdout)


def _curl(step: dict[str, Any], url: str) -> bytes:
    environment = {**os.environ, "host": url, "accessToken": ACCESS_TOKEN}
    for name in ("http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"):
        environment.pop(name, None)
    environment["no_proxy"] = environment["NO_PROXY"] = "*"
    done = subprocess.run(["bash", "-c", step["command"]], env=environment, capture_output=True,
                          timeout=CURL_TIMEOUT, check=False)
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    return done.stdout


def _follow_the_seed(*serve_args: str) -> list[dict[str, Any]]:
    """The frames of jobs.follow on serve's port, opened after the seed's create, while the other five run."""
    from websockets.sync.client import connect  # noqa: PLC0415

    frames: list[dict[str, Any]] = []
    documented = not serve_args  # with serve's defaults the answers are the documented ones
    with _serve("--port", "0", *serve_args) as url:
        answer = _curl(STEPS[0], url)
        if documented:
            check_step(STEPS[0], answer)
        job_id = json.loads(answer)["responses"][0]["id"]
        with connect(url.replace("http://", "ws://") + "/api/jobs", open_timeout=CURL_TIMEOUT) as socket:
            socket.send(json.dumps({"call": "jobs.follow", "streamId": "seed", "payload": {"id": job_id},
                                    "bearer": ACCESS_TOKEN, "project": None}))
            frames.append(json.loads(socket.recv(CURL_TIMEOUT)))
            for step in STEPS[1:]:
                answer = _curl(step, url)
                if documented:
                    check_step(step, answer)
            while frames[-1]["type"] != "response":
                frames.append(json.loads(socket.recv(CURL_TIMEOUT)))
    for frame in frames:
        default_contract().validate(frame, "WSMessage_JobsFollowResponse")
    return frames


@pytest.mark.skipif(shutil.which("curl") is None or shutil.which("bash") is None,
                    reason="the seed's commands are curl commands for a POSIX shell: needs curl and bash on PATH")
def test_the_seed_job_followed_over_a_websocket_while_the_curl_commands_run() -> None:
    """jobs.follow on serve's port, opened after the create: the status, then each change the curl commands
    cause, in order (the docs profile shows the extension as the new expiresAt), then the end."""
    created, running, extended, cancelled, end = _follow_the_seed()
    documented = {step["step"]: step["response"] for step in STEPS}
    assert created["payload"] == {"updates": [], "log": [], "newStatus": {
        **documented[2]["status"], "state": "IN_QUEUE"}}  # the status after create, before the queue delay
    assert running["payload"]["updates"] == documented[2]["updates"][1:]
    assert running["payload"]["newStatus"] == documented[2]["status"]
    assert extended["payload"] == {"updates": [], "log": [], "newStatus": documented[4]["status"]}
    assert extended["payload"]["newStatus"]["expiresAt"] - created["payload"]["newStatus"]["expiresAt"] == 3_600_000
    assert cancelled["payload"]["updates"] == documented[6]["updates"][2:]
    assert cancelled["payload"]["updates"][0]["status"] == "Your job has been cancelled!"
    assert cancelled["payload"]["newStatus"] == documented[6]["status"]
    assert end == {"type": "response", "streamId": "seed", "payload": {}, "status": 200}


@pytest.mark.skipif(shutil.which("curl") is None or shutil.which("bash") is None,
                    reason="the seed's commands are curl commands for a POSIX shell: needs curl and bash on PATH")
def test_the_seed_job_followed_in_the_ucloud_profile_shows_the_job_and_the_extension_as_an_update() -> None:
    """The same commands under ``--profile ucloud``: the first frame carries ``initialJob``, and the extension
    is an update of its own with the new time allocation, as the real service posts it."""
    created, running, extended, cancelled, end = _follow_the_seed("--profile", "ucloud")
    assert created["payload"]["initialJob"]["id"] == "62348"
    assert created["payload"]["initialJob"]["status"] == created["payload"]["newStatus"]
    assert created["payload"]["newStatus"]["state"] == "IN_QUEUE"
    assert [update["state"] for update in running["payload"]["updates"]] == ["RUNNING"]
    (extension,) = extended["payload"]["updates"]
    assert extension["newTimeAllocation"] == 6 * 3_600_000  # five hours requested, one more by jobs.extend
    assert extended["payload"]["newStatus"]["expiresAt"] - running["payload"]["newStatus"]["expiresAt"] == 3_600_000
    assert [(update["state"], update["status"]) for update in cancelled["payload"]["updates"]] == [
        ("SUCCESS", "Your job has been cancelled!")]
    assert end == {"type": "response", "streamId": "seed", "payload": {}, "status": 200}


# ------------------------------------------------------------------------------------------ with http.client

@contextlib.contextmanager
def _seed_server(scenario: str = "extend-and-terminate") -> Iterator[HttpServer]:
    """The mock as ``ucloud-jobs serve --scenario SCENARIO`` builds it, in this process, on an ephemeral port.

    It also checks its own answers against the spec (which changes no answer); any failure inside it fails
    the test.
    """
    with serving(create_app(scenario=scenario, validate_responses=True)) as server:
        yield server


def _replay(server: HttpServer, steps: list[dict[str, Any]] = STEPS) -> list[tuple[int, str, bytes]]:
    """Send each step as recorded (method, path, query, headers, body); status, Content-Type, body of each."""
    answers = []
    connection = http.client.HTTPConnection(server.host, server.port, timeout=CURL_TIMEOUT)
    try:
        for step in steps:
            target = step["path"] + (f"?{step['query']}" if step["query"] else "")
            connection.putrequest(step["method"], target, skip_accept_encoding=True)
            for header in step["headers"]:  # in order, and the malformed Content-Type just as written
                connection.putheader(header["name"], header["value"].replace("$accessToken", ACCESS_TOKEN))
            body = None if step["body"] is None else step["body"].encode("utf-8")
            if body is not None:
                connection.putheader("Content-Length", str(len(body)))
            connection.endheaders(body)
            response = connection.getresponse()
            answers.append((response.status, response.getheader("Content-Type", ""), response.read()))
    finally:
        connection.close()
    return answers


@pytest.mark.parametrize("era", sorted(ERAS))
def test_the_documented_requests_as_recorded_get_the_documented_answers(era: str) -> None:
    steps, scenario = ERAS[era]
    with _seed_server(scenario) as server:
        answers = _replay(server, steps)
    assert len(answers) == len(steps) == 6
    for step, (status, content_type, body) in zip(steps, answers, strict=True):
        assert (status, content_type) == (step["status"], JSON_TYPE), (
            f"step {step['step']} ({step['call']}): {status} {content_type} {body[:300]!r}")
        check_step(step, body)


def test_the_seed_flow_is_byte_identical_on_two_fresh_servers() -> None:
    runs = []
    for _ in range(2):
        with _seed_server() as server:
            runs.append(_replay(server))
    first, second = runs
    assert len(first) == 6
    for step, one, other in zip(STEPS, first, second, strict=True):
        assert one == other, f"step {step['step']} ({step['call']}) answered differently on the second run"
