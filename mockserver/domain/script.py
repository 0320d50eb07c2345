"""A scenario's script at run time: which step a request plays, and where the clock stands for it.

A request that makes the next step's call plays that step: it is served at the step's time (the clock never goes
back) and the cursor moves on. A request to another call is served off the script, on the clock as it stands,
and does not use up the step; nor does a request the domain refuses (the engine rolls the cursor back), unless
the step expects a refusal (its ``expect`` status is not 200). Once the
steps are used up, the clock holds, or moves by the scenario's tick per request.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass

from contracts.scenario import Scenario, Step

__all__ = ["Cue", "Script"]


@dataclass(frozen=True)
class Cue:
    """How one request met the script: the step it played (1-based), or the step still waiting for its call."""

    operation: str
    total: int
    played: int | None = None
    waiting: int | None = None
    expected: str | None = None

    @property
    def off_script(self) -> bool:
        """Whether the request was served although the script expected another call."""
        return self.waiting is not None

    def describe(self) -> str:
        """A few words for the log and the journal."""
        if self.played is not None:
            return f"step {self.played} of {self.total}"
        if self.waiting is not None:
            return f"off script: step {self.waiting} of {self.total} expects {self.expected}"
        return "after the script" if self.total else "no script"


class Script:
    """Counts the requests served and the steps played; says where the clock stands for each request."""

    def __init__(self, scenario: Scenario) -> None:
        self._scenario = scenario
        self._steps = scenario.steps
        self.served = 0
        self.cursor = 0
        self._local = threading.local()

    @property
    def next_step(self) -> Step | None:
        """The step the next matching request plays, if any remain."""
        return self._steps[self.cursor] if self.cursor < len(self._steps) else None

    def next_request(self, now: int, operation: str) -> int:
        """The clock reading at which this request is served (``now`` or later); counts it."""
        self.served += 1
        step = self.next_step
        total = len(self._steps)
        if step is None:
            self._note(Cue(operation, total))
            return now + self._scenario.tick_after_script_ms
        if step.call != operation or getattr(self._local, "probing", False):
            self._note(Cue(operation, total, waiting=self.cursor + 1, expected=step.call))
            return now
        self.cursor += 1
        self._note(Cue(operation, total, played=self.cursor))
        return max(self._scenario.clock_start_ms + step.at_ms, now)

    def step_ids(self) -> tuple[str, ...]:
        """The ids the step being played gives the jobs it creates (none off the script)."""
        cue = self.cue()
        return self._steps[cue.played - 1].ids if cue is not None and cue.played is not None else ()

    def rollback(self) -> None:
        """The request was refused: the step it played is still to be played, unless it expected a refusal."""
        cue = self.cue()
        if cue is not None and cue.played is not None and self._steps[cue.played - 1].expect_status == 200:
            self.cursor = cue.played - 1
            self._note(Cue(cue.operation, cue.total, waiting=cue.played, expected=self._steps[self.cursor].call))

    @contextlib.contextmanager
    def probing(self) -> Iterator[None]:
        """Requests of this thread play no step (a HEAD request looks, it does not act)."""
        self._local.probing = True
        try:
            yield
        finally:
            self._local.probing = False

    def forget(self) -> None:
        """Forget this thread's last cue."""
        self._local.cue = None

    def _note(self, cue: Cue) -> None:
        self._local.cue = cue

    def cue(self) -> Cue | None:
        """How this thread's last request met the script."""
        cue: Cue | None = getattr(self._local, "cue", None)
        return cue
