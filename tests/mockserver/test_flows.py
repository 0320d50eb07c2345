"""UCloud's other documented Jobs flows, each written as a scenario file from REFERENCE.md and the type pages
(examples/scenarios/), replayed step by step: every answer has the expected status, validates, keeps the
invariants (contracts' own replay), and shows what the flow is about."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from contracts.scenario import Scenario, load_scenario
from contracts.testing.transport import Reply, WsgiTransport
from contracts.testing.verify import replay_scenario
from mockserver.web.app import MockApp, create_app

FLOWS = Path(__file__).resolve().parents[2] / "examples" / "scenarios"


def _users(scenario: Scenario) -> tuple[str, ...]:
    others = sorted({step.user for step in scenario.steps if step.user and step.user != scenario.user})
    return (scenario.user, *(others or ["someone-else"]))


@pytest.fixture
def flow(request: pytest.FixtureRequest) -> Iterator[tuple[Scenario, MockApp, WsgiTransport]]:
    scenario = load_scenario(FLOWS / f"{request.param}.yaml")
    app = create_app(scenario=scenario, validate_responses=True)
    yield scenario, app, transport(app, scenario)
    assert app.take_errors() == []


def transport(app: MockApp, scenario: Scenario) -> WsgiTransport:
    """The app in process, able to follow jobs with its own streams."""
    return WsgiTransport(app, users=_users(scenario), control=app.control,
                         follower=lambda job_id, user, project: app.follow(job_id, user=user, project=project))


def replay(scenario: Scenario, transport: WsgiTransport) -> list[Reply]:
    created: list[str] = []
    replies = []
    for step in scenario.steps:
        user = transport.users[0] if step.user in (None, scenario.user) else step.user
        if step.call == "jobs.follow":  # tested with the app's own stream: test_following_a_job
            continue
        reply = transport.call(step.call, step.bind(created), user=user, project=step.project)
        assert reply.status == step.expect_status, (step.note, reply.body)
        if step.call == "jobs.create" and reply.status == 200:
            created += [entry["id"] for entry in reply.body["responses"]]
        replies.append(reply)
    return replies


def test_every_flow_is_a_scenario_file_and_nothing_else() -> None:
    assert sorted(path.name for path in FLOWS.iterdir()) == [
        "follow-a-job.yaml", "out-of-credits.yaml", "peers.yaml", "shared-then-revoked.yaml",
        "terminal-on-running-job.yaml", "vnc-session.yaml", "web-session.yaml"]


@pytest.mark.parametrize("name", sorted(path.stem for path in FLOWS.glob("*.yaml")))
def test_contracts_replay_finds_nothing(name: str) -> None:
    scenario = load_scenario(FLOWS / f"{name}.yaml")
    app = create_app(scenario=scenario, validate_responses=True)
    assert replay_scenario(transport(app, scenario), scenario, profile=scenario.profile) is None
    assert app.take_errors() == []


def sessions(reply: Reply) -> list[dict[str, Any]]:
    return [entry["session"] for entry in reply.body["responses"]]


@pytest.mark.parametrize("flow", ["web-session"], indirect=True)
def test_a_web_session(flow: tuple[Scenario, MockApp, WsgiTransport]) -> None:
    scenario, _, transport = flow
    created, queued, opened, job = replay(scenario, transport)
    assert created.body == {"responses": [{"id": "7001"}]}
    assert queued.body["why"] == "Job 7001 is not running"
    assert opened.body == {"responses": [{"providerDomain": "https://k8s.example.com", "providerId": "example",
                                          "session": {"type": "web", "jobId": "7001", "rank": 0,
                                                      "redirectClientTo": "https://app-7001.k8s.example.com/",
                                                      "domainOverride": None}}]}
    assert [update["state"] for update in job.body["updates"]] == ["IN_QUEUE", "RUNNING"]


@pytest.mark.parametrize("flow", ["vnc-session"], indirect=True)
def test_a_vnc_session(flow: tuple[Scenario, MockApp, WsgiTransport]) -> None:
    scenario, _, transport = flow
    _, vnc, web = replay(scenario, transport)
    assert sessions(vnc) == [{"type": "vnc", "jobId": "7101", "rank": 0, "url": "wss://vm.example.com/vnc/7101",
                              "password": "desk-7101-1", "domainOverride": None}]
    assert web.body == {"why": "This job does not support web sessions",
                        "errorCode": "FEATURE_NOT_SUPPORTED_BY_PROVIDER"}


@pytest.mark.parametrize("flow", ["terminal-on-running-job"], indirect=True)
def test_a_terminal_on_a_job_created_before_the_flow(flow: tuple[Scenario, MockApp, WsgiTransport]) -> None:
    scenario, _, transport = flow
    browsed, shell, missing = replay(scenario, transport)
    [job] = browsed.body["items"]
    assert (job["id"], job["status"]["state"], job["createdAt"], job["specification"]["replicas"]) == (
        "4100", "RUNNING", 1700000000000, 2)
    assert sessions(shell) == [{"type": "shell", "jobId": "4100", "rank": 1, "sessionIdentifier": "shell-4100-1-1",
                                "domainOverride": None}]
    assert missing.body["why"] == "Job 4100 has no rank 2 (ranks 0 to 1)"


@pytest.mark.parametrize("flow", ["peers"], indirect=True)
def test_a_two_replica_job_with_a_peer_of_a_non_consecutive_id(flow: tuple[Scenario, MockApp,
                                                                           WsgiTransport]) -> None:
    scenario, _, transport = flow
    server, client, job, shells = replay(scenario, transport)
    assert (server.body, client.body) == ({"responses": [{"id": "4101"}]}, {"responses": [{"id": "4150"}]})
    assert job.body["specification"]["resources"] == [{"type": "peer", "hostname": "db", "jobId": "4101"}]
    assert job.body["specification"]["replicas"] == 2
    assert [session["rank"] for session in sessions(shells)] == [0, 1]


@pytest.mark.parametrize("flow", ["out-of-credits"], indirect=True)
def test_a_job_that_runs_out_of_credits(flow: tuple[Scenario, MockApp, WsgiTransport]) -> None:
    scenario, _, transport = flow
    _, running, ended, extended = replay(scenario, transport)
    assert running.body["status"]["state"] == "RUNNING"
    last = ended.body["updates"][-1]
    assert (ended.body["status"]["state"], last["state"], last["timestamp"]) == (
        "FAILURE", "FAILURE", 1700000000000 + 45 * 60_000)
    assert last["status"] == ("Your job has been terminated because your allocation of example-compute has run "
                              "out of credits")
    assert extended.body == {"responses": [{}]}


@pytest.mark.parametrize("flow", ["shared-then-revoked"], indirect=True)
def test_a_job_shared_with_and_revoked_from_a_project_member(flow: tuple[Scenario, MockApp,
                                                                         WsgiTransport]) -> None:
    scenario, app, transport = flow
    replies = replay(scenario, transport)
    seen = replies[3].body
    assert (seen["owner"], seen["permissions"]["myself"]) == ({"createdBy": "alice", "project": "research"},
                                                              ["READ"])
    assert [reply.status for reply in replies] == [200, 404, 200, 200, 404, 200, 404]
    assert [job.state for job in app.engine.jobs()] == ["RUNNING"]  # bob's terminate ended nothing


# The documented stream of "Following the progress of a Job" (reference/jobs_follow.md, REFERENCE.md §4.7), message
# by message; the page renders each JobStatus with its seven fields and each JobUpdate with six.
DOCUMENTED_STATUS = {"state": None, "jobParametersJson": None, "startedAt": None, "expiresAt": None,
                     "resolvedApplication": None, "resolvedSupport": None, "resolvedProduct": None}
DOCUMENTED_UPDATE = {"state": None, "outputFolder": None, "status": None, "expectedState": None,
                     "expectedDifferentState": None, "timestamp": 1633680152778}
BASH = ("GNU bash, version 5.0.17(1)-release (x86_64-pc-linux-gnu)\nCopyright (C) 2019 Free Software Foundation, "
        "Inc.\nLicense GPLv3+: GNU GPL version 3 or later <http://gnu.org/licenses/gpl.html>\n\nThis is free "
        "software; you are free to change and redistribute it.\nThere is NO WARRANTY, to the extent permitted by law.")
DOCUMENTED_STREAM = [
    {"log": [], "newStatus": {**DOCUMENTED_STATUS, "state": "IN_QUEUE"}, "updates": []},
    {"log": [], "newStatus": {**DOCUMENTED_STATUS, "state": "RUNNING"},
     "updates": [{**DOCUMENTED_UPDATE, "state": "RUNNING", "status": "The job is now running"}]},
    {"log": [{"rank": 0, "stderr": None, "stdout": BASH}], "newStatus": {**DOCUMENTED_STATUS, "state": "RUNNING"},
     "updates": []},
    {"log": [], "newStatus": {**DOCUMENTED_STATUS, "state": "SUCCESS"},
     "updates": [{**DOCUMENTED_UPDATE, "state": "SUCCESS", "status": "The job is no longer running"}]},
]


@pytest.mark.parametrize("flow", ["follow-a-job"], indirect=True)
def test_following_a_job(flow: tuple[Scenario, MockApp, WsgiTransport]) -> None:
    scenario, app, _ = flow
    [step] = scenario.steps
    stream = app.follow(step.request["id"])  # plays the step: the follow call
    first = list(stream)
    assert app.control.now_ms() == scenario.clock_start_ms
    app.control.advance(1000)  # the documented instant: the job runs, writes its output and ends
    frames = first + list(stream)
    assert [frame["payload"] for frame in frames[:-1]] == DOCUMENTED_STREAM
    assert frames[-1] == {"type": "response", "streamId": "0", "payload": {}, "status": 200}
    assert all(frame["streamId"] == "0" for frame in frames)
    assert app.journal.snapshot()["entries"] == []  # in process, no request was journaled
