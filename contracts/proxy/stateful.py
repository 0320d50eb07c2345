"""Checks across calls: what the proxy saw of a job before, against what it sees now.

The proxy keeps the last view of each job it saw (the newest ``capacity`` jobs) and the extensions asked for
since. Each new view is held to the API's invariants (``contracts.testing.invariants``: final states never
change, updates only grow and are in time order, extend moves expiresAt by exactly what was asked) and to the
moves a state may make (``x-transitions`` of JobState in the spec): a state that goes backwards is drift.
"""

from __future__ import annotations

import itertools
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from contracts.errors import ContractViolation, Violation
from contracts.testing.invariants import (
    InvariantViolation,
    check_extended,
    check_final_unchanged,
    check_updates,
    duration_ms,
)
from contracts.vocabulary import Vocabulary, default_vocabulary

__all__ = ["JobMemory", "check_transitions", "state_path", "violation_of"]

Job = Mapping[str, Any]


def _states(updates: Iterable[Mapping[str, Any]]) -> list[str]:
    return [str(update["state"]) for update in updates if isinstance(update, Mapping) and update.get("state")]


def state_path(before: Job | None, after: Job) -> list[str] | None:
    """The states the job went through from ``before`` to ``after``, one move at a time, or None when the views
    do not tell (UCloud sends updates only with includeUpdates=true, so the states in between may be unseen).

    Without ``before``, the path is the job's own history: its updates' states, then its state.
    """
    updates = list(after.get("updates") or [])
    if before is None:
        path = [*_states(updates), str(after["status"]["state"])]
    else:
        earlier = list(before.get("updates") or [])
        if not earlier or updates[: len(earlier)] != earlier:
            return None
        path = [str(before["status"]["state"]), *_states(updates[len(earlier):]), str(after["status"]["state"])]
    return [state for index, state in enumerate(path) if index == 0 or state != path[index - 1]]


def _reachable(vocabulary: Vocabulary, source: str, target: str) -> bool:
    seen, frontier = {source}, [source]
    while frontier:
        state = frontier.pop()
        for following in vocabulary.transitions.get(state, ()):
            if following not in seen:
                seen.add(following)
                frontier.append(following)
    return target in seen or source not in vocabulary.transitions


def check_transitions(before: Job | None, after: Job, vocabulary: Vocabulary | None = None) -> None:
    """Every move of the job's state that the views show is one the contract allows (``x-transitions``); where
    the views do not show the moves, the new state can at least be reached from the old one."""
    vocabulary = vocabulary or default_vocabulary()
    path = state_path(before, after)
    if path is None:
        assert before is not None
        check_transitions(None, after, vocabulary)  # the job's own history
        source, target = str(before["status"]["state"]), str(after["status"]["state"])
        if not _reachable(vocabulary, source, target):
            raise InvariantViolation("a state moves only as JobState allows", str(after["id"]),
                                     f"the job went from {source} to {target}, which no moves of JobState allow",
                                     "/status/state", source, target)
        return
    for source, target in itertools.pairwise(path):
        allowed = vocabulary.transitions.get(source)
        if allowed is None or target in allowed:
            continue  # an unknown state is the schema's to report
        moves = ", ".join(sorted(allowed))
        rule = f"{source} moves only to {moves}" if allowed else f"{source} is final and moves nowhere"
        raise InvariantViolation("a state moves only as JobState allows", str(after["id"]),
                                 f"the job went from {source} to {target}; {rule}", "/status/state",
                                 f"one of {moves}" if allowed else source, target)


@dataclass
class _Seen:
    job: Job
    extended_ms: int = 0
    before_extend: Job | None = None


@dataclass
class JobMemory:
    """The last view of each job (the newest ``capacity`` jobs), and the checks a new view must pass."""

    capacity: int = 10_000
    vocabulary: Vocabulary = field(default_factory=default_vocabulary)
    _jobs: OrderedDict[str, _Seen] = field(default_factory=OrderedDict)

    def __len__(self) -> int:
        return len(self._jobs)

    def extended(self, job_id: str, requested: Mapping[str, Any]) -> None:
        """A 200 to jobs.extend asked for ``requested`` (a SimpleDuration) more for ``job_id``."""
        seen = self._jobs.get(job_id)
        if seen is None:
            return  # never seen before the extension: nothing to hold it to
        if seen.before_extend is None:
            seen.before_extend = seen.job
        seen.extended_ms += duration_ms(requested) or 0

    def observe(self, job: Job) -> list[ContractViolation]:
        """Check a new view of a job (valid against the contract) against the last one, then keep it; every
        invariant it breaks."""
        job_id = str(job.get("id"))
        seen = self._jobs.get(job_id)
        if seen is not None and seen.before_extend is None and seen.job == job:
            self._jobs.move_to_end(job_id)
            return []  # the same view again: it holds wherever the last one held
        self._jobs.pop(job_id, None)
        before = seen.job if seen is not None else None
        checks: list[Callable[[], None]] = [lambda: check_transitions(before, job, self.vocabulary)]
        if before is not None:
            checks.append(lambda: check_final_unchanged(before, job))
            if job.get("updates"):  # without updates (includeUpdates=false) there is nothing to compare
                checks.append(lambda: check_updates(before if before.get("updates") else None, job))
            if seen is not None and seen.before_extend is not None:
                start, total = seen.before_extend, seen.extended_ms
                checks.append(lambda: check_extended(start, job, total, None))
        elif job.get("updates"):
            checks.append(lambda: check_updates(None, job))
        found = []
        for check in checks:
            try:
                check()
            except ContractViolation as violation:
                found.append(violation)
        self._jobs[job_id] = _Seen(job)
        while len(self._jobs) > self.capacity:
            self._jobs.popitem(last=False)
        return found


def violation_of(error: ContractViolation) -> list[Violation]:
    """The violations an invariant's failure carries, with its subject in each message."""
    return [Violation(item.pointer, item.keyword, item.expected, item.actual, f"{error.subject}: {item.message}")
            for item in error.violations]
