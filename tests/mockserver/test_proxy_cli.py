"""``ucloud-jobs proxy`` as people run it: the report and the exit code at Ctrl-C, and a recording of the seed
flow that ``ucloud-jobs serve`` replays with the documented answers."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

from contracts.proxy.histories import Call
from contracts.proxy.recording import Recorder
from contracts.proxy.users import Callers
from contracts.scenario import Scenario
from mockserver.cli import main
from mockserver.proxy import ProxyServer
from mockserver.proxy.recordfile import write_recording
from mockserver.web.app import create_app
from tests.contracts import broken
from tests.contracts.test_proxy_recording import seed_calls
from tests.mockserver.proxy_support import proxy_to, upstream
from tests.mockserver.test_proxy import SEED, direct, play_seed
from tests.serve_process import served

TOKEN = "seed-flow-access-token"


def test_the_seed_recorded_through_the_proxy_is_replayed_by_serve_with_the_documented_answers(tmp_path: Path
                                                                                               ) -> None:
    recording, report = tmp_path / "seed-recorded.yaml", tmp_path / "report.xml"
    with served("--port", "0", "-q") as (_, mock_url), \
            served("--port", "0", "--upstream", mock_url, "--record", str(recording), "--report", str(report),
                   "--format", "junit", subcommand="proxy") as (proxy, proxy_url):
        answers = play_seed(direct(proxy_url))
        assert proxy.stop() == 0
        err = proxy.stderr()
    assert [json.loads(answer[2]) for answer in answers] == [step["response"] for step in SEED]
    assert "ucloud-jobs proxy: 6 calls, 0 request violations (the client's), 0 response violations (drift), 0 " \
           "upstream failures" in err
    text = recording.read_text(encoding="utf-8")
    assert TOKEN not in text
    assert "Replaying it answers every recorded call JSON-equal to what the upstream answered." in text
    suite = ET.parse(report).getroot().find("testsuite")
    assert suite is not None
    assert (suite.get("name"), suite.get("tests"), suite.get("failures")) == ("ucloud-jobs proxy", "12", "0")
    with served("--port", "0", "-q", "--scenario", str(recording)) as (_, replay_url):
        replayed = play_seed(direct(replay_url))
    assert [json.loads(answer[2]) for answer in replayed] == [step["response"] for step in SEED]


@pytest.mark.parametrize(("fail_on", "status"), [("response", 1), ("any", 1), ("request", 0)])
def test_the_exit_code_follows_fail_on(tmp_path: Path, fail_on: str, status: int) -> None:
    report = tmp_path / "report.json"
    with upstream(broken.wrong_type(create_app())) as url, \
            served("--port", "0", "-q", "--upstream", url, "--fail-on", fail_on, "--report", str(report),
                   "--format", "json", subcommand="proxy") as (proxy, proxy_url):
        play_seed(direct(proxy_url))
        assert proxy.stop() == status
        err = proxy.stderr()
    assert "ucloud-jobs proxy: violation: #2 jobs.retrieve response /createdAt: '1633329776235' is not of type " \
           "integer" in err
    files = json.loads(report.read_text(encoding="utf-8"))["files"]
    assert [entry["file"] for entry in files if entry["status"] == "invalid"] == [
        "#2 GET /api/jobs/retrieve response", "#4 GET /api/jobs/retrieve response",
        "#6 GET /api/jobs/retrieve response"]


@pytest.fixture
def no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail at once, instead of serving forever, if a usage error were to get as far as serving."""
    def never(server: ProxyServer) -> None:
        server.stop()
        raise AssertionError("proxy went on to serve despite the usage error")
    monkeypatch.setattr(ProxyServer, "serve_forever", never)


@pytest.mark.usefixtures("no_proxy")
@pytest.mark.parametrize(("args", "words"), [
    (("--upstream", "ftp://example.org"), "--upstream/--cacert: 'ftp://example.org' is not an upstream URL"),
    (("--upstream", "https://user:secret@example.org"), "the upstream URL must not hold credentials"),
    (("--upstream", "http://127.0.0.1:1", "--report", "/no/such/folder/report.xml"),
     "cannot write the report to /no/such/folder/report.xml: no such folder"),
    (("--upstream", "https://127.0.0.1:1", "--cacert", "/no/such/cert.pem"), "--upstream/--cacert: [Errno 2]"),
    (("--upstream", "http://127.0.0.1:1", "--cacert", "/no/such/cert.pem"), "a CA certificate is for an https "
                                                                             "upstream"),
    (("--upstream", "http://127.0.0.1:1", "--host", ""), "cannot listen on :0: '' is not an address"),
])
def test_a_usage_error_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str], args: tuple[str, ...],
                                             words: str) -> None:
    assert main(["proxy", "--port", "0", *args]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("ucloud-jobs proxy: error: ")
    assert err.count("\n") == 1
    assert words in err
    assert "secret" not in err


def test_a_recording_file_spells_out_each_step_without_anchors(tmp_path: Path) -> None:
    recorder = Recorder()
    calls = seed_calls()
    shared = calls[1].request  # the proxy decodes a repeated query once: the retrieves share one document
    for call in calls:
        recorder.add(call if call.call != "jobs.retrieve" else Call(call.call, shared, call.user, call.project,
                                                                    call.wall_ms, call.status, call.response))
    path = tmp_path / "seed recorded.yaml"
    assert write_recording(recorder, path, "http://upstream.invalid", Callers()) == []
    assert write_recording(recorder, tmp_path / "followed.yaml", "http://upstream.invalid", Callers(),
                           websocket_messages=5) == [
        "the 5 WebSocket messages passed on (jobs.follow) are not recorded: on replay the mock computes each "
        "stream's frames from its jobs, and they were not compared"]
    text = path.read_text(encoding="utf-8")
    assert "&id" not in text
    assert "*id" not in text
    assert text.count("includeProduct: false") == 3
    assert "# Replay it with: ucloud-jobs serve --scenario seed recorded.yaml" in text
    assert Scenario.from_mapping(yaml.safe_load(text)).name == "seed-recorded"


def test_a_recording_lists_each_answer_the_scenario_cannot_give_again(tmp_path: Path) -> None:
    with upstream(broken.wrong_type(create_app())) as url, proxy_to(url, record=True) as proxy:
        play_seed(proxy.call)
        assert proxy.app.recorder is not None
        path = tmp_path / "drifted.yaml"
        unheld = write_recording(proxy.app.recorder, path, url, proxy.app.callers)
    retrieves = [line for line in unheld if "(jobs.retrieve) replays differently" in line]
    assert [line.split(" ", 2)[1] for line in retrieves] == ["2", "4", "6"]
    assert all("/createdAt: expected \"1633329776235\", got 1633329776235" in line for line in retrieves)
    text = path.read_text(encoding="utf-8")
    assert "# What this scenario could not hold (replaying it answers these calls differently):" in text
    assert f"#  - {retrieves[0]}" in text


@pytest.mark.parametrize("profile", ["docs", "ucloud"])
def test_the_proxy_process_in_front_of_serve_answers_as_serve_does_and_finds_nothing(profile: str) -> None:
    with served("--port", "0", "-q", "--profile", profile) as (_, behind), \
            served("--port", "0", "-q", "--profile", profile) as (_, beside), \
            served("--port", "0", "-q", "--upstream", behind, subcommand="proxy") as (proxy, proxy_url):
        through = play_seed(direct(proxy_url))
        straight = play_seed(direct(beside))
        assert proxy.stop() == 0
        err = proxy.stderr()
    assert [(answer[0], answer[2]) for answer in through] == [(answer[0], answer[2]) for answer in straight]
    assert [answer[0] for answer in through] == [200] * 6
    assert "proxy: violation:" not in err
    assert "ucloud-jobs proxy: 6 calls, 0 request violations (the client's), 0 response violations (drift), 0 " \
           "upstream failures" in err
