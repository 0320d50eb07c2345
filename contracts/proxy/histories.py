"""What the answers of a recorded session tell about each job: when it was created, what happened to it and
why, as far as a scenario can say it.

A change the mock makes by itself on replay (leaving the queue after the queue delay, the user's terminate,
suspend, unsuspend or extend, expiry) is explained by the scenario's settings and steps; the update's stamp is
then an anchor of the clock at the step that caused it. Any other change is the provider's own, and becomes an
event of the scenario.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Call", "Inference", "JobTrack", "infer", "jobs_in"]

Job = Mapping[str, Any]
_CAUSES = {"jobs.terminate": "id", "jobs.suspend": "id", "jobs.unsuspend": "id", "jobs.extend": "jobId"}


@dataclass(frozen=True)
class Call:
    """One answered call of the Jobs API, as the recorder keeps it."""

    call: str
    request: Any
    user: str | None
    project: str | None
    wall_ms: int
    status: int
    response: Any
    step: bool = True  # whether the mock's script can play it (a valid request, an answer the engine gives)


def jobs_in(call: Call) -> list[Job]:
    """The jobs an answer shows."""
    if call.status != 200 or not isinstance(call.response, Mapping):
        return []
    if call.call == "jobs.retrieve":
        return [call.response]
    if call.call in ("jobs.browse", "jobs.search"):
        return [item for item in call.response.get("items") or [] if isinstance(item, Mapping)]
    return []


@dataclass
class JobTrack:
    """One job as the session saw it."""

    job: Job  # its first view
    created_by_call: int | None = None
    views: list[int] = field(default_factory=list)
    lengths: list[tuple[int, int]] = field(default_factory=list)  # (call, how many updates that view shows)
    updates: list[Job] = field(default_factory=list)  # the longest history seen

    @property
    def id(self) -> str:
        """The job's id."""
        return str(self.job["id"])

    @property
    def created_at(self) -> int:
        """Its createdAt."""
        return int(self.job["createdAt"])


@dataclass
class Inference:
    """What the histories say: clock anchors and bounds, queue delays, status texts, and the provider's changes."""

    anchors: dict[int, int] = field(default_factory=dict)
    lower: list[int] = field(default_factory=list)
    delays: dict[str, tuple[int, str | None]] = field(default_factory=dict)  # job -> (delay, its status text)
    messages: dict[str, Counter[str | None]] = field(default_factory=dict)
    changes: list[tuple[str, int, Job]] = field(default_factory=list)  # (job, stamp, update): the provider's own
    unseen: list[tuple[str, int, str]] = field(default_factory=list)  # (job, call, state): a change seen, not when

    def message(self, kind: str, text: str | None) -> None:
        """A status text the provider used for ``kind`` (queued, running, cancelled, suspended, expired)."""
        self.messages.setdefault(kind, Counter())[text] += 1


def tracks(calls: Sequence[Call]) -> dict[str, JobTrack]:
    """Every job the answers show, with the call that created it."""
    found: dict[str, JobTrack] = {}
    created: dict[str, int] = {}
    for index, call in enumerate(calls):
        if call.call == "jobs.create" and call.status == 200 and isinstance(call.response, Mapping):
            for entry in call.response.get("responses") or []:
                if isinstance(entry, Mapping) and isinstance(entry.get("id"), str):
                    created.setdefault(entry["id"], index)
        for job in jobs_in(call):
            track = found.setdefault(str(job["id"]), JobTrack(job, created.get(str(job["id"]))))
            track.views.append(index)
            track.lengths.append((index, len(job.get("updates") or [])))
            if len(job.get("updates") or []) > len(track.updates):
                track.updates = list(job["updates"])
    return found


def _actions(calls: Sequence[Call]) -> dict[str, list[tuple[int, str]]]:
    """For each job, the calls (index, operation) that asked for a change of it and were answered 200."""
    found: dict[str, list[tuple[int, str]]] = {}
    for index, call in enumerate(calls):
        key = _CAUSES.get(call.call)
        if key is None or call.status != 200 or not isinstance(call.request, Mapping):
            continue
        for item in call.request.get("items") or []:
            if isinstance(item, Mapping) and key in item:
                found.setdefault(str(item[key]), []).append((index, call.call))
    return found


def _lower_bounds(calls: Sequence[Call]) -> list[int]:
    bounds = []
    for call in calls:
        stamps = [0]
        for job in jobs_in(call):
            stamps.append(int(job.get("createdAt") or 0))
            stamps += [int(update.get("timestamp") or 0) for update in job.get("updates") or []]
            stamps.append(int((job.get("status") or {}).get("startedAt") or 0))
        bounds.append(max(stamps))
    return bounds


def infer(calls: Sequence[Call], found: Mapping[str, JobTrack]) -> Inference:
    """Anchors, bounds, delays, messages and the provider's own changes, from every job's history."""
    inference = Inference(lower=_lower_bounds(calls))
    actions = _actions(calls)
    for track in found.values():
        if track.created_by_call is not None:
            inference.anchors.setdefault(track.created_by_call, track.created_at)
        if track.updates:
            _history(track, actions.get(track.id, []), inference)
        else:
            _states_only(track, calls, actions.get(track.id, []), inference)
    return inference


def _history(track: JobTrack, actions: list[tuple[int, str]], inference: Inference) -> None:
    """A job whose updates were seen: each update explained by the mock's own doing, or the provider's change."""
    state = None
    for position, update in enumerate(track.updates):
        stamp, new = int(update.get("timestamp") or 0), update.get("state")
        # The first view that shows the update, and the last one before it that did not: its cause lies between.
        seen_at = next(index for index, length in track.lengths if length > position)
        before = max([index for index, length in track.lengths if index < seen_at and length <= position]
                     + [-1 if track.created_by_call is None else track.created_by_call])
        cause = [(index, name) for index, name in actions if before < index < seen_at]
        explained = _explain(track, position, state, update, cause=cause, inference=inference)
        if not explained:
            inference.changes.append((track.id, stamp, update))
        if new is not None:
            state = new


def _explain(track: JobTrack, position: int, state: str | None, update: Job, *, cause: list[tuple[int, str]],
             inference: Inference) -> bool:
    """Whether the mock makes this update by itself; an anchor or a setting is noted when it does."""
    new, stamp, status = update.get("state"), int(update.get("timestamp") or 0), update.get("status")
    caused = {name: index for index, name in cause}
    if position == 0 and new == "IN_QUEUE" and stamp == track.created_at:
        inference.message("queued", status)
        return True
    if update.get("newTimeAllocation") is not None and "jobs.extend" in caused:
        inference.anchors.setdefault(caused["jobs.extend"], stamp)
        return True
    if new == "RUNNING" and state == "IN_QUEUE":
        inference.delays.setdefault(track.id, (stamp - track.created_at, status))
        inference.message("running", status)
        return True  # whether the queue delay explains it is decided once every delay is known
    kinds = {"SUSPENDED": ("jobs.suspend", "suspended"), "RUNNING": ("jobs.unsuspend", "running")}
    if new in kinds and kinds[new][0] in caused and (new != "RUNNING" or state == "SUSPENDED"):
        inference.anchors.setdefault(caused[kinds[new][0]], stamp)
        inference.message(kinds[new][1], status)
        return True
    if new == "SUCCESS" and "jobs.terminate" in caused:
        inference.anchors.setdefault(caused["jobs.terminate"], stamp)
        inference.message("cancelled", status)
        return True
    if new == "EXPIRED" and state == "RUNNING":
        inference.message("expired", status)
        return True
    return False


def _states_only(track: JobTrack, calls: Sequence[Call], actions: list[tuple[int, str]],
                 inference: Inference) -> None:
    """A job seen without its updates: its states between views, and startedAt for the run."""
    previous, last_view = None, track.created_by_call if track.created_by_call is not None else -1
    for index in track.views:
        job = next(job for job in jobs_in(calls[index]) if str(job["id"]) == track.id)
        state = str(job["status"]["state"])
        started = job["status"].get("startedAt")
        caused = {name for at, name in actions if last_view < at < index}
        if state == "RUNNING" and previous in (None, "IN_QUEUE") and started is not None:
            inference.delays.setdefault(track.id, (int(started) - track.created_at, None))
        elif previous is not None and state != previous and not _caused(previous, state, caused):
            inference.unseen.append((track.id, index, state))
        previous, last_view = state, index


def _caused(previous: str, state: str, caused: set[str]) -> bool:
    return (state == "SUCCESS" and "jobs.terminate" in caused) or \
        (state == "SUSPENDED" and "jobs.suspend" in caused) or \
        (state == "RUNNING" and previous == "SUSPENDED" and "jobs.unsuspend" in caused) or \
        (state == "EXPIRED" and previous == "RUNNING")
