"""The same client against a real deployment, through ``ucloud-jobs proxy``, which checks every call.

These tests run only when ``UCLOUD_URL`` is set (the proxy's URL, such as http://127.0.0.1:8081) and
``UCLOUD_TOKEN`` holds a bearer token; ``run-through-proxy.sh`` beside this file starts the proxy in front of
the deployment, runs them, and stops it, which writes the proxy's report. A real deployment has no clock to
move, so these tests check what holds at any time; the proxy checks each answer against the contract.

``UCLOUD_PRODUCT`` (``id/category/provider``) and ``UCLOUD_APPLICATION`` (``name/version``) name what the job
runs on; the defaults are the documentation's example ones, which the mock serves.
"""

from __future__ import annotations

import os

import pytest
from jobs_client import Duration, JobsClient, Product

pytestmark = pytest.mark.skipif(not (os.environ.get("UCLOUD_URL") and os.environ.get("UCLOUD_TOKEN")),
                                reason="set UCLOUD_URL (the proxy's URL) and UCLOUD_TOKEN to run against a deployment")


@pytest.fixture
def client():
    """The client, talking to the deployment through the proxy."""
    return JobsClient(os.environ["UCLOUD_URL"], os.environ["UCLOUD_TOKEN"], timeout=60)


@pytest.fixture
def job(client):
    """A job of an hour on the configured product, terminated when the test ends."""
    product = Product(*os.environ.get("UCLOUD_PRODUCT", "example-compute/example-compute/example").split("/"))
    name, version = os.environ.get("UCLOUD_APPLICATION", "acme-web-application/1.0.0").split("/")
    job_id = client.create(name, version, product, time_allocation=Duration(hours=1))
    yield job_id
    client.terminate(job_id)


def test_a_created_job_can_be_retrieved_and_browsed(client, job):
    assert client.retrieve(job)["id"] == job
    assert job in [item["id"] for item in client.browse(page_size=250)]


def test_extending_a_job_moves_its_expiry(client, job):
    before = client.retrieve(job)["status"]["expiresAt"]
    client.extend(job, Duration(hours=1))
    after = client.retrieve(job)["status"]["expiresAt"]
    # The proxy checks that expiresAt moved by exactly the hour where the deployment shows it at once; a
    # deployment whose provider takes its time may still show the old value here.
    assert after in (before, None if before is None else before + 3_600_000)
