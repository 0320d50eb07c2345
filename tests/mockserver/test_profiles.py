"""The two behaviour profiles, bullet by bullet (issue 3 §2; REFERENCE.md §4 and §6).

``docs`` is the documented example exactly; ``ucloud`` is what the real service does. Every expected value is
computed from the documented rules: 5 h = 18,000,000 ms, expiresAt = createdAt (docs) or startedAt (ucloud) +
the allocation, and so on.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from contracts.scenario import ProviderEvent
from tests.mockserver.support import (
    FINAL_STATES,
    HOUR_MS,
    MINUTE_MS,
    QUEUE_DELAY_MS,
    SECOND_MS,
    T0,
    UNSCRIPTED,
    ApiClient,
    AppFactory,
    duration,
)

RUN_AT = T0 + QUEUE_DELAY_MS  # the seed's job leaves the queue 5 s after its creation
FIVE_HOURS = 5 * HOUR_MS
assert FIVE_HOURS == 18_000_000
CANCELLED = "Your job has been cancelled!"  # the seed's third update


@pytest.fixture
def docs(make_app: AppFactory) -> ApiClient:
    return ApiClient(make_app(profile="docs"))


@pytest.fixture
def ucloud(make_app: AppFactory) -> ApiClient:
    return ApiClient(make_app(profile="ucloud"))


def running_job(client: ApiClient, **overrides: Any) -> str:
    """A job created at T0 and started 5 s later; the clock is left at RUN_AT."""
    job_id = client.create_job(**overrides)
    assert client.advance(QUEUE_DELAY_MS) == RUN_AT
    return job_id


def states(job: dict[str, Any]) -> list[str | None]:
    return [update["state"] for update in job["updates"]]


# ---------------------------------------------------------------------------------------------- docs


@pytest.mark.parametrize(("allocation", "ms"), [(duration(hours=5), 18_000_000),
                                                (duration(hours=1, minutes=30, seconds=15), 5_415_000)])
def test_docs_expires_at_is_created_at_plus_the_allocation(docs: ApiClient, allocation: dict[str, int],
                                                            ms: int) -> None:
    job_id = docs.create_job(timeAllocation=allocation)
    queued = docs.retrieve(job_id)
    assert queued["createdAt"] == T0
    assert queued["status"]["expiresAt"] == T0 + ms
    docs.advance(QUEUE_DELAY_MS)
    running = docs.retrieve(job_id)
    assert running["status"]["state"] == "RUNNING"
    assert running["status"]["expiresAt"] == T0 + ms
    assert running["status"]["startedAt"] is None


def test_docs_extend_moves_expires_at_by_the_requested_time_and_leaves_the_allocation(docs: ApiClient) -> None:
    job_id = running_job(docs)
    before = docs.retrieve(job_id)
    docs.extend(job_id, hours=1)
    after = docs.retrieve(job_id)
    assert after["status"]["expiresAt"] == T0 + FIVE_HOURS + HOUR_MS
    assert after["specification"]["timeAllocation"] == duration(hours=5)
    assert after["updates"] == before["updates"]  # the documented example records no update for an extension
    docs.extend(job_id, minutes=2, seconds=3)
    assert docs.retrieve(job_id)["status"]["expiresAt"] == T0 + FIVE_HOURS + HOUR_MS + 2 * MINUTE_MS + 3 * SECOND_MS


def test_docs_terminate_ends_in_success_with_the_documented_update_and_no_expiry(docs: ApiClient) -> None:
    job_id = running_job(docs)
    now = docs.advance(2 * HOUR_MS)
    docs.act("terminate", job_id)
    job = docs.retrieve(job_id)
    assert job["status"]["state"] == "SUCCESS"
    assert job["status"]["expiresAt"] is None
    assert states(job) == ["IN_QUEUE", "RUNNING", "SUCCESS"]
    last = job["updates"][-1]
    assert (last["status"], last["timestamp"]) == (CANCELLED, now)


@pytest.mark.parametrize("flags", [{}, {"includeUpdates": False}, {"includeUpdates": True}])
def test_docs_returns_the_updates_whatever_include_updates_says(docs: ApiClient, flags: dict[str, bool]) -> None:
    job_id = running_job(docs)
    job = docs.retrieve(job_id, **flags)
    assert states(job) == ["IN_QUEUE", "RUNNING"]
    assert [update["timestamp"] for update in job["updates"]] == [T0, RUN_AT]


def test_docs_has_the_seeds_null_permissions_output_acl_and_empty_billing(docs: ApiClient) -> None:
    job = docs.retrieve(running_job(docs), includeOthers=True)
    assert job["permissions"] is None
    assert job["output"] is None
    assert job["acl"] is None
    assert job["billing"] == {}


# ---------------------------------------------------------------------------------------------- ucloud


def test_ucloud_sets_started_at_on_running_and_expires_at_from_it(ucloud: ApiClient) -> None:
    job_id = ucloud.create_job()
    queued = ucloud.retrieve(job_id)
    assert (queued["status"]["startedAt"], queued["status"]["expiresAt"]) == (None, None)
    ucloud.advance(QUEUE_DELAY_MS)
    running = ucloud.retrieve(job_id)
    assert running["status"]["state"] == "RUNNING"
    assert running["status"]["startedAt"] == RUN_AT
    assert running["status"]["expiresAt"] == RUN_AT + FIVE_HOURS


def test_ucloud_keeps_expires_at_after_the_job_ends(ucloud: ApiClient) -> None:
    job_id = running_job(ucloud)
    now = ucloud.advance(HOUR_MS)
    ucloud.act("terminate", job_id)
    job = ucloud.retrieve(job_id, includeUpdates=True)
    assert job["status"]["state"] == "SUCCESS"
    assert job["status"]["startedAt"] == RUN_AT
    assert job["status"]["expiresAt"] == RUN_AT + FIVE_HOURS
    assert (job["updates"][-1]["state"], job["updates"][-1]["timestamp"]) == ("SUCCESS", now)


def test_ucloud_extend_grows_the_allocation_and_records_the_new_absolute_allocation(ucloud: ApiClient) -> None:
    job_id = running_job(ucloud)
    now = ucloud.advance(10 * MINUTE_MS)
    ucloud.extend(job_id, hours=1)
    job = ucloud.retrieve(job_id, includeUpdates=True)
    assert job["specification"]["timeAllocation"] == duration(hours=6)
    assert job["status"]["expiresAt"] == RUN_AT + 6 * HOUR_MS
    last = job["updates"][-1]
    assert (last["state"], last["newTimeAllocation"], last["timestamp"]) == (None, 21_600_000, now)

    ucloud.extend(job_id, minutes=1, seconds=30)
    job = ucloud.retrieve(job_id, includeUpdates=True)
    assert job["specification"]["timeAllocation"] == duration(hours=6, minutes=1, seconds=30)
    assert job["updates"][-1]["newTimeAllocation"] == 6 * HOUR_MS + 90 * SECOND_MS
    assert job["status"]["expiresAt"] == RUN_AT + 6 * HOUR_MS + 90 * SECOND_MS


@pytest.mark.parametrize(("flags", "expected"), [({}, False), ({"includeUpdates": False}, False),
                                                 ({"includeUpdates": True}, True)])
def test_ucloud_returns_updates_only_when_asked(ucloud: ApiClient, flags: dict[str, bool], expected: bool) -> None:
    job = ucloud.retrieve(running_job(ucloud), **flags)
    assert states(job) == (["IN_QUEUE", "RUNNING"] if expected else [])


def test_ucloud_fills_the_owners_permissions(ucloud: ApiClient) -> None:
    job = ucloud.retrieve(running_job(ucloud))
    assert job["permissions"] == {"myself": ["ADMIN", "READ", "EDIT"], "others": None}
    assert job["output"] == {"outputFolder": None}


PARAMETERS = {"greeting": {"type": "text", "value": "hello"}}
RESOURCES = [{"type": "file", "path": "/home/user/data", "readOnly": True}]


def _included(job: dict[str, Any]) -> set[str]:
    """The include-flag fields that carry something."""
    status = job["status"]
    present = {
        "updates": bool(job["updates"]),
        "parameters": job["specification"]["parameters"] is not None,
        "resources": job["specification"]["resources"] is not None,
        "jobParametersJson": status["jobParametersJson"] is not None,
        "resolvedApplication": status["resolvedApplication"] is not None,
        "resolvedProduct": status["resolvedProduct"] is not None,
        "resolvedSupport": status["resolvedSupport"] is not None,
        "others": job["permissions"]["others"] is not None,
    }
    return {name for name, there in present.items() if there}


@pytest.mark.parametrize(("flag", "fields"), [
    (None, set()),
    ("includeUpdates", {"updates"}),
    ("includeParameters", {"parameters", "resources", "jobParametersJson"}),
    ("includeApplication", {"resolvedApplication"}),
    ("includeProduct", {"resolvedProduct"}),
    ("includeSupport", {"resolvedSupport", "resolvedProduct"}),  # REFERENCE.md §4.6: product with support too
    ("includeOthers", {"others"}),
])
def test_ucloud_honours_each_include_flag_and_only_it(ucloud: ApiClient, flag: str | None, fields: set[str]) -> None:
    job_id = running_job(ucloud, parameters=PARAMETERS, resources=RESOURCES)
    flags = {flag: True} if flag else {}
    assert _included(ucloud.retrieve(job_id, **flags)) == fields
    (browsed,) = ucloud.browse(**flags)["items"]
    assert _included(browsed) == fields


def test_ucloud_included_data_describes_the_job(ucloud: ApiClient) -> None:
    job_id = running_job(ucloud, parameters=PARAMETERS, resources=RESOURCES)
    job = ucloud.retrieve(job_id, includeParameters=True, includeApplication=True, includeSupport=True)
    spec = job["specification"]
    assert spec["parameters"] == PARAMETERS
    assert spec["resources"] == RESOURCES
    assert job["status"]["jobParametersJson"]["request"]["application"] == spec["application"]
    metadata = job["status"]["resolvedApplication"]["metadata"]
    assert (metadata["name"], metadata["version"]) == (spec["application"]["name"], spec["application"]["version"])
    product = job["status"]["resolvedProduct"]
    assert product["id"] == spec["product"]["id"]
    assert product["category"] == {"name": spec["product"]["category"], "provider": spec["product"]["provider"]}
    assert job["status"]["resolvedSupport"]["support"]["product"] == spec["product"]


def test_ucloud_job_expires_when_the_clock_passes_expires_at(ucloud: ApiClient) -> None:
    job_id = running_job(ucloud)
    expires_at = RUN_AT + FIVE_HOURS
    ucloud.advance(expires_at - 1 - RUN_AT)
    assert ucloud.retrieve(job_id)["status"]["state"] == "RUNNING"
    ucloud.advance(2)
    job = ucloud.retrieve(job_id, includeUpdates=True)
    assert job["status"]["state"] == "EXPIRED"
    assert job["status"]["expiresAt"] == expires_at
    assert (job["updates"][-1]["state"], job["updates"][-1]["timestamp"]) == ("EXPIRED", expires_at)


def test_ucloud_an_extension_postpones_expiry(ucloud: ApiClient) -> None:
    job_id = running_job(ucloud)
    ucloud.extend(job_id, hours=1)
    ucloud.advance(FIVE_HOURS + 1)
    assert ucloud.retrieve(job_id)["status"]["state"] == "RUNNING"
    ucloud.advance(HOUR_MS)
    assert ucloud.retrieve(job_id)["status"]["state"] == "EXPIRED"


# ---------------------------------------------------------------------------------------------- both


def test_a_job_leaves_the_queue_after_the_queue_delay(any_client: ApiClient) -> None:
    job_id = any_client.create_job()
    any_client.advance(QUEUE_DELAY_MS - 1)
    assert any_client.retrieve(job_id)["status"]["state"] == "IN_QUEUE"
    any_client.advance(1)
    job = any_client.retrieve(job_id, includeUpdates=True)
    assert job["status"]["state"] == "RUNNING"
    assert [(u["state"], u["timestamp"]) for u in job["updates"]] == [("IN_QUEUE", T0), ("RUNNING", RUN_AT)]


def _ended(make_app: AppFactory, profile: str, final: str) -> tuple[ApiClient, str]:
    """A client and a job of it that has reached ``final`` the way that state is reached."""
    scenario = UNSCRIPTED
    if final == "FAILURE":  # only the provider fails a job: a scripted event
        event = ProviderEvent(after_ms=90 * SECOND_MS, job=1, state="FAILURE", status="The node went away")
        scenario = dataclasses.replace(UNSCRIPTED, events=(event,))
    client = ApiClient(make_app(profile=profile, scenario=scenario))
    job_id = running_job(client)
    if final == "SUCCESS":
        client.act("terminate", job_id)
    elif final == "EXPIRED":
        client.advance(FIVE_HOURS)
    else:
        client.advance(90 * SECOND_MS)
    assert client.retrieve(job_id)["status"]["state"] == final
    return client, job_id


@pytest.mark.parametrize("final", sorted(FINAL_STATES))
@pytest.mark.parametrize("action", ["terminate", "extend", "suspend", "unsuspend"])
def test_a_final_state_never_changes(make_app: AppFactory, profile: str, final: str, action: str) -> None:
    client, job_id = _ended(make_app, profile, final)
    flags = {"includeUpdates": True, "includeOthers": True, "includeParameters": True}
    before = client.retrieve(job_id, **flags)
    if action == "extend":
        client.extend(job_id, hours=1)
    else:
        client.act(action, job_id)
    client.advance(10 * HOUR_MS)
    assert client.retrieve(job_id, **flags) == before


def test_suspend_and_unsuspend_move_between_running_and_suspended(any_client: ApiClient) -> None:
    job_id = running_job(any_client)
    any_client.act("suspend", job_id)
    assert any_client.retrieve(job_id)["status"]["state"] == "SUSPENDED"
    any_client.act("unsuspend", job_id)
    job = any_client.retrieve(job_id, includeUpdates=True)
    assert job["status"]["state"] == "RUNNING"
    assert states(job) == ["IN_QUEUE", "RUNNING", "SUSPENDED", "RUNNING"]


def test_suspend_leaves_a_queued_job_and_unsuspend_a_running_one(any_client: ApiClient) -> None:
    queued = any_client.create_job()
    any_client.act("suspend", queued)
    assert any_client.retrieve(queued)["status"]["state"] == "IN_QUEUE"
    any_client.advance(QUEUE_DELAY_MS)
    before = any_client.retrieve(queued, includeUpdates=True)
    any_client.act("unsuspend", queued)
    assert any_client.retrieve(queued, includeUpdates=True) == before


def test_extend_leaves_a_job_without_allocation_alone(any_client: ApiClient) -> None:
    job_id = running_job(any_client, timeAllocation=None)
    before = any_client.retrieve(job_id, includeUpdates=True)
    assert before["specification"]["timeAllocation"] is None
    assert before["status"]["expiresAt"] is None
    any_client.extend(job_id, hours=1)
    assert any_client.retrieve(job_id, includeUpdates=True) == before
    any_client.advance(1000 * HOUR_MS)
    assert any_client.retrieve(job_id)["status"]["state"] == "RUNNING"
