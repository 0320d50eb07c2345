"""The events that time brings, in timestamp order: leaving the queue, expiry, scripted provider updates.

A job's *natural* next event (from the lifecycle) is rescheduled whenever the job changes, and an entry the
job has since outgrown is skipped when it falls due; *scripted* events always apply.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from mockserver.domain.lifecycle import Event

__all__ = ["Timeline"]

_COMPACT_SLACK = 1024


@dataclass(order=True, frozen=True, slots=True)
class _Due:
    at: int
    seq: int
    job_id: str
    event: Event
    natural: bool


def _key(entry: _Due) -> tuple[int, type]:
    return entry.at, type(entry.event)


class Timeline:
    """A heap of due events, with each job's current natural event and its scripted ones still to come."""

    def __init__(self) -> None:
        self._due: list[_Due] = []
        self._natural: dict[str, _Due] = {}
        self._scripted: dict[str, list[_Due]] = {}
        self._seq = itertools.count()

    def schedule(self, at: int, job_id: str, event: Event) -> None:
        """A scripted event: it applies at ``at`` whatever happens to the job before."""
        entry = _Due(at, next(self._seq), job_id, event, natural=False)
        heapq.heappush(self._due, entry)
        self._scripted.setdefault(job_id, []).append(entry)

    def track(self, job_id: str, due: tuple[int, Event] | None) -> None:
        """The job's natural next event is now ``due`` (None: nothing); an older one is forgotten."""
        if due is None:
            self._natural.pop(job_id, None)
            return
        current = self._natural.get(job_id)
        if current is not None and _key(current) == (due[0], type(due[1])):
            return
        entry = _Due(due[0], next(self._seq), job_id, due[1], natural=True)
        self._natural[job_id] = entry
        heapq.heappush(self._due, entry)
        if len(self._due) > 2 * len(self._natural) + _COMPACT_SLACK:
            self._compact()

    def pop_due(self, now: int) -> Iterator[tuple[int, str, Event]]:
        """The events due at ``now``, oldest first, as (time, job id, event); superseded ones are skipped.

        The caller applies each before asking for the next, so that an event it schedules is seen in order.
        """
        due = self._due
        while due and due[0].at <= now:
            entry = heapq.heappop(due)
            if entry.natural:
                if not self._live(entry):
                    continue  # superseded: the job changed since this was scheduled
                del self._natural[entry.job_id]
            else:
                self._done(entry)
            yield entry.at, entry.job_id, entry.event

    def upcoming(self) -> list[tuple[int, str, Event]]:
        """Every event still to come, in order (superseded natural ones left out)."""
        live = [entry for entry in self._due if self._live(entry)]
        return [(entry.at, entry.job_id, entry.event) for entry in sorted(live)]

    def first(self, limit: int, wanted: Callable[[str], bool] = lambda job_id: True) -> list[tuple[int, str, Event]]:
        """The next ``limit`` events to come of the jobs ``wanted`` says yes to, in order, without sorting the heap.

        A heap's smallest entries are found by walking it from the root, smallest child first: the cost grows
        with ``limit`` (and the superseded entries met on the way), not with the number of jobs.
        """
        due = self._due
        found: list[tuple[int, str, Event]] = []
        frontier = [(due[0], 0)] if due else []
        while frontier and len(found) < limit:
            entry, index = heapq.heappop(frontier)
            if self._live(entry) and wanted(entry.job_id):
                found.append((entry.at, entry.job_id, entry.event))
            for child in (2 * index + 1, 2 * index + 2):
                if child < len(due):
                    heapq.heappush(frontier, (due[child], child))
        return found

    def of(self, job_id: str) -> list[tuple[int, Event]]:
        """The events still to come for one job, in order."""
        natural = self._natural.get(job_id)
        mine = sorted([*self._scripted.get(job_id, ()), *([] if natural is None else [natural])])
        return [(entry.at, entry.event) for entry in mine]

    def _live(self, entry: _Due) -> bool:
        """Whether an entry will apply: scripted ones always, natural ones while the job still expects them."""
        return not entry.natural or self._natural.get(entry.job_id) is entry

    def _done(self, entry: _Due) -> None:
        """A scripted entry has fallen due: it is no longer to come."""
        mine = self._scripted[entry.job_id]
        mine.remove(entry)
        if not mine:
            del self._scripted[entry.job_id]

    def _compact(self) -> None:
        """Drop superseded entries, so that a job extended a million times costs one entry, not a million."""
        self._due = [entry for entry in self._due if self._live(entry)]
        heapq.heapify(self._due)
