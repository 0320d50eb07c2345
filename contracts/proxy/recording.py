"""``--record FILE``: a session through the proxy written as a scenario that ``ucloud-jobs serve`` replays.

The scenario holds what the format can hold (``openapi/scenario.schema.json``): the clock readings of the
calls (``contracts.proxy.timing``), each job's real id, the calls in order as steps, who made them (by name,
never by token), the queue delay and the provider's status texts, the jobs that existed before, the products
used, and the provider's own changes as events (``contracts.proxy.histories``). It never holds a response
body: replaying it, the mock computes the answers. What the recording could not hold is listed beside it.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from contracts.proxy.histories import Call, Inference, JobTrack, infer, jobs_in, tracks
from contracts.proxy.timing import readings

__all__ = ["Call", "Recorder", "Recording"]

_MESSAGES = ("queued", "running", "cancelled", "expired", "suspended")
_SPECIFICATION_KEYS = ("application", "product", "name", "replicas", "allowDuplicateJob", "parameters", "resources",
                       "timeAllocation", "openedFile", "restartOnExit", "sshEnabled")


@dataclass(frozen=True)
class Recording:
    """A scenario document, and what it could not hold (each a sentence)."""

    document: dict[str, Any]
    unheld: tuple[str, ...]


@dataclass
class Recorder:
    """Collects the calls of a session (at most ``limit``) and writes them as a scenario."""

    limit: int = 10_000
    calls: list[Call] = field(default_factory=list)
    unheld: list[str] = field(default_factory=list)
    dropped: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, call: Call, why_not_a_step: str | None = None) -> None:
        """One answered call, in the order the upstream answered them."""
        with self._lock:
            if len(self.calls) >= self.limit:
                self.dropped += 1
                return
            self.calls.append(call)
            if why_not_a_step is not None and len(self.unheld) < self.limit:
                self.unheld.append(f"call {len(self.calls)} ({call.call}, answered {call.status}) is not a step: "
                                   f"{why_not_a_step}")

    def build(self, name: str, description: str, is_placeholder: Callable[[str], bool] = lambda name: False
              ) -> Recording:
        """The scenario of everything recorded so far."""
        with self._lock:
            calls, unheld, dropped = list(self.calls), list(self.unheld), self.dropped
        if dropped:
            unheld.append(f"the recording stopped after {len(calls)} calls; {dropped} more were not recorded")
        calls = _named(calls, is_placeholder)
        found = tracks(calls)
        inference = infer(calls, found)
        clock, notes = readings([call.wall_ms for call in calls], inference.anchors, inference.lower)
        unheld += notes
        start = min(clock, default=0)
        document = _document(name, description, calls, found, inference=inference, clock=clock, start=start)
        unheld += _events(document, found, inference, clock, start)
        return Recording(document, tuple(unheld))


def _named(calls: list[Call], is_placeholder: Callable[[str], bool]) -> list[Call]:
    """Placeholder names replaced by the owner of the jobs that caller created, where the answers show one."""
    creators: dict[str, str] = {}
    created: dict[str, str] = {}
    for call in calls:
        if call.call == "jobs.create" and call.user and isinstance(call.response, Mapping):
            for entry in call.response.get("responses") or []:
                if isinstance(entry, Mapping) and isinstance(entry.get("id"), str):
                    created[entry["id"]] = call.user
        for job in jobs_in(call):
            maker = created.get(str(job.get("id")))
            owner = (job.get("owner") or {}).get("createdBy")
            if maker is not None and is_placeholder(maker) and isinstance(owner, str):
                creators.setdefault(maker, owner)
    if not creators:
        return calls
    return [Call(**{**call.__dict__, "user": creators.get(call.user or "", call.user)}) for call in calls]


def _profile(found: Mapping[str, JobTrack]) -> dict[str, Any]:
    """The profile and era whose rendering the jobs have: 2021's docs (acl, billing), the service's
    (permissions filled in), or 2024's docs."""
    first = next(iter(found.values()), None)
    if first is None:
        return {}
    job = first.job
    if "acl" in job and "billing" in job:
        return {"profile": "docs", "era": "2021"}
    if job.get("permissions") is not None:
        return {"profile": "ucloud"}
    return {"profile": "docs", "era": "2024"}


def _document(name: str, description: str, calls: Sequence[Call], found: Mapping[str, JobTrack], *,
              inference: Inference, clock: Sequence[int], start: int) -> dict[str, Any]:
    users = Counter(call.user for call in calls if call.user)
    user = users.most_common(1)[0][0] if users else "user"
    delays = [delay for delay, _ in inference.delays.values()]
    document: dict[str, Any] = {"version": 1, "name": name, "title": "A session recorded through ucloud-jobs proxy",
                                "description": description, **_profile(found),
                                "clock": {"start": start, "afterScript": "hold"},
                                "queueDelay": max(delays, default=0), "user": user}
    messages = {kind: inference.messages[kind].most_common(1)[0][0] for kind in _MESSAGES
                if kind in inference.messages}
    if messages:
        document["messages"] = messages
    products = _products(calls)
    if products:
        document["products"] = products
    presets = [_preset(track, start) for track in found.values() if track.created_by_call is None]
    if presets:
        document["jobs"] = presets
    document["steps"] = [_step(call, clock[index] - start, user) for index, call in enumerate(calls) if call.step]
    return document


def _step(call: Call, at: int, default_user: str) -> dict[str, Any]:
    step: dict[str, Any] = {"at": at, "call": call.call}
    if call.request is not None:
        step["request"] = call.request
    if call.user and call.user != default_user:
        step["user"] = call.user
    if call.project:
        step["project"] = call.project
    if call.call == "jobs.create" and call.status == 200 and isinstance(call.response, Mapping):
        ids = [entry["id"] for entry in call.response.get("responses") or []
               if isinstance(entry, Mapping) and isinstance(entry.get("id"), str)]
        if ids:
            step["ids"] = ids
    if call.status != 200:
        step["expect"] = {"status": call.status}
    return step


def _products(calls: Sequence[Call]) -> list[dict[str, Any]]:
    """The catalogue: what retrieveProducts answered, else the documented example's plus the products used."""
    for call in calls:
        if call.call == "jobs.retrieveProducts" and call.status == 200 and isinstance(call.response, Mapping):
            return [_offer(entry) for entries in (call.response.get("productsByProvider") or {}).values()
                    for entry in entries if isinstance(entry, Mapping)]
    from contracts.scenario_model import scenario_schema  # noqa: PLC0415 - the documented catalogue, on demand

    catalogue: list[dict[str, Any]] = list(scenario_schema()["properties"]["products"]["default"])
    known = {(offer["id"], offer["category"], offer["provider"]) for offer in catalogue}
    used = []
    for call in calls:
        if call.call == "jobs.create" and isinstance(call.request, Mapping):
            for item in call.request.get("items") or []:
                product = item.get("product") if isinstance(item, Mapping) else None
                key = (product.get("id"), product.get("category"), product.get("provider")) \
                    if isinstance(product, Mapping) else None
                if key is not None and key not in known and all(isinstance(part, str) for part in key):
                    known.add(key)
                    used.append({"id": key[0], "category": key[1], "provider": key[2],
                                 "support": catalogue[0]["support"]})
    return [*catalogue, *used] if used else []


def _offer(entry: Mapping[str, Any]) -> dict[str, Any]:
    product = entry.get("product") or {}
    category = product.get("category") or {}
    support = entry.get("support") or {}
    backends = {}
    for backend in ("docker", "virtualMachine", "native"):
        flags = support.get(backend)
        if isinstance(flags, Mapping):
            backends[backend] = {key: value for key, value in flags.items()
                                 if key in ("enabled", "web", "vnc", "logs", "terminal", "peers", "timeExtension",
                                            "suspension", "utilization") and isinstance(value, bool)}
    offer = {"id": product.get("name"), "category": category.get("name"), "provider": category.get("provider"),
             "support": backends}
    for key in ("description", "cpu", "memoryInGigs", "gpu", "pricePerUnit", "freeToUse"):
        if product.get(key) is not None:
            offer[key] = product[key]
    return offer


def _preset(track: JobTrack, start: int) -> dict[str, Any]:
    """A job that existed before the session: its specification and the history it had by the start."""
    job = track.job
    owner = job.get("owner") or {}
    specification = {key: value for key, value in (job.get("specification") or {}).items()
                     if key in _SPECIFICATION_KEYS}
    preset: dict[str, Any] = {"id": track.id, "createdAt": track.created_at, "specification": specification}
    if owner.get("createdBy"):
        preset["user"] = owner["createdBy"]
    if owner.get("project"):
        preset["project"] = owner["project"]
    history = [update for update in track.updates[1:] if int(update.get("timestamp") or 0) <= start]
    if history:
        preset["updates"] = [{"after": int(update.get("timestamp") or 0) - track.created_at,
                              **{key: update[key] for key in ("state", "status", "outputFolder")
                                 if update.get(key) is not None}} for update in history]
    return preset


def _events(document: dict[str, Any], found: Mapping[str, JobTrack], inference: Inference, clock: Sequence[int],
            start: int) -> list[str]:
    """The provider's own changes as events; what cannot be held is said."""
    delay = document["queueDelay"]
    running = document.get("messages", {}).get("running")
    events: list[dict[str, Any]] = []
    unheld: list[str] = []
    changes = list(inference.changes)
    for job_id, (job_delay, status) in inference.delays.items():
        if job_delay != delay or status != running:  # the queue delay does not explain this job's start
            track = found[job_id]
            changes.append((job_id, track.created_at + job_delay, {"state": "RUNNING", "status": status}))
    for job_id, index, state in inference.unseen:
        changes.append((job_id, clock[index], {"state": state}))
        unheld.append(f"job {job_id} was {state} at call {index + 1}; its updates were not shown, so the "
                      "recording puts the change at that call and without a status text")
    for job_id, stamp, update in sorted(changes, key=lambda change: (change[1], change[0])):
        track = found[job_id]
        origin = track.created_at if track.created_by_call is not None else start
        if track.created_by_call is None and stamp <= start:
            continue  # part of the preset job's history
        if stamp < origin:
            unheld.append(f"job {job_id}: an update stamped {stamp}, before the job could have it, is left out")
            continue
        event = {"job": job_id, "after": stamp - origin,
                 **{key: update[key] for key in ("state", "status", "outputFolder") if update.get(key) is not None}}
        if len(event) > 2:
            events.append(event)
        else:
            unheld.append(f"job {job_id}: an update at {stamp} that changes no state, status or output folder")
    if events:
        document["events"] = events
    return unheld
