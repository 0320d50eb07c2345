"""The Jobs API's invariants, written once: functions of what was seen before, the request, and what came after.

Each check raises ``InvariantViolation`` (a ``ContractViolation``, so an AssertionError) naming the invariant,
the job and what differed. Which profile an invariant holds in is said in its docstring (profiles are named in
``contracts.profiles``); states, final states and how many updates a job keeps come from the spec.

Every check the scenarios and the state machine make is a function here, registered under the name of what it
checks (``invariant_name``), so that ``contracts.testing.tally.Tally`` can count how often each one held;
``check_response`` and ``check_status`` are the contract's own checks, counted alongside.
"""

from __future__ import annotations

import itertools
from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from contracts.errors import ContractViolation, Violation
from contracts.profiles import UCLOUD
from contracts.testing.checks import InvariantViolation, checks, duration_ms, invariant_name, invariant_names
from contracts.vocabulary import default_vocabulary

if TYPE_CHECKING:
    from contracts.testing.transport import Reply
    from contracts.validation import Contract

__all__ = ["InvariantViolation", "check_browse_owner", "check_bulk_response", "check_created_at", "check_extended",
           "check_final_unchanged", "check_follow_end", "check_follow_first", "check_follow_forward",
           "check_follow_updates_once", "check_foreign_request", "check_frame", "check_invisible", "check_new_ids",
           "check_products_offered", "check_read_only", "check_refused_bulk", "check_response",
           "check_retrieves_agree", "check_session", "check_state_known", "check_status", "check_suspended",
           "check_terminated", "check_unchanged", "check_unsuspended", "check_updates", "check_utilization",
           "duration_ms", "invariant_name", "invariant_names"]

Job = Mapping[str, Any]
_checks = checks


def _state(job: Job) -> str:
    return str(job["status"]["state"])


def _is_final(state: str) -> bool:
    return state in default_vocabulary().final_states


@_checks("every response is JSON, valid for its operation and status")
def check_response(contract: Contract, operation: str, reply: Reply) -> None:
    """The contract: the body is JSON and valid against the documented response of its operation and status."""
    if not reply.is_json:
        raise ContractViolation(f"{reply.request_line} answered {reply.status}",
                                [Violation("", "json", "a JSON body", repr(reply.raw[:80]), "the body is not JSON")])
    contract.validate_response(operation, reply.status, reply.body)


@_checks("every frame of jobs.follow is valid for its kind")
def check_frame(contract: Contract, schema: str, frame: Any) -> None:
    """The contract: a frame of a stream is a valid ``message`` or ``response`` frame (jobs.asyncapi.yaml)."""
    contract.validate(frame, schema)


@_checks("every call gets the status it should")
def check_status(reply: Reply, expected: int, where: str = "") -> None:
    """The call was answered with ``expected`` (200 for a valid request, 404 for a foreign or unknown job)."""
    if reply.status != expected:
        subject = f"{where}: {reply.request_line}" if where else reply.request_line
        raise ContractViolation(f"{subject} answered {reply.status}",
                                [Violation("", "status", str(expected), str(reply.status),
                                           f"expected {expected}, got {reply.status}: {reply.body}")])


@_checks("one response per item")
def check_bulk_response(operation: str, items: Sequence[Any], body: Mapping[str, Any]) -> None:
    """Bulk: one response entry per request item, in order; create answers an id (or null) per item."""
    responses = body.get("responses")
    if not isinstance(responses, list) or len(responses) != len(items):
        count = len(responses) if isinstance(responses, list) else "no"
        raise InvariantViolation("one response per item", None,
                                 f"{operation} answered 200 but /responses has {count} entries for {len(items)} "
                                 f"item{'s' if len(items) != 1 else ''}", "/responses", str(len(items)), str(count))


@_checks("updates: timestamps never decrease, the list only grows, the newest state is the job's")
def check_updates(before: Job | None, after: Job) -> None:
    """Updates: timestamps never decrease; the list only grows; the newest update with a state is the state.

    Holds in both profiles when updates are requested (``includeUpdates=true``). UCloud keeps the newest 64.
    """
    job_id = str(after["id"])
    updates = after.get("updates") or []
    stamps = [update.get("timestamp") or 0 for update in updates]
    for index in range(1, len(stamps)):
        if stamps[index] < stamps[index - 1]:
            raise InvariantViolation("update timestamps never decrease", job_id,
                                     f"update {index} is stamped {stamps[index]}, before update {index - 1} "
                                     f"({stamps[index - 1]})", f"/updates/{index}/timestamp",
                                     f">= {stamps[index - 1]}", str(stamps[index]))
    with_state = [update for update in updates if update.get("state") is not None]
    if with_state and with_state[-1]["state"] != _state(after):
        raise InvariantViolation("the newest update's state is the job's state", job_id,
                                 f"the newest update with a state says {with_state[-1]['state']} but "
                                 f"status.state is {_state(after)}", "/status/state", with_state[-1]["state"],
                                 _state(after))
    if before is None:
        return
    previous = before.get("updates") or []
    if len(previous) < default_vocabulary().max_updates and list(updates[: len(previous)]) != list(previous):
        raise InvariantViolation("updates only grow", job_id,
                                 f"the {len(previous)} earlier updates are not a prefix of the {len(updates)} now "
                                 "returned", "/updates", f"{len(previous)} earlier updates kept",
                                 f"{len(updates)} updates")


@_checks("final states never change")
def check_final_unchanged(before: Job, after: Job) -> None:
    """Final states never change (both profiles)."""
    if _is_final(_state(before)) and _state(after) != _state(before):
        raise InvariantViolation("final states never change", str(after["id"]),
                                 f"the job was {_state(before)} and is now {_state(after)}", "/status/state",
                                 _state(before), _state(after))


def check_unchanged(before: Job, after: Job, why: str) -> None:
    """Nothing about the job changed (a refused or foreign request must leave it as it was)."""
    if before != after:
        changed = sorted(key for key in set(before) | set(after) if before.get(key) != after.get(key))
        raise InvariantViolation(why, str(after["id"]), f"the job changed ({', '.join(changed)} differ)",
                                 "/" + (changed[0] if changed else ""), "unchanged", "changed")



@_checks("two retrieves in a row are equal")
def check_retrieves_agree(first: Job, second: Job) -> None:
    """Two retrieves in a row are equal (on a clock that does not move between them)."""
    check_unchanged(first, second, "two retrieves in a row are equal")


@_checks("another user's request changes nothing")
def check_foreign_request(before: Job, after: Job) -> None:
    """A request about the job by a user who may not see it (answered 404) leaves it as it was."""
    check_unchanged(before, after, "another user's request changes nothing")


@_checks("a bulk request naming an unknown id changes nothing")
def check_refused_bulk(before: Job, after: Job) -> None:
    """A bulk request that also names an unknown id fails whole (404) and leaves the known job as it was."""
    check_unchanged(before, after, "a bulk request naming an unknown id changes nothing")


@_checks("ids are unique")
def check_new_ids(known: Collection[str], responses: Iterable[Mapping[str, Any] | None]) -> None:
    """Every job a create answers has an id no earlier job, nor another of the same answer, had."""
    seen = set(known)
    for entry in responses:
        if entry is None:
            continue
        if entry["id"] in seen:
            raise InvariantViolation("ids are unique", entry["id"], "a new job got an id already used",
                                     "/responses", "a new id", entry["id"])
        seen.add(entry["id"])


@_checks("createdAt is never after the clock")
def check_created_at(job: Job, now_ms: int) -> None:
    """A job is never created after the clock's reading (on a mock's clock, which moves only when told)."""
    if job["createdAt"] > now_ms:
        raise InvariantViolation("createdAt is never after the clock", str(job["id"]),
                                 f"createdAt {job['createdAt']} is after the clock {now_ms}",
                                 "/createdAt", f"<= {now_ms}", str(job["createdAt"]))


@_checks("browse shows only the caller's jobs")
def check_browse_owner(items: Iterable[Job], caller: str, known: Collection[str]) -> None:
    """Of the jobs in ``known`` (the ones this run created), browse shows the caller only their own."""
    for item in items:
        if item["id"] in known and item["owner"]["createdBy"] != caller:
            raise InvariantViolation("browse shows only the caller's jobs", item["id"],
                                     f"{caller} was shown a job of {item['owner']['createdBy']}",
                                     "/items", caller, item["owner"]["createdBy"])


@_checks("every state is a JobState")
def check_state_known(job: Job) -> None:
    """The job's state is one of the spec's JobState values."""
    states = default_vocabulary().job_states
    if _state(job) not in states:
        raise InvariantViolation("every state is a JobState", str(job["id"]), "unknown state",
                                 "/status/state", ", ".join(states), _state(job))


@_checks("extend moves expiresAt (and, in the ucloud profile, timeAllocation) by exactly the requested time")
def check_extended(before: Job, after: Job, requested_ms: int, profile: str | None) -> None:
    """Extend by d: expiresAt afterwards = expiresAt before + d, for any d and any number of extends.

    In the ucloud profile timeAllocation grows by d too; in docs it stays. A job without a timeAllocation is left
    as it is, and so is a job that has ended (final states never change).
    """
    job_id = str(after["id"])
    check_final_unchanged(before, after)
    allocation_before = duration_ms(before["specification"].get("timeAllocation"))
    if allocation_before is None or _is_final(_state(before)):
        if before["status"].get("expiresAt") != after["status"].get("expiresAt") or \
                before["specification"].get("timeAllocation") != after["specification"].get("timeAllocation"):
            raise InvariantViolation("extend leaves a job without allocation (or ended) as it is", job_id,
                                     "expiresAt or timeAllocation changed", "/status/expiresAt",
                                     str(before["status"].get("expiresAt")), str(after["status"].get("expiresAt")))
        return
    expires_before, expires_after = before["status"].get("expiresAt"), after["status"].get("expiresAt")
    expected = None if expires_before is None else expires_before + requested_ms
    if expires_after != expected:
        raise InvariantViolation("extend moves expiresAt by exactly the requested time", job_id,
                                 f"expiresAt was {expires_before}, {requested_ms} ms were requested, and it is now "
                                 f"{expires_after}", "/status/expiresAt", str(expected), str(expires_after))
    allocation_after = duration_ms(after["specification"].get("timeAllocation"))
    wanted = allocation_before + requested_ms if profile == UCLOUD else allocation_before
    if profile is not None and allocation_after != wanted:
        rule = "grows by the requested time" if profile == UCLOUD else "stays as it is"
        raise InvariantViolation(f"extend: timeAllocation {rule} ({profile} profile)", job_id,
                                 f"timeAllocation was {allocation_before} ms and is now {allocation_after} ms",
                                 "/specification/timeAllocation", f"{wanted} ms", f"{allocation_after} ms")


@_checks("terminate ends the job")
def check_terminated(before: Job, after: Job, *, synchronous: bool) -> None:
    """Terminate: the job reaches a final state (SUCCESS for a user's cancellation); a final job stays as it was.

    The mock ends the job at once; a live provider may pass through CANCELING first (``synchronous=False``).
    """
    check_final_unchanged(before, after)
    if _is_final(_state(before)):
        return
    allowed = {"SUCCESS"} if synchronous else set(default_vocabulary().job_states)
    if _state(after) not in allowed:
        raise InvariantViolation("terminate ends the job", str(after["id"]),
                                 f"the job was {_state(before)} and after terminate it is {_state(after)}",
                                 "/status/state", " or ".join(sorted(allowed)), _state(after))


@_checks("suspend moves RUNNING to SUSPENDED")
def check_suspended(before: Job, after: Job) -> None:
    """Suspend moves RUNNING to SUSPENDED and leaves any other state as it is."""
    _check_move(before, after, "RUNNING", "SUSPENDED", "suspend")


@_checks("unsuspend moves SUSPENDED to RUNNING")
def check_unsuspended(before: Job, after: Job) -> None:
    """Unsuspend moves SUSPENDED to RUNNING and leaves any other state as it is.

    A job whose expiresAt passed while it was suspended runs again and expires at once: only a running job
    expires, and in the docs profile expiresAt stays where it was. So EXPIRED is right too, when the newest
    updates say RUNNING and then EXPIRED, no earlier than the expiresAt the job had.
    """
    if _state(before) == "SUSPENDED" and _state(after) == "EXPIRED" and _resumed_then_expired(before, after):
        return
    _check_move(before, after, "SUSPENDED", "RUNNING", "unsuspend")


def _resumed_then_expired(before: Job, after: Job) -> bool:
    deadline = before["status"].get("expiresAt")
    states = [update for update in after.get("updates") or [] if update.get("state") is not None]
    if deadline is None or len(states) < 2:
        return False
    resumed, expired = states[-2], states[-1]
    return (resumed["state"], expired["state"]) == ("RUNNING", "EXPIRED") and \
        (expired.get("timestamp") or 0) >= deadline


def _check_move(before: Job, after: Job, source: str, target: str, call: str) -> None:
    check_final_unchanged(before, after)
    expected = target if _state(before) == source else _state(before)
    if _state(after) != expected:
        raise InvariantViolation(f"{call} moves {source} to {target}", str(after["id"]),
                                 f"the job was {_state(before)} and after {call} it is {_state(after)}",
                                 "/status/state", expected, _state(after))


# ------------------------------------------------------------------ sessions, products, sharing

@_checks("a session opens only on a running job, on the rank and of the kind asked for")
def check_session(before: Job, status: int, body: Any, rank: int, kind: str) -> None:
    """openInteractiveSession answers 200 with that session for a running job, and 400 for any other."""
    job_id = str(before["id"])
    if _state(before) != "RUNNING":
        if status != 400:
            raise InvariantViolation("a session opens only on a running job", job_id,
                                     f"a {_state(before)} job answered {status}", "", "400", str(status))
        return
    session = body["responses"][0]["session"] if status == 200 else None
    if session is None or (session["jobId"], session["rank"], session["type"]) != (job_id, rank, kind.lower()):
        raise InvariantViolation("a session names its job, rank and kind", job_id, f"got {status}: {body}",
                                 "/responses/0/session", f"{kind.lower()} on {job_id}/{rank}", str(session))


@_checks("the products of one's jobs are offered")
def check_products_offered(catalogue: Mapping[str, Any], products: Iterable[Mapping[str, Any]]) -> None:
    """retrieveProducts lists the product of every job one could create."""
    offered = {(entry["product"]["name"], entry["product"]["category"]["name"], provider)
               for provider, entries in catalogue["productsByProvider"].items() for entry in entries}
    for product in products:
        key = (product["id"], product["category"], product["provider"])
        if key not in offered:
            raise InvariantViolation("the products of one's jobs are offered", None, f"{key} is not offered",
                                     "/productsByProvider", "/".join(key), "absent")


@_checks("utilization counts the running and queued jobs")
def check_utilization(body: Mapping[str, Any], running: int, pending: int) -> None:
    """On a mock with no other users, the queue status counts exactly the jobs one has running and queued."""
    got = (body["queueStatus"]["running"], body["queueStatus"]["pending"])
    if got != (running, pending):
        raise InvariantViolation("utilization counts the running and queued jobs", None,
                                 f"running and pending are {got}, the jobs say {(running, pending)}",
                                 "/queueStatus", str((running, pending)), str(got))


@_checks("without READ a job is invisible")
def check_invisible(job_id: str, status: int, browsed: Iterable[Job]) -> None:
    """A user without READ on a job gets 404 for it, and browse does not show it."""
    if status != 404 or any(str(item["id"]) == job_id for item in browsed):
        raise InvariantViolation("without READ a job is invisible", job_id,
                                 f"retrieve answered {status}, or browse showed it", "", "404 and absent", str(status))


@_checks("READ without EDIT changes nothing")
def check_read_only(before: Job, after: Job) -> None:
    """A user with READ but not EDIT is refused extend, terminate, suspend and unsuspend, and nothing changes."""
    check_unchanged(before, after, "READ without EDIT changes nothing")

# ------------------------------------------------------------------ jobs.follow: the frames of one stream
Frames = Sequence[Mapping[str, Any]]


def _streamed(frames: Frames) -> list[Mapping[str, Any]]:
    return [frame["payload"] for frame in frames if frame.get("type") == "message"]


@_checks("the first message of a stream is the job's status, with no updates and no log")
def check_follow_first(frames: Frames) -> None:
    """Old updates and log are not sent again: the first message carries the status (and maybe the job) only."""
    first = (_streamed(frames) or [{}])[0]
    if first.get("updates") or first.get("log"):
        raise InvariantViolation("the first message has no updates and no log", None, "old history was re-sent",
                                 "/payload", "[] and []", f"{len(first.get('updates') or [])} updates")


@_checks("a followed job's status only moves forward")
def check_follow_forward(frames: Frames) -> None:
    """No state follows a final one, and only a suspended job goes back to the queue (REFERENCE.md §4.3)."""
    states = [message["newStatus"]["state"] for message in _streamed(frames) if message.get("newStatus")]
    for before, after in itertools.pairwise(states):
        if before != after and (_is_final(before) or (after == "IN_QUEUE" and before != "SUSPENDED")):
            raise InvariantViolation("statuses only move forward", None, f"{before} was followed by {after}",
                                     "/payload/newStatus/state", f"a state after {before}", after)


@_checks("no update is sent twice")
def check_follow_updates_once(frames: Frames) -> None:
    """Each update reaches a follower once."""
    seen: set[str] = set()
    for message in _streamed(frames):
        for update in message.get("updates") or []:
            key = repr(sorted(update.items()))
            if key in seen:
                raise InvariantViolation("no update is sent twice", None, f"{update} came again", "/payload/updates")
            seen.add(key)


@_checks("a stream that ends well ends at a final state")
def check_follow_end(frames: Frames) -> None:
    """A ``response`` frame with status 200 ends the stream, after a message whose status is final; nothing
    follows it."""
    ends = [index for index, frame in enumerate(frames) if frame.get("type") == "response"]
    if not ends or frames[ends[0]].get("status") != 200:
        return
    states = [message["newStatus"]["state"] for message in _streamed(frames[:ends[0]]) if message.get("newStatus")]
    if ends[0] != len(frames) - 1 or not states or not _is_final(states[-1]):
        last = states[-1] if states else "none"
        raise InvariantViolation("the stream ends at a final state", None, f"it ended after {last}, and "
                                 f"{len(frames) - 1 - ends[0]} frames followed", "/status", "final, then nothing", last)
