"""Tests of follow_job against the mock's jobs.follow, through the plugin's fixtures.

``follow_job`` blocks until the job ends, so it runs in a thread while the test moves the mock's clock; the mock
sends each frame when the clock reaches it, and nothing here sleeps.
"""

from __future__ import annotations

import io
import threading
from pathlib import Path

import pytest
from follow_job import FollowError, follow_job
from jobs_client import Duration, JobsClient, Product

COMPUTE = Product("example-compute", "example-compute", "example")
SCENARIO = Path(__file__).resolve().parents[1] / "scenarios" / "batch-with-log.yaml"


def test_the_log_is_printed_as_the_job_runs_and_the_final_state_returned(ucloud_mock):
    ucloud_mock.load_scenario(str(SCENARIO))
    job_id = JobsClient(ucloud_mock.url, ucloud_mock.token).create(
        "acme-batch", "1.0.0", COMPUTE, time_allocation=Duration(hours=1))
    out, result = io.StringIO(), []
    follower = threading.Thread(target=lambda: result.append(follow_job(ucloud_mock.url, ucloud_mock.token,
                                                                        job_id, out)), daemon=True)
    follower.start()
    assert ucloud_mock.wait_for_followers(1), "the client never started following"
    ucloud_mock.clock.advance(minutes=5)
    follower.join(30)
    assert result == ["SUCCESS"]
    assert out.getvalue() == "[0] step 1 of 2\n[1] rank 1 is slow\n[0] step 2 of 2\n[0] done\n"


def test_the_in_process_stream_shows_the_same_frames(ucloud_mock):
    """Without a socket: ``ucloud_mock.follow`` gives the frames that are due, and never blocks."""
    ucloud_mock.load_scenario(str(SCENARIO))
    job_id = JobsClient(ucloud_mock.url, ucloud_mock.token).create("acme-batch", "1.0.0", COMPUTE)
    stream = ucloud_mock.follow(job_id)
    assert [frame["payload"]["newStatus"]["state"] for frame in stream] == ["IN_QUEUE"]
    ucloud_mock.clock.advance(seconds=30)
    logs = [chunk for frame in stream for chunk in frame["payload"]["log"]]
    assert [chunk["rank"] for chunk in logs] == [0, 1]
    ucloud_mock.clock.advance(minutes=5)
    assert list(stream)[-1] == {"type": "response", "streamId": "0", "payload": {}, "status": 200}


def test_a_job_of_someone_else_ends_the_stream_with_a_404(ucloud_mock):
    job_id = JobsClient(ucloud_mock.url, ucloud_mock.token).create("acme-batch", "1.0.0", COMPUTE)
    with pytest.raises(FollowError) as refused:
        follow_job(ucloud_mock.url, ucloud_mock.token_for("alice"), job_id, io.StringIO())
    assert (refused.value.status, refused.value.why) == (404, "Unknown job")
