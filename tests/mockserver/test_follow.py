"""jobs.follow in process (``MockApp.follow``, the same streams the WebSocket feeds): what a follower is told.

The first message is the job's status (with ``initialJob`` in the ucloud profile); then one message per change
of the job, in the order the changes happened, as the clock moves (a test's advance, a request, a scripted step):
new updates, log chunks per rank, the status; the closing ``response`` frame once the job has ended. Every frame
validates, and the same requests give the same frames on every run. Nothing sleeps: iterating takes what is due.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from contracts.scenario import Offer
from contracts.scenario_model import ProviderEvent
from contracts.validation import default_contract
from mockserver.web.app import MockApp, create_app
from mockserver.web.errors import ApiError
from tests.mockserver.support import HOUR_MS, QUEUE_DELAY_MS, T0, UNSCRIPTED, ApiClient

FRAME = "WSMessage_JobsFollowResponse"


def frames(stream: Any) -> list[dict[str, Any]]:
    """What is due on the stream, each frame checked against the contract."""
    taken = list(stream)
    for frame in taken:
        default_contract().validate(frame, FRAME)
    return taken


def payloads(taken: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [frame["payload"] for frame in taken if frame["type"] == "message"]


@pytest.fixture(params=["docs", "ucloud"])
def app(request: pytest.FixtureRequest) -> MockApp:
    return create_app(scenario=UNSCRIPTED, profile=request.param, validate_responses=True)


def test_the_first_message_is_the_status_and_in_the_service_the_job(app: MockApp) -> None:
    client = ApiClient(app)
    job_id = client.create_job()
    stream = app.follow(job_id, user="user")
    [first] = frames(stream)
    assert (first["type"], first["streamId"]) == ("message", "0")
    assert first["payload"]["updates"] == []
    assert first["payload"]["log"] == []
    retrieved = client.retrieve(job_id)
    assert first["payload"]["newStatus"] == retrieved["status"]
    if app.engine.profile.name == "ucloud":
        assert first["payload"]["initialJob"] == retrieved
    else:
        assert "initialJob" not in first["payload"]
    assert frames(stream) == []  # nothing more is due until the clock moves
    assert app.followers.count == 1


def test_each_change_is_one_message_in_order_and_the_end_closes_the_stream(app: MockApp) -> None:
    client = ApiClient(app)
    job_id = client.create_job()
    stream = app.follow(job_id)
    frames(stream)
    app.control.advance(QUEUE_DELAY_MS)
    [running] = payloads(frames(stream))
    assert [update["state"] for update in running["updates"]] == ["RUNNING"]
    assert running["updates"][0]["timestamp"] == T0 + QUEUE_DELAY_MS
    assert running["newStatus"]["state"] == "RUNNING"
    client.extend(job_id, hours=1)
    [extended] = payloads(frames(stream))
    before, after = running["newStatus"]["expiresAt"], extended["newStatus"]["expiresAt"]
    assert after == before + HOUR_MS  # the extension's effect: in docs only the status shows it
    if app.engine.profile.name == "ucloud":
        assert [update["newTimeAllocation"] for update in extended["updates"]] == [6 * HOUR_MS]
    else:
        assert extended["updates"] == []
    client.act("terminate", job_id)
    *messages, end = frames(stream)
    assert [update["status"] for message in payloads(messages) for update in message["updates"]] == [
        "Your job has been cancelled!"]
    assert payloads(messages)[-1]["newStatus"]["state"] == "SUCCESS"
    assert end == {"type": "response", "streamId": "0", "payload": {}, "status": 200}
    assert stream.ended
    assert app.followers.count == 0
    app.control.advance(HOUR_MS)
    assert frames(stream) == []


def test_time_alone_brings_the_job_to_its_end_each_step_stamped_with_its_own_time(app: MockApp) -> None:
    job_id = ApiClient(app).create_job(timeAllocation={"hours": 1, "minutes": 0, "seconds": 0})
    stream = app.follow(job_id)
    frames(stream)
    app.control.advance(10 * HOUR_MS)  # one move of the clock: the job starts, then expires
    *messages, end = frames(stream)
    updates = [update for message in payloads(messages) for update in message["updates"]]
    # docs: expiresAt = createdAt + allocation; ucloud: startedAt + allocation
    expired = T0 + HOUR_MS + (QUEUE_DELAY_MS if app.engine.profile.name == "ucloud" else 0)
    assert [(update["state"], update["timestamp"]) for update in updates] == [
        ("RUNNING", T0 + QUEUE_DELAY_MS), ("EXPIRED", expired)]
    assert [message["newStatus"]["state"] for message in payloads(messages)] == ["RUNNING", "EXPIRED"]
    assert end["status"] == 200


LOGS = (ProviderEvent(job=1, after_ms=10_000, log={"rank": 0, "stdout": "step 1\n"}),
        ProviderEvent(job=1, after_ms=10_000, log={"rank": 1, "stderr": "warning\n"}),
        ProviderEvent(job=1, after_ms=20_000, log={"rank": 0, "stdout": "step 2\n"}),
        ProviderEvent(job=1, after_ms=30_000, state="SUCCESS", status="The job has finished"))


def test_the_scenario_s_log_events_arrive_as_log_chunks_per_rank() -> None:
    app = create_app(scenario=dataclasses.replace(UNSCRIPTED, events=LOGS), profile="docs")
    job_id = ApiClient(app).create_job(replicas=2)
    stream = app.follow(job_id)
    frames(stream)
    app.control.advance(15_000)
    taken = payloads(frames(stream))
    assert [message["log"] for message in taken] == [
        [], [{"rank": 0, "stdout": "step 1\n", "stderr": None}], [{"rank": 1, "stdout": None, "stderr": "warning\n"}]]
    assert taken[0]["updates"][0]["state"] == "RUNNING"
    assert all(message["newStatus"]["state"] == "RUNNING" for message in taken)
    app.control.advance(HOUR_MS)
    *last, end = frames(stream)
    assert [message["log"] for message in payloads(last)] == [[{"rank": 0, "stdout": "step 2\n", "stderr": None}], []]
    assert payloads(last)[-1]["updates"][0]["status"] == "The job has finished"
    assert end["status"] == 200


def test_no_log_is_sent_for_a_product_without_log_support() -> None:
    quiet = Offer(id="quiet", category="quiet", provider="example", description="no logs", cpu=1, memory_in_gigs=1,
                  gpu=0, price_per_unit=1, free_to_use=True, support={"docker": {"enabled": True}})
    app = create_app(scenario=dataclasses.replace(UNSCRIPTED, events=LOGS, products=(quiet,)), profile="docs")
    job_id = ApiClient(app).create_job(product={"id": "quiet", "category": "quiet", "provider": "example"})
    stream = app.follow(job_id)
    app.control.advance(HOUR_MS)
    assert all(message["log"] == [] for message in payloads(frames(stream)))
    assert stream.ended


def test_every_follower_gets_the_same_frames_and_so_does_every_run() -> None:
    runs = []
    for _ in range(2):
        app = create_app(scenario=dataclasses.replace(UNSCRIPTED, events=LOGS), profile="ucloud")
        client = ApiClient(app)
        job_id = client.create_job()
        streams = [app.follow(job_id, stream_id=str(index)) for index in range(3)]
        app.control.advance(15_000)
        client.extend(job_id, minutes=30)
        app.control.advance(HOUR_MS)
        taken = [frames(stream) for stream in streams]
        assert [[dict(frame, streamId="-") for frame in each] for each in taken[1:]] == \
            [[dict(frame, streamId="-") for frame in taken[0]]] * 2
        runs.append(taken[0])
    assert runs[0] == runs[1]
    assert runs[0][-1]["type"] == "response"


def test_a_job_that_has_ended_gives_its_status_and_the_end_at_once(app: MockApp) -> None:
    client = ApiClient(app)
    job_id = client.create_job()
    client.act("terminate", job_id)
    first, end = frames(app.follow(job_id))
    assert first["payload"]["newStatus"]["state"] == "SUCCESS"
    assert end["status"] == 200
    assert app.followers.count == 0


def test_an_unknown_job_or_one_without_read_is_not_found(app: MockApp) -> None:
    job_id = ApiClient(app).create_job()
    for job, user in (("424242", "user"), (job_id, "someone-else")):
        with pytest.raises(ApiError) as refused:
            app.follow(job, user=user)
        assert (refused.value.code, refused.value.why) == (404, "Unknown job")
    with pytest.raises(ApiError) as refused:
        app.follow(job_id, project="not-mine")
    assert refused.value.code == 403
    assert app.followers.count == 0


def test_a_reset_ends_every_stream_as_for_an_unknown_job(app: MockApp) -> None:
    job_id = ApiClient(app).create_job()
    stream = app.follow(job_id)
    frames(stream)
    app.control.reset()
    [end] = frames(stream)
    assert (end["type"], end["status"], end["payload"]["why"]) == (
        "response", 404, "Unknown job: the mock was reset, and the job with it")
    assert app.followers.count == 0


def test_a_closed_stream_hears_nothing_more_and_the_engine_records_nothing_for_it(app: MockApp) -> None:
    job_id = ApiClient(app).create_job()
    stream = app.follow(job_id)
    stream.close()
    assert app.followers.count == 0
    app.control.advance(HOUR_MS)
    assert len(frames(stream)) == 1  # the first message, taken now; nothing after the close


