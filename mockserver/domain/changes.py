"""Who hears about changed jobs: each new version of a job, in the order the versions were made.

An operation (a request, a move of the clock, a reset) may change several jobs, one event at a time, in
timestamp order. The versions it makes are kept until the operation ends and then handed to every listener,
still under the engine's lock, so listeners hear the operations in the order they happened and never see half
of one. Listeners must be quick: they run inside the operation (``jobs.follow`` only queues frames). Nothing
runs in the background: a version is made only when a request, the clock or a test moves the state.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from typing import Protocol

from mockserver.domain.jobs import Job

__all__ = ["ChangeListener", "Changes"]


class ChangeListener(Protocol):
    """Hears what operations did to the jobs."""

    def changed(self, versions: Sequence[Job]) -> None:
        """The new versions of jobs one operation made, oldest first."""

    def restarted(self) -> None:
        """Every job was forgotten: the scenario started again."""


class Changes:
    """The versions an operation makes, published to the listeners when the operation ends."""

    def __init__(self) -> None:
        self._listeners: list[ChangeListener] = []
        self._pending: list[Job] = []
        self._depth = 0

    def listen(self, listener: ChangeListener) -> Callable[[], None]:
        """Hear every operation from now on; the function returned stops it."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def record(self, job: Job) -> None:
        """A new version of a job (kept only while someone listens)."""
        if self._listeners:
            self._pending.append(job)

    @contextlib.contextmanager
    def operation(self) -> Iterator[None]:
        """One operation (nested ones are part of it); its versions are published when the outermost ends."""
        self._depth += 1
        try:
            yield
        finally:
            self._depth -= 1
            if self._depth == 0 and self._pending:
                versions, self._pending = self._pending, []
                for listener in list(self._listeners):
                    listener.changed(versions)

    def restarted(self) -> None:
        """Tell the listeners that every job was forgotten; what was pending is dropped."""
        self._pending = []
        for listener in list(self._listeners):
            listener.restarted()
