"""Many clients at once over real sockets: no lost update, no state outside the state machine, no deadlock
(issue 5 §4).

Each thread has its own keep-alive connection to one ``HttpServer``. The server answers from one loop, so by
default the app sees one request at a time; with a latency fault set (1 ms, on every call) it sends API calls to
its pool of eight threads, and requests really overlap inside the app: each test runs both ways. Every thread is
joined with a timeout and must have finished. The same properties are tested in process, without sockets, in
tests/mockserver/test_concurrency.py.
"""

from __future__ import annotations

import json
import random
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

import pytest

from contracts.spec import default_spec
from tests.conformance.support import TOKEN, Live, job_spec, live_server, run_threads, send

JOB_STATES = frozenset(default_spec().schema("JobState")["enum"])
FINAL_STATES = frozenset({"SUCCESS", "FAILURE", "EXPIRED"})
THREADS = 16
SERVER_THREADS = 8
QUEUE_DELAY_MS = 5_000
HOUR_MS = 3_600_000
HEADERS = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}


@pytest.fixture(params=[("docs", "loop"), ("ucloud", "pool")], ids=["docs-in-the-loop", "ucloud-in-the-pool"])
def live(request: pytest.FixtureRequest) -> Iterator[Live]:
    """A server on the blank scenario (the clock moves only when a test moves it), in each profile: one answering
    from its loop, one sending every API call to its thread pool (a 1 ms latency fault on every call)."""
    profile, where = request.param
    with live_server(threads=SERVER_THREADS, profile=profile, scenario="blank") as server:
        if where == "pool":
            server.app.control.set_faults([{"operation": "*", "latencyMs": 1}])
        yield server


class Client:
    """One thread's client: its own keep-alive connection."""

    def __init__(self, live: Live) -> None:
        self.connection = live.connect()

    def call(self, method: str, target: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        answer = send(self.connection, method, target, data, HEADERS)
        assert answer.status == 200, (method, target, body, answer.status, answer.body)
        return answer.json

    def bulk(self, operation: str, ids: list[str]) -> None:
        self.call("POST", f"/api/jobs/{operation}", {"items": [{"id": job_id} for job_id in ids]})

    def extend(self, items: list[tuple[str, int]]) -> None:
        self.call("POST", "/api/jobs/extend", {"items": [
            {"jobId": job_id, "requestedTime": {"hours": 0, "minutes": seconds // 60, "seconds": seconds % 60}}
            for job_id, seconds in items]})

    def job(self, job_id: str) -> dict[str, Any]:
        job: dict[str, Any] = self.call("GET", f"/api/jobs/retrieve?id={job_id}&includeUpdates=true")
        return job

    def close(self) -> None:
        self.connection.close()


def _allocation_ms(job: dict[str, Any]) -> int:
    allocation = job["specification"]["timeAllocation"]
    return int(allocation["hours"] * HOUR_MS + allocation["minutes"] * 60_000 + allocation["seconds"] * 1000)


def _what_extend_moves(job: dict[str, Any], profile: str) -> int:
    """The docs profile moves expiresAt and keeps the allocation; the ucloud profile grows the allocation."""
    return int(job["status"]["expiresAt"]) if profile == "docs" else _allocation_ms(job)


def _check_history(job: dict[str, Any]) -> None:
    """Updates in time order, every state in the enum, and nothing after a final state."""
    stamps = [update["timestamp"] for update in job["updates"]]
    assert stamps == sorted(stamps), stamps
    moves = [update["state"] for update in job["updates"] if update["state"] is not None]
    assert set(moves) <= JOB_STATES, moves
    assert job["status"]["state"] in JOB_STATES
    finals = [index for index, state in enumerate(moves) if state in FINAL_STATES]
    if finals:
        assert finals[0] == len(moves) - 1, moves
        assert job["status"]["state"] == moves[-1]


def test_extends_suspends_and_unsuspends_from_16_clients_lose_no_update(live: Live) -> None:
    profile = live.app.engine.profile.name
    job_ids = live.create(*[job_spec(hours=1)] * 4)
    live.advance(QUEUE_DELAY_MS)
    setup = Client(live)
    before = {job_id: _what_extend_moves(setup.job(job_id), profile) for job_id in job_ids}
    answered: dict[int, dict[str, int]] = {}

    def work(index: int) -> None:
        client, rng = Client(live), random.Random(index)
        mine: dict[str, int] = defaultdict(int)
        try:
            for _ in range(25):
                roll = rng.random()
                if roll < 0.6:  # a bulk extend, possibly naming a job twice: each item counts
                    items = [(rng.choice(job_ids), index + 1) for _ in range(rng.randint(1, 3))]
                    client.extend(items)  # asserts 200: only answered extends are counted
                    for job_id, seconds in items:
                        mine[job_id] += seconds * 1000
                elif roll < 0.8:
                    client.bulk(rng.choice(["suspend", "unsuspend"]), rng.sample(job_ids, rng.randint(1, 4)))
                else:
                    assert client.job(rng.choice(job_ids))["status"]["state"] in {"RUNNING", "SUSPENDED"}
        finally:
            client.close()
        answered[index] = dict(mine)

    try:
        run_threads(work, THREADS)
        assert len(answered) == THREADS
        for job_id in job_ids:
            job = setup.job(job_id)
            added = sum(mine.get(job_id, 0) for mine in answered.values())
            assert added > 0
            assert _what_extend_moves(job, profile) == before[job_id] + added, job_id  # not one extend lost
            assert job["status"]["state"] in {"RUNNING", "SUSPENDED"}
            _check_history(job)
            if profile == "ucloud":  # every extension left an update with the new allocation, in order
                steps = [u["newTimeAllocation"] for u in job["updates"] if u.get("newTimeAllocation") is not None]
                assert steps == sorted(steps)
                assert steps[-1] == _allocation_ms(job)
    finally:
        setup.close()


def test_terminate_racing_everything_ends_every_job_once_and_for_good(live: Live) -> None:
    job_ids = live.create(*[job_spec(hours=2)] * 6)
    live.advance(QUEUE_DELAY_MS)
    seen_final: dict[int, dict[str, dict[str, Any]]] = {}

    def work(index: int) -> None:
        client, rng = Client(live), random.Random(1000 + index)
        mine: dict[str, dict[str, Any]] = {}
        try:
            for step in range(30):
                chosen = rng.sample(job_ids, rng.randint(1, 3))
                operation = rng.choice(["extend", "suspend", "unsuspend", "retrieve", "retrieve", "terminate"])
                if step == 29:
                    operation = "terminate"  # every thread ends by terminating what it holds
                if operation == "extend":
                    client.extend([(job_id, 60) for job_id in chosen])
                elif operation == "retrieve":
                    for job_id in chosen:
                        job = client.job(job_id)
                        assert job["status"]["state"] in JOB_STATES
                        if job_id in mine:
                            assert job == mine[job_id], "a final job changed"
                        elif job["status"]["state"] in FINAL_STATES:
                            mine[job_id] = job
                else:
                    client.bulk(operation, chosen)
        finally:
            client.close()
        seen_final[index] = mine

    run_threads(work, THREADS)
    assert len(seen_final) == THREADS
    client = Client(live)
    try:
        client.bulk("terminate", job_ids)
        ended = {job_id: client.job(job_id) for job_id in job_ids}
        for job_id, job in ended.items():
            assert job["status"]["state"] == "SUCCESS"
            _check_history(job)
            assert [u["state"] for u in job["updates"]].count("SUCCESS") == 1  # terminated once
            for mine in seen_final.values():
                if job_id in mine:
                    assert mine[job_id] == job  # what a client saw ended is what stays
        # Nothing a client sends moves a final job, however many send it at once.
        run_threads(lambda index: _poke(live, job_ids, index), THREADS)
        live.advance(100 * HOUR_MS)
        assert {job_id: client.job(job_id) for job_id in job_ids} == ended
    finally:
        client.close()


def _poke(live: Live, job_ids: list[str], index: int) -> None:
    client = Client(live)
    try:
        for operation in ("extend", "suspend", "unsuspend", "terminate") * 3:
            if operation == "extend":
                client.extend([(job_id, index + 1) for job_id in job_ids])
            else:
                client.bulk(operation, job_ids)
    finally:
        client.close()


def test_clients_and_a_moving_clock_leave_only_legal_states(live: Live) -> None:
    job_ids = live.create(*[job_spec(hours=0, timeAllocation={"hours": 0, "minutes": 20, "seconds": 0})] * 8)

    def work(index: int) -> None:
        client, rng = Client(live), random.Random(2000 + index)
        seen: dict[str, dict[str, Any]] = {}
        try:
            for _ in range(30):
                roll = rng.random()
                chosen = rng.sample(job_ids, rng.randint(1, 3))
                if roll < 0.15:
                    client.call("POST", "/_mock/clock", {"advanceMs": rng.randint(1, 120) * 1000})
                elif roll < 0.35:
                    client.extend([(job_id, 30) for job_id in chosen])
                elif roll < 0.55:
                    client.bulk(rng.choice(["suspend", "unsuspend"]), chosen)
                elif roll < 0.6:
                    client.bulk("terminate", chosen[:1])
                else:
                    for job_id in chosen:
                        job = client.job(job_id)
                        _check_history(job)
                        if job_id in seen:
                            assert job == seen[job_id], "a final job changed"
                        elif job["status"]["state"] in FINAL_STATES:
                            seen[job_id] = job
        finally:
            client.close()

    run_threads(work, THREADS)
    live.advance(10 * HOUR_MS)  # whatever still runs expires; suspended jobs stay suspended
    client = Client(live)
    try:
        for job_id in job_ids:
            job = client.job(job_id)
            _check_history(job)
            assert job["status"]["state"] in FINAL_STATES | {"SUSPENDED"}
    finally:
        client.close()
