"""Many threads on one app: no lost update, no impossible state (the only tests here that start threads)."""

from __future__ import annotations

import itertools
import random
import threading
from collections.abc import Callable
from typing import Any

from tests.mockserver.support import (
    FINAL_STATES,
    HOUR_MS,
    JOB_STATES,
    MINUTE_MS,
    QUEUE_DELAY_MS,
    SECOND_MS,
    T0,
    ApiClient,
    AppFactory,
    duration,
    job_spec,
)

THREADS = 8
TIMEOUT_S = 60


def run_threads(work: Callable[[int], None], count: int = THREADS) -> None:
    """Run ``work(index)`` in ``count`` threads released together; re-raise the first failure in any of them."""
    start = threading.Barrier(count)
    failures: list[BaseException] = []

    def body(index: int) -> None:
        try:
            start.wait(timeout=TIMEOUT_S)
            work(index)
        except BaseException as error:  # every failure is handed to the test's thread
            failures.append(error)

    threads = [threading.Thread(target=body, args=(index,), daemon=True) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=TIMEOUT_S)
    assert not any(thread.is_alive() for thread in threads), f"threads still running after {TIMEOUT_S} s"
    if failures:
        raise failures[0]


def test_8_threads_x_50_extends_add_up_exactly(make_app: AppFactory, profile: str) -> None:
    app = make_app(profile=profile)
    client = ApiClient(app)
    job_id = client.create_job()
    client.advance(QUEUE_DELAY_MS)
    base = client.retrieve(job_id)["status"]["expiresAt"]
    assert base == (T0 if profile == "docs" else T0 + QUEUE_DELAY_MS) + 5 * HOUR_MS
    extends = 50

    def extend_many(index: int) -> None:
        mine = ApiClient(app)
        for _ in range(extends):
            mine.extend(job_id, minutes=1)

    run_threads(extend_many)
    added = THREADS * extends * MINUTE_MS
    job = client.retrieve(job_id, includeUpdates=True)
    assert job["status"]["expiresAt"] == base + added
    if profile == "ucloud":
        allocation = 5 * HOUR_MS + added
        assert job["specification"]["timeAllocation"] == duration(hours=11, minutes=40)
        assert job["updates"][-1]["newTimeAllocation"] == allocation
        steps = [u["newTimeAllocation"] for u in job["updates"] if u["newTimeAllocation"] is not None]
        assert steps == sorted(steps)
        assert all(later - earlier == MINUTE_MS for earlier, later in itertools.pairwise(steps))
    else:
        assert job["specification"]["timeAllocation"] == duration(hours=5)


def _check_history(job: dict[str, Any]) -> None:
    """Updates in time order, and nothing changes state after a final state."""
    stamps = [update["timestamp"] for update in job["updates"]]
    assert stamps == sorted(stamps), stamps
    moves = [update["state"] for update in job["updates"] if update["state"] is not None]
    finals = [index for index, state in enumerate(moves) if state in FINAL_STATES]
    if finals:
        assert finals[0] == len(moves) - 1, moves
        assert job["status"]["state"] == moves[-1]


def test_many_threads_on_the_same_jobs_leave_only_legal_states(make_app: AppFactory, profile: str) -> None:
    app = make_app(profile=profile)
    client = ApiClient(app)
    job_ids = client.create(*[job_spec(timeAllocation=duration(minutes=20))] * 6)
    operations = ["terminate", "suspend", "unsuspend", "extend", "retrieve", "retrieve", "advance"]

    def chaos(index: int) -> None:
        mine = ApiClient(app)
        rng = random.Random(index)
        seen_final: dict[str, str] = {}
        for _ in range(60):
            operation = rng.choice(operations)
            chosen = rng.sample(job_ids, rng.randint(1, 3))
            if operation == "advance":
                mine.advance(rng.randint(1, 90) * SECOND_MS)
            elif operation == "extend":
                response = mine.bulk("extend", [{"jobId": job, "requestedTime": duration(minutes=1)}
                                                for job in chosen])
                assert response.status_code == 200, response.json
            elif operation == "retrieve":
                for job_id in chosen:
                    state = mine.retrieve(job_id)["status"]["state"]
                    assert state in JOB_STATES
                    assert seen_final.get(job_id, state) == state, (job_id, seen_final[job_id], state)
                    if state in FINAL_STATES:
                        seen_final[job_id] = state
            elif operation != "terminate" or rng.random() < 0.3:  # terminate less often, so that jobs live on
                mine.act(operation, *chosen)

    run_threads(chaos)
    ended = {}
    for job_id in job_ids:
        job = client.retrieve(job_id, includeUpdates=True)
        assert job["status"]["state"] in JOB_STATES
        _check_history(job)
        if job["status"]["state"] in FINAL_STATES:
            ended[job_id] = job

    client.act("terminate", *job_ids)
    client.act("suspend", *job_ids)
    client.act("unsuspend", *job_ids)
    client.advance(HOUR_MS)
    for job_id in job_ids:
        job = client.retrieve(job_id, includeUpdates=True)
        assert job["status"]["state"] in FINAL_STATES
        _check_history(job)
        if job_id in ended:
            assert job == ended[job_id]  # what had ended stayed exactly as it was
