"""Acceptance (issue 3, section 4): the documented flow "Extending a Job and terminating it early", verbatim.

The six requests and the documented responses come from ``tests/data/docs/seed_flow.json``, which
``scripts/extract_docs.py`` extracts from the document (``tests/contracts/test_docs_data.py`` keeps the two in
step). Nothing here is typed by hand: the curl commands run exactly as written, and the answers must be
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

from mockserver.server import HttpServer
from mockserver.web.app import create_app
from tests.mockserver.support import serving
from tests.serve_process import served

FLOW_FILE = Path(__file__).resolve().parents[1] / "data" / "docs" / "seed_flow.json"
FLOW: dict[str, Any] = json.loads(FLOW_FILE.read_text(encoding="utf-8"))
STEPS: list[dict[str, Any]] = FLOW["steps"]
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


def test_the_data_file_holds_the_six_documented_steps() -> None:
    # Guards the tests below against running over an empty or truncated extraction.
    assert [step["call"] for step in STEPS] == ["jobs.create", "jobs.retrieve", "jobs.extend", "jobs.retrieve",
                                                "jobs.terminate", "jobs.retrieve"]
    assert all(step["command"].startswith("curl ") and step["status"] == 200 for step in STEPS)
    assert STEPS[0]["headers"][1] == {"name": "Content-Type",
                                      "value": "content-type: application/json; charset=utf-8"}


# ---------------------------------------------------------------------------------------------- with curl

@contextlib.contextmanager
def _serve(*args: str) -> Iterator[str]:
    """``python -m mockserver serve`` with ``args`` in a subprocess; yields the URL it prints."""
    with served(*args) as (_, url):
        yield url


@pytest.mark.skipif(shutil.which("curl") is None or shutil.which("bash") is None,
                    reason="the seed's commands are curl commands for a POSIX shell: needs curl and bash on PATH")
def test_the_seed_curl_commands_run_verbatim_against_ucloud_jobs_serve() -> None:
    with _serve("--port", "0") as url:
        environment = {**os.environ, "host": url, "accessToken": ACCESS_TOKEN}
        # The commands are the document's; a proxy configured on this machine is not part of them.
        for name in ("http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"):
            environment.pop(name, None)
        environment["no_proxy"] = environment["NO_PROXY"] = "*"
        for step in STEPS:
            done = subprocess.run(["bash", "-c", step["command"]], env=environment, capture_output=True,
                                  timeout=CURL_TIMEOUT, check=False)
            assert done.returncode == 0, (f"step {step['step']}: curl exited {done.returncode}: "
                                          f"{done.stderr.decode(errors='replace')}")
            check_step(step, done.stdout)


# ------------------------------------------------------------------------------------------ with http.client

@contextlib.contextmanager
def _seed_server() -> Iterator[HttpServer]:
    """The mock as ``ucloud-jobs serve`` builds it with no options, in this process, on an ephemeral port.

    It also checks its own answers against the spec (which changes no answer); any failure inside it fails
    the test.
    """
    with serving(create_app(validate_responses=True)) as server:
        yield server


@pytest.fixture
def seed_server() -> Iterator[HttpServer]:
    """See ``_seed_server``."""
    with _seed_server() as server:
        yield server


def _replay(server: HttpServer) -> list[tuple[int, str, bytes]]:
    """Send each step as recorded (method, path, query, headers, body); status, Content-Type, body of each."""
    answers = []
    connection = http.client.HTTPConnection(server.host, server.port, timeout=CURL_TIMEOUT)
    try:
        for step in STEPS:
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


def test_the_seed_requests_as_recorded_get_the_documented_answers(seed_server: HttpServer) -> None:
    answers = _replay(seed_server)
    assert len(answers) == len(STEPS) == 6
    for step, (status, content_type, body) in zip(STEPS, answers, strict=True):
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
