"""contracts.proxy.recording: a recorded session as a scenario, inferred from the answers alone."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from contracts.proxy.histories import Call
from contracts.proxy.recording import Recorder
from contracts.proxy.timing import readings
from contracts.scenario import Scenario

SEED = json.loads((Path(__file__).resolve().parents[1] / "data" / "docs" / "seed_flow.json").read_text())["steps"]
T0 = 1633329776235
WALL = 1_764_000_000_000  # the proxy's clock: nothing like the mock's virtual one


def seed_calls(user: str = "user", wall_step: int = 3) -> list[Call]:
    """The seed flow as the proxy would record it: calls a few ms apart on the wall clock."""
    calls = []
    for number, step in enumerate(SEED):
        request = step["request"]
        if step["method"] == "GET":
            request = {"includeProduct": False, "includeOthers": False, "includeUpdates": False,
                       "includeSupport": False, "id": "62348"}
        calls.append(Call(step["call"], request, user, None, WALL + number * wall_step, step["status"],
                          step["response"]))
    return calls


def test_readings_follow_anchors_bounds_and_the_proxys_timing() -> None:
    walls = [1000, 1002, 1004, 1006, 1008, 1010]
    clock, notes = readings(walls, {0: 50_000, 4: 90_000}, [0, 55_000, 0, 0, 0, 0])
    assert clock == [50_000, 55_000, 55_000, 55_000, 90_000, 90_002]
    assert notes == []


def test_readings_before_the_first_anchor_take_its_offset_and_never_go_back() -> None:
    clock, notes = readings([1000, 1500, 2000], {1: 10_000, 2: 9_000}, [0, 0, 0])
    assert clock == [9_500, 10_000, 10_000]
    assert notes == ["call 3: the upstream's clock read 9000, before the 10000 of an earlier call; the recording "
                     "keeps the clock from going back"]


def test_the_seed_recorded_becomes_the_seed_scenario() -> None:
    recorder = Recorder()
    for call in seed_calls():
        recorder.add(call)
    recording = recorder.build("seed", "the seed")
    document = recording.document
    assert recording.unheld == ()
    assert {key: document[key] for key in ("profile", "era", "clock", "queueDelay", "user")} == {
        "profile": "docs", "era": "2021", "clock": {"start": T0, "afterScript": "hold"}, "queueDelay": 5000,
        "user": "user"}
    assert document["messages"] == {"queued": "Your job is now waiting in the queue!",
                                    "running": "Your job is now running!", "cancelled": "Your job has been cancelled!"}
    assert [(step["call"], step["at"]) for step in document["steps"]] == [
        ("jobs.create", 0), ("jobs.retrieve", 5000), ("jobs.extend", 5000), ("jobs.retrieve", 5000),
        ("jobs.terminate", 7_205_000), ("jobs.retrieve", 7_205_003)]
    assert document["steps"][0]["ids"] == ["62348"]
    assert not {"events", "jobs", "products"} & set(document)
    Scenario.from_mapping(document)  # the format takes it


def test_a_placeholder_caller_takes_the_name_of_the_jobs_it_created() -> None:
    recorder = Recorder()
    for call in seed_calls(user="user-7"):
        recorder.add(call)
    document = recorder.build("seed", "", is_placeholder=lambda name: name == "user-7").document
    assert document["user"] == "user"
    assert all("user" not in step for step in document["steps"])


def test_the_providers_own_change_is_an_event_and_an_earlier_job_a_preset() -> None:
    calls = seed_calls()
    failed = copy.deepcopy(SEED[5]["response"])
    failed["updates"][2] = {**failed["updates"][2], "state": "FAILURE", "status": "Node crashed"}
    failed["status"]["state"] = "FAILURE"
    calls[4:] = [Call("jobs.retrieve", calls[3].request, "user", None, WALL + 20, 200, failed)]
    older: dict[str, Any] = {**copy.deepcopy(SEED[1]["response"]), "id": "100", "createdAt": T0 - 60_000}
    older["updates"] = [{**update, "timestamp": T0 - 60_000 + index * 1000}
                        for index, update in enumerate(older["updates"])]
    calls.append(Call("jobs.retrieve", {"id": "100"}, "user", None, WALL + 30, 200, older))
    recorder = Recorder()
    for call in calls:
        recorder.add(call)
    document = recorder.build("crash", "").document
    assert document["events"] == [{"job": "62348", "after": 7_205_000, "state": "FAILURE", "status": "Node crashed"}]
    assert document["jobs"][0]["id"] == "100"
    assert document["jobs"][0]["updates"] == [{"after": 1000, "state": "RUNNING",
                                               "status": "Your job is now running!"}]
    Scenario.from_mapping(document)


def test_a_call_that_is_not_a_step_is_listed_and_the_recorder_is_bounded() -> None:
    recorder = Recorder(limit=2)
    calls = seed_calls()
    recorder.add(calls[0])
    recorder.add(Call("jobs.retrieve", None, "user", None, WALL, 401, {"why": "Unauthorized"}, step=False),
                 "the mock refuses it before its script")
    recorder.add(calls[2])
    recording = recorder.build("short", "")
    assert [step["call"] for step in recording.document["steps"]] == ["jobs.create"]
    assert recording.unheld == ("call 2 (jobs.retrieve, answered 401) is not a step: the mock refuses it before its "
                                "script", "the recording stopped after 2 calls; 1 more were not recorded")
