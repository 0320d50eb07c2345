"""Tests of jobs_client against the UCloud mock, through the fixtures of ucloud-jobs-contract.

There is no setup: installing the package registers its pytest plugin. ``ucloud_mock`` is a live mock of the
Jobs API on a free local port, reset before every test; its clock moves only when a test moves it, so nothing
here sleeps.
"""

from __future__ import annotations

import pytest
from jobs_client import Duration, JobsClient, JobsError, Product

COMPUTE = Product("example-compute", "example-compute", "example")
HOUR_MS = 3_600_000


@pytest.fixture
def client(ucloud_mock):
    """The client under test, talking to the mock as its default user."""
    return JobsClient(ucloud_mock.url, ucloud_mock.token)


def test_extend_a_job_and_terminate_it_early(client, ucloud_mock):
    """UCloud's documented flow, driven through the client; the test moves the mock's clock."""
    job_id = client.create("acme-web-application", "1.0.0", COMPUTE, time_allocation=Duration(hours=5))
    job = client.retrieve(job_id)
    assert job["status"]["state"] == "IN_QUEUE"
    assert job["status"]["expiresAt"] == job["createdAt"] + 5 * HOUR_MS

    ucloud_mock.clock.advance(seconds=5)  # the provider takes the job out of the queue
    assert client.retrieve(job_id)["status"]["state"] == "RUNNING"

    client.extend(job_id, Duration(hours=1))
    assert client.retrieve(job_id)["status"]["expiresAt"] == job["createdAt"] + 6 * HOUR_MS

    ucloud_mock.clock.advance(hours=2)
    client.terminate(job_id)
    ended = client.retrieve(job_id)
    assert ended["status"]["state"] == "SUCCESS"
    assert ended["updates"][-1]["status"] == "Your job has been cancelled!"
    assert ended["updates"][-1]["timestamp"] == ucloud_mock.clock.now_ms


def test_a_job_that_is_not_extended_expires(client, ucloud_mock):
    job_id = client.create("acme-batch", "1.0.0", COMPUTE, time_allocation=Duration(minutes=30))
    ucloud_mock.clock.advance(minutes=29)
    assert client.retrieve(job_id)["status"]["state"] == "RUNNING"
    ucloud_mock.clock.advance(minutes=1)
    assert client.retrieve(job_id)["status"]["state"] == "EXPIRED"


@pytest.mark.ucloud_scenario("extend-and-terminate")
def test_the_documented_values(client):
    """On the documented scenario's stage, the mock answers with the values printed in UCloud's docs."""
    job_id = client.create("acme-web-application", "1.0.0", COMPUTE, time_allocation=Duration(hours=5))
    assert job_id == "62348"
    assert client.retrieve(job_id)["status"]["expiresAt"] == 1633347776235
    client.extend(job_id, Duration(hours=1))
    assert client.retrieve(job_id)["status"]["expiresAt"] == 1633351376235


def test_browse_follows_the_pages(client):
    created = [client.create("acme-batch", "1.0.0", COMPUTE, name=f"run-{n}") for n in range(12)]
    jobs = client.browse(page_size=10)
    assert sorted(job["id"] for job in jobs) == sorted(created)


def test_an_unknown_job_is_a_404_with_ucloud_s_reason(client):
    with pytest.raises(JobsError) as refused:
        client.retrieve("424242")
    assert (refused.value.status, refused.value.why) == (404, "Unknown job")


def test_another_user_s_job_is_not_found(client, ucloud_mock):
    job_id = client.create("acme-batch", "1.0.0", COMPUTE)
    someone_else = JobsClient(ucloud_mock.url, ucloud_mock.token_for("alice"))
    with pytest.raises(JobsError) as refused:
        someone_else.terminate(job_id)
    assert refused.value.status == 404
    assert client.retrieve(job_id)["status"]["state"] == "IN_QUEUE"  # still there, untouched


def test_no_token_is_a_401(ucloud_mock):
    with pytest.raises(JobsError) as refused:
        JobsClient(ucloud_mock.url, token="").browse()
    assert (refused.value.status, refused.value.why) == (401, "Unauthorized")


def test_a_provider_outage_reaches_the_caller_as_a_jobs_error(client, ucloud_mock):
    ucloud_mock.faults.set({"operation": "jobs.create", "status": 503, "why": "Down for maintenance", "times": 1})
    with pytest.raises(JobsError) as refused:
        client.create("acme-batch", "1.0.0", COMPUTE)
    assert (refused.value.status, refused.value.why) == (503, "Down for maintenance")
    assert client.create("acme-batch", "1.0.0", COMPUTE) == "1"  # the fault was for one call only


def test_what_the_client_sends_keeps_the_contract(client, ucloud_mock, ucloud_contract):
    """Every request body the client sent, as the mock recorded it, is valid for its operation."""
    job_id = client.create("acme-batch", "1.0.0", COMPUTE, time_allocation=Duration(hours=1, minutes=30))
    client.create("acme-web-application", "1.0.0", COMPUTE)  # no time allocation at all
    client.extend(job_id, Duration(minutes=45))
    client.terminate(job_id)
    client.retrieve(job_id)
    client.browse(page_size=25)

    sent = ucloud_mock.journal
    assert [entry["operation"] for entry in sent] == ["jobs.create", "jobs.create", "jobs.extend", "jobs.terminate",
                                                      "jobs.retrieve", "jobs.browse"]
    assert all(entry["status"] == 200 for entry in sent)  # the mock checks query strings itself
    for entry in sent:
        if entry["method"] == "POST":
            ucloud_contract.assert_request(entry["operation"], entry["request"])
