"""The virtual clock: no wall time, moved only when told, events stamped with their own time, scripted steps."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from mockserver.domain.clock import VirtualClock
from tests.mockserver.support import (
    FIRST_ID,
    HOUR_MS,
    QUEUE_DELAY_MS,
    SECOND_MS,
    T0,
    ApiClient,
    AppFactory,
    job_spec,
)

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
LAST_MS = (datetime(9999, 12, 31, 23, 59, 59, 999_000, tzinfo=timezone.utc) - EPOCH) // timedelta(milliseconds=1)


def _no_wall_time(*args: Any) -> Any:
    raise AssertionError("the mock read the wall clock")


def _flow(client: ApiClient) -> list[bytes]:
    """A bit of everything, with the clock moved in between; the raw bodies of every answer."""
    answers = []
    first = client.post("/api/jobs", {"items": [job_spec(name="first"), job_spec(timeAllocation=None)]})
    answers.append(first.get_data())
    client.advance(QUEUE_DELAY_MS)
    job_id = first.json["responses"][0]["id"]
    for url in (f"/api/jobs/retrieve?id={job_id}&includeUpdates=true&includeParameters=true",
                "/api/jobs/browse?includeOthers=true&includeApplication=true&includeSupport=true"):
        answers.append(client.get(url).get_data())
    extend = {"items": [{"jobId": job_id, "requestedTime": {"hours": 1, "minutes": 2, "seconds": 3}}]}
    answers.append(client.post("/api/jobs/extend", extend).get_data())
    client.advance(HOUR_MS)
    answers.append(client.post("/api/jobs/suspend", {"items": [{"id": job_id}]}).get_data())
    answers.append(client.post("/api/jobs/search", {"query": "FIRST", "flags": {"includeUpdates": True}}).get_data())
    client.advance(7 * HOUR_MS)
    answers.append(client.post("/api/jobs/terminate", {"items": [{"id": job_id}]}).get_data())
    answers.append(client.get("/api/jobs/browse?includeUpdates=true").get_data())
    return answers


@pytest.mark.parametrize("scenario", ["extend-and-terminate", None])
def test_same_requests_give_byte_identical_answers_without_wall_time(make_app: AppFactory, profile: str,
                                                                      scenario: str | None,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    options = {"scenario": scenario} if scenario else {}
    one = _flow(ApiClient(make_app(profile=profile, **options)))
    monkeypatch.setattr(time, "time", _no_wall_time)
    monkeypatch.setattr(time, "time_ns", _no_wall_time)
    two = _flow(ApiClient(make_app(profile=profile, **options)))
    assert one == two
    assert f'"{FIRST_ID}"'.encode() in one[0]


def test_the_clock_moves_only_when_told(client: ApiClient) -> None:
    assert client.now() == T0
    job_id = client.create_job()
    for _ in range(20):
        client.retrieve(job_id)
        client.browse()
    assert client.now() == T0
    assert client.retrieve(job_id)["status"]["state"] == "IN_QUEUE"
    assert client.advance(1234) == T0 + 1234
    assert client.app.engine.advance(766) == T0 + 2000
    assert client.now() == T0 + 2000


def test_an_injected_virtual_clock_keeps_its_time(make_app: AppFactory) -> None:
    clock = VirtualClock(5_000_000)
    client = ApiClient(make_app(clock=clock))
    assert client.now() == 5_000_000
    job_id = client.create_job()
    assert client.retrieve(job_id)["createdAt"] == 5_000_000
    clock.advance(QUEUE_DELAY_MS)
    assert client.retrieve(job_id)["status"]["state"] == "RUNNING"


def test_transitions_are_stamped_with_their_due_time_not_the_reading(make_app: AppFactory) -> None:
    client = ApiClient(make_app(profile="ucloud"))
    early = client.create_job()
    client.advance(SECOND_MS)
    late = client.create_job()
    client.advance(10 * HOUR_MS)  # one jump past both queue delays and both expiries
    for job_id, created in ((early, T0), (late, T0 + SECOND_MS)):
        job = client.retrieve(job_id, includeUpdates=True)
        started = created + QUEUE_DELAY_MS
        assert [(u["state"], u["timestamp"]) for u in job["updates"]] == [
            ("IN_QUEUE", created), ("RUNNING", started), ("EXPIRED", started + 5 * HOUR_MS)]
        assert job["status"]["startedAt"] == started


def test_events_fall_due_when_the_clock_is_read_too(client: ApiClient) -> None:
    job_id = client.create_job()
    clock = client.app.engine.clock
    assert isinstance(clock, VirtualClock)
    clock.advance(QUEUE_DELAY_MS)  # the bare clock: nothing has been applied yet
    assert client.app.engine.store.get(job_id).state == "IN_QUEUE"  # type: ignore[union-attr]
    assert client.now() == T0 + QUEUE_DELAY_MS
    assert client.app.engine.store.get(job_id).state == "RUNNING"  # type: ignore[union-attr]


# ---------------------------------------------------------------------------------------------- scripted steps

SEED_CALLS = ["jobs.create", "jobs.retrieve", "jobs.extend", "jobs.retrieve", "jobs.terminate", "jobs.retrieve"]
# DESIGN.md: the job is created at T0, runs 5 s later, and is terminated at +2 h 0 min 5 s.
SEED_TIMES = [0, 5 * SECOND_MS, 5 * SECOND_MS, 5 * SECOND_MS, 2 * HOUR_MS + 5 * SECOND_MS, 2 * HOUR_MS + 5 * SECOND_MS]


def _seed_step(client: ApiClient, call: str, job_id: str) -> None:
    if call == "jobs.create":
        assert client.create_job() == job_id
    elif call == "jobs.retrieve":
        client.retrieve(job_id, includeProduct=False, includeOthers=False, includeUpdates=False,
                        includeSupport=False)
    elif call == "jobs.extend":
        client.extend(job_id, hours=1)
    else:
        client.act("terminate", job_id)


def test_the_seeds_steps_set_the_clock_request_by_request(make_app: AppFactory) -> None:
    client = ApiClient(make_app(scenario="extend-and-terminate"))
    job_id = str(FIRST_ID)
    for call, at in zip(SEED_CALLS, SEED_TIMES, strict=True):
        _seed_step(client, call, job_id)
        assert client.now() == T0 + at, call
    job = client.retrieve(job_id)  # the script is over and the seed holds the clock
    assert client.now() == T0 + SEED_TIMES[-1]
    assert job["updates"][-1]["timestamp"] == 1633336981235  # REFERENCE.md §4.2: the cancellation's stamp


def test_a_scripted_step_never_moves_the_clock_back(make_app: AppFactory) -> None:
    client = ApiClient(make_app(scenario="extend-and-terminate"))
    job_id = client.create_job()
    now = client.advance(3 * HOUR_MS)
    client.retrieve(job_id)  # the second step is scripted at +5 s, which is in the past now
    assert client.now() == now


def _scenario_file(tmp_path: Path, after: str) -> str:
    path = tmp_path / "steps.yaml"
    path.write_text(f"name: steps\nclock: {{start: 1000000, afterScript: {after}}}\nsteps:\n"
                    "  - {at: 0s, call: jobs.create}\n  - {at: 10s, call: jobs.browse}\n", encoding="utf-8")
    return str(path)


@pytest.mark.parametrize(("after", "times"), [
    ("hold", [1_000_000, 1_010_000, 1_010_000, 1_010_000, 1_010_000 + 500]),
    ("{tick: 1s}", [1_000_000, 1_010_000, 1_011_000, 1_012_000, 1_013_000 + 500]),
    ("{tick: 250ms}", [1_000_000, 1_010_000, 1_010_250, 1_010_500, 1_010_750 + 500]),
])
def test_after_the_script_the_clock_holds_or_ticks_per_request(make_app: AppFactory, tmp_path: Path, after: str,
                                                               times: list[int]) -> None:
    client = ApiClient(make_app(scenario=_scenario_file(tmp_path, after)))
    seen = []
    for index in range(len(times)):
        if index == len(times) - 1:
            client.advance(500)  # a test's own move comes on top of the tick
        if index == 0:
            client.create_job()  # the script's first step
        else:
            client.browse()  # the second, then past the script
        seen.append(client.now())
    assert seen == times


def test_a_request_off_the_script_is_served_on_the_clock_as_it_stands(make_app: AppFactory) -> None:
    """Probes, typos and other calls neither move the clock nor use up the step that waits for its call."""
    client = ApiClient(make_app(scenario="extend-and-terminate"))
    assert client.get(f"/api/jobs/retrieve?id={FIRST_ID}").status_code == 404  # the README's probe, first
    assert client.request("HEAD", "/api/jobs/browse").status_code == 200
    assert client.browse()["items"] == []
    state = client.get("/_mock/scenario").json
    assert (state["requests"], state["script"]) == (3, {"played": 0, "steps": 6, "next": "jobs.create"})
    _seed_step(client, "jobs.create", str(FIRST_ID))
    assert client.get("/api/jobs/retrieve?id=nope").status_code == 404  # refused: plays no step
    for call, at in list(zip(SEED_CALLS, SEED_TIMES, strict=True))[1:]:
        _seed_step(client, call, str(FIRST_ID))
        assert client.now() == T0 + at, call
    scripts = [entry["script"] for entry in client.get("/_mock/journal").json["entries"]]
    assert scripts == ["off script: step 1 of 6 expects jobs.create", "off script: step 1 of 6 expects jobs.create",
                       "off script: step 1 of 6 expects jobs.create", "step 1 of 6",
                       "off script: step 2 of 6 expects jobs.retrieve", "step 2 of 6", "step 3 of 6", "step 4 of 6",
                       "step 5 of 6", "step 6 of 6"]


# ---------------------------------------------------------------------------------------------- the admin clock


def test_the_admin_clock_reads_advances_and_sets(client: ApiClient) -> None:
    assert client.get("/_mock/clock").json == {"nowMs": T0}
    assert client.post("/_mock/clock", {"advanceMs": 1500}).json == {"nowMs": T0 + 1500}
    assert client.post("/_mock/clock", {"setMs": T0 + HOUR_MS}).json == {"nowMs": T0 + HOUR_MS}
    assert client.post("/_mock/clock", {"setMs": T0 + HOUR_MS}).json == {"nowMs": T0 + HOUR_MS}  # standing still
    assert client.post("/_mock/clock", {"setMs": LAST_MS}).json == {"nowMs": LAST_MS}


@pytest.mark.parametrize("body", [
    {"setMs": T0 - 1},  # backwards
    {"setMs": 0},
    {"advanceMs": -1},
    {"setMs": LAST_MS + 1},  # past 9999-12-31T23:59:59.999Z
    {"advanceMs": LAST_MS - T0 + 1},
    {"advanceMs": 2**63},
    {"advanceMs": 1.5},
    {"advanceMs": "1000"},
    {"advanceMs": True},
    {"advanceMs": None},
    {"advanceMs": 1, "setMs": T0 + 5},
    {"advance": 1000},
    {},
    [1000],
])
def test_the_admin_clock_refuses_what_would_break_time(client: ApiClient, body: Any) -> None:
    response = client.post("/_mock/clock", body)
    assert response.status_code == 400
    assert client.now() == T0


def test_the_admin_clock_says_why_in_the_domains_words_and_names_the_key(client: ApiClient) -> None:
    response = client.post("/_mock/clock", {"setMs": 0})
    assert (response.status_code, response.json["why"]) == (
        400, f"Bad Request: setMs: the clock only moves forward: it reads {T0}, so it cannot be set to 0")
    response = client.post("/_mock/clock", {"advanceMs": -5})
    assert response.json["why"] == "Bad Request: advanceMs: the clock only moves forward: it cannot move by -5 ms"


def test_the_engine_refuses_the_same_in_python_words(client: ApiClient) -> None:
    with pytest.raises(ValueError, match=r"^the clock only moves forward: it cannot move by -1 ms$"):
        client.app.engine.advance(-1)
    with pytest.raises(ValueError, match=r"^the clock cannot be set to 253402300800000: 253402300799999 "):
        client.app.engine.set_time(LAST_MS + 1)
    assert client.now() == T0


def test_the_system_clock_cannot_be_moved(make_app: AppFactory) -> None:
    client = ApiClient(make_app(real_clock=True))
    response = client.post("/_mock/clock", {"advanceMs": 1000})
    assert response.status_code == 400
    assert "system clock" in response.json["why"]


def test_a_virtual_clock_only_moves_forward() -> None:
    clock = VirtualClock(10)
    with pytest.raises(ValueError, match="only moves forward"):
        clock.set(9)
    with pytest.raises(ValueError, match="only moves forward"):
        clock.advance(-1)
    assert (clock.now_ms(), clock.set(10), clock.advance(5)) == (10, 10, 15)
