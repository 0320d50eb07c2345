"""Scenarios are data: a new flow is a new YAML file; a malformed one is refused, naming the field."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from contracts.errors import ContractError
from contracts.scenario import load_scenario
from contracts.spec import default_spec
from tests.mockserver.support import SECOND_MS, ApiClient, AppFactory, query

SCENARIOS = Path(__file__).resolve().parents[1] / "data" / "scenarios"
BATCH = SCENARIOS / "batch-job-ends.yaml"
# What batch-job-ends.yaml says: its clock starts at START, jobs leave the queue after 10 s, the provider ends
# job 1 with SUCCESS after 90 s and job 2 with FAILURE after 40 s, with these messages.
START = 1_700_000_000_000
QUEUED, RUNNING = "The job is waiting for a node", "The job is now running"
FINISHED, FAILED = "The job is no longer running", "The node running the job failed"


def replay(client: ApiClient, path: Path) -> tuple[list[str], list[dict[str, Any]]]:
    """Send the scenario's steps as written; the created ids and the answers of its retrieve steps."""
    created: list[str] = []
    retrieved = []
    for step in load_scenario(path).steps:
        operation = default_spec().operation(step.call)
        request = step.bind(created)
        if operation.method == "GET":
            response = client.get(f"{operation.path}?{query(**request)}")
        else:
            response = client.post(operation.path, request)
        assert response.status_code == step.expect_status, (step, response.json)
        if step.call == "jobs.create":
            created += [item["id"] for item in response.json["responses"]]
        if step.call == "jobs.retrieve":
            retrieved.append(response.json)
    return created, retrieved


def history(job: dict[str, Any]) -> list[tuple[str | None, str | None, int]]:
    return [(update["state"], update["status"], update["timestamp"]) for update in job["updates"]]


def loaded(client: ApiClient) -> dict[str, Any]:
    """The scenario, profile, clock and job count the admin API reports (not the request count, which reads move)."""
    state: dict[str, Any] = client.get("/_mock/scenario").json
    del state["requests"]
    return state


def check_batch_flow(client: ApiClient) -> None:
    created, (at_30s, at_1min, at_2min) = replay(client, BATCH)
    assert created == ["500", "501"]
    queued, running = (("IN_QUEUE", QUEUED, START), ("RUNNING", RUNNING, START + 10 * SECOND_MS))
    assert history(at_30s) == [queued, running]
    assert at_1min["status"]["state"] == "FAILURE"
    assert history(at_1min) == [queued, running, ("FAILURE", FAILED, START + 40 * SECOND_MS)]
    assert at_2min["status"]["state"] == "SUCCESS"
    assert history(at_2min) == [queued, running, ("SUCCESS", FINISHED, START + 90 * SECOND_MS)]
    # The script is over: the scenario ticks one second per request, and the terminate changed nothing.
    after = client.retrieve(created[0], includeUpdates=True)
    assert client.now() == START + 2 * 60 * SECOND_MS + SECOND_MS
    assert after == at_2min
    assert after["status"]["expiresAt"] == START + 10 * SECOND_MS + 3_600_000  # ucloud: startedAt + 1 h, kept


def test_a_new_flow_is_a_yaml_file_loaded_by_path(make_app: AppFactory) -> None:
    app = make_app(scenario=str(BATCH))
    assert (app.engine.scenario.name, app.engine.profile.name) == ("batch-job-ends", "ucloud")
    check_batch_flow(ApiClient(app))


def test_a_new_flow_is_loaded_by_name_from_a_scenario_folder(make_app: AppFactory) -> None:
    client = ApiClient(make_app(scenario_dirs=[SCENARIOS]))
    client.create_job()
    client.advance(12_345)
    assert "batch-job-ends" in client.get("/_mock/scenario").json["available"]
    response = client.post("/_mock/scenario", {"name": "batch-job-ends"})
    assert response.status_code == 200
    state = {key: value for key, value in response.json.items() if key not in ("evicted", "limits")}
    assert state == {"scenario": "batch-job-ends", "profile": "ucloud", "era": "2021", "nowMs": START,
                     "jobs": 0, "requests": 0, "script": {"played": 0, "steps": 5, "next": "jobs.create"}}
    check_batch_flow(client)


def test_loading_a_scenario_may_choose_the_profile(make_app: AppFactory) -> None:
    client = ApiClient(make_app(scenario_dirs=[SCENARIOS]))
    response = client.post("/_mock/scenario", {"name": "batch-job-ends", "profile": "docs"})
    assert response.json["profile"] == "docs"
    (job_id,) = client.create(load_scenario(BATCH).steps[0].request["items"][0])
    assert client.retrieve(job_id)["permissions"] is None  # the docs profile's rendering


# ---------------------------------------------------------------------------------------------- malformed files

VALID_HEAD = "name: broken\n"
MALFORMED = [
    ("- a list\n", "/: an array of 1 item is not of type object"),
    ("name: [1\n", "not valid YAML"),
    ("title: no name\n", "/name: required field is missing"),
    ("name: ../escape\n", "/name: '../escape' does not match"),
    (VALID_HEAD + "colour: blue\n", "/: Additional properties are not allowed ('colour' was unexpected)"),
    (VALID_HEAD + "profile: realistic\n", "/profile: 'realistic' is not one of docs, ucloud"),
    (VALID_HEAD + "era: 1999\n", "/era: '1999' is not one of 2021, 2024"),
    (VALID_HEAD + "clock: 5\n", "/clock: 5 is not of type object"),
    (VALID_HEAD + "clock: {start: -1}\n", "/clock/start: -1 is less than the minimum of 0"),
    (VALID_HEAD + "clock: {start: soon}\n", "/clock/start: 'soon' is not of type integer"),
    (VALID_HEAD + "clock: {afterScript: sometimes}\n", "/clock/afterScript: 'sometimes' is not hold or {tick: "),
    (VALID_HEAD + "clock: {afterScript: {tick: fast}}\n", "/clock/afterScript: an object is not hold or {tick: "),
    (VALID_HEAD + "ids: {first: one}\n", "/ids/first: 'one' is not of type integer"),
    (VALID_HEAD + "queueDelay: 5 parsecs\n", "/queueDelay: '5 parsecs' is not a duration (milliseconds, or text"),
    (VALID_HEAD + "queueDelay: -5\n", "/queueDelay: -5 is not a duration"),
    (VALID_HEAD + "user: ''\n", "/user: 0 characters, fewer than the minimum of 1"),
    (VALID_HEAD + "messages: {queued: 5}\n", "/messages/queued: 5 is not of type string or null"),
    (VALID_HEAD + "messages: {greeting: hi}\n", "/messages: Additional properties are not allowed ('greeting'"),
    (VALID_HEAD + "steps: {at: 0s}\n", "/steps: an object is not of type array"),
    (VALID_HEAD + "steps: [{at: 0s, call: create}]\n", "/steps/0/call: 'create' does not match"),
    (VALID_HEAD + "steps: [{at: 0s, call: jobs.delete}]\n", "/steps/0/call: 'jobs.delete' is not a call of the Jobs"),
    (VALID_HEAD + "steps: [{at: 0s, call: jobs.create, request: {items: []}}]\n",
     "/steps/0/request/items: 0 items, fewer than the minimum of 1"),
    (VALID_HEAD + "steps: [{at: 0s, call: jobs.create, body: {}}]\n", "/steps/0: Additional properties are not "
                                                                      "allowed ('body' was unexpected)"),
    (VALID_HEAD + "steps: [{at: yesterday, call: jobs.create}]\n", "/steps/0/at: 'yesterday' is not a duration"),
    (VALID_HEAD + "steps: [{call: jobs.create, expect: {status: 999}}]\n",
     "/steps/0/expect/status: 999 is greater than the maximum of 599"),
    (VALID_HEAD + "events: [{after: 90s, state: DONE}]\n", "/events/0/state: 'DONE' is not one of IN_QUEUE, RUNNING"),
    (VALID_HEAD + "events: [{after: 90s, job: 0, state: SUCCESS}]\n", "/events/0/job: 0 is not a job"),
    (VALID_HEAD + "events: [{after: 90s, status: 5}]\n", "/events/0/status: 5 is not of type string or null"),
    (VALID_HEAD + "events: [{job: 1}]\n", "/events/0/after: required field is missing"),
    (VALID_HEAD + "products: [{id: x, category: x}]\n", "/products/0/provider: required field is missing"),
    (VALID_HEAD + "projects: {p1: {admins: [alice]}}\n", "/projects/p1/pi: required field is missing"),
    (VALID_HEAD + "faults: [5]\n", "/faults/0: 5 is not of type object"),
    (VALID_HEAD + "faults: [{operation: jobs.delete, status: 503}]\n", "faults[0]: unknown operation"),
    (VALID_HEAD + "faults: [{operation: jobs.retrieve, status: 200}]\n", "faults[0]: status"),
    (VALID_HEAD + "faults: [{operation: jobs.retrieve, latencyMs: -1}]\n", "faults[0]: latencyMs"),
]


@pytest.mark.parametrize(("text", "named"), MALFORMED)
def test_a_malformed_scenario_file_is_a_contract_error_naming_the_field(make_app: AppFactory, tmp_path: Path,
                                                                         text: str, named: str) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ContractError) as raised:
        make_app(scenario=str(path))
    assert named in str(raised.value)
    assert str(path) in str(raised.value)


@pytest.mark.parametrize(("text", "named"), MALFORMED)
def test_loading_a_malformed_scenario_through_the_admin_api_changes_nothing(make_app: AppFactory, tmp_path: Path,
                                                                            text: str, named: str) -> None:
    (tmp_path / "broken.yaml").write_text(text, encoding="utf-8")
    client = ApiClient(make_app(scenario_dirs=[tmp_path]))
    client.create_job()
    client.post("/_mock/faults", {"faults": [{"operation": "jobs.search", "latencyMs": 5}]})
    before = (loaded(client), client.get("/_mock/faults").json, client.snapshot())
    response = client.post("/_mock/scenario", {"name": "broken"})
    assert 400 <= response.status_code < 500
    assert named in response.json["why"]
    assert (loaded(client), client.get("/_mock/faults").json, client.snapshot()) == before


@pytest.mark.parametrize("name", ["../../etc/passwd", "/etc/passwd", str(BATCH), "batch-job-ends.yaml", "..", "",
                                  "../scenarios/batch-job-ends", "extend-and-terminate/../../x", "nope", 5, None])
def test_the_admin_api_loads_scenarios_by_name_only(make_app: AppFactory, name: Any) -> None:
    client = ApiClient(make_app(scenario_dirs=[SCENARIOS]))
    client.create_job()
    before = (loaded(client), client.snapshot())
    response = client.post("/_mock/scenario", {"name": name})
    assert 400 <= response.status_code < 500
    assert (loaded(client), client.snapshot()) == before
