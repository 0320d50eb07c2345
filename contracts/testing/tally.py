"""How often each check of a verification held: a small counter the checks of ``invariants`` are called through.

The scenarios and the state machine call ``tally(inv.check_extended, before, after, ...)`` instead of the check
itself; the tally counts the call under the check's registered name and, when the check raises, counts a
failure and lets the violation go on. Nothing is parsed from text.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import ParamSpec

from contracts.testing.invariants import invariant_name, invariant_names

__all__ = ["Tally", "TallyRow"]

P = ParamSpec("P")


@dataclass(frozen=True)
class TallyRow:
    """One check in the summary: what it checks, how often it was made and how often it held."""

    name: str
    checked: int
    held: int

    @property
    def failed(self) -> int:
        """How often it failed."""
        return self.checked - self.held


@dataclass
class Tally:
    """Counts, per check, how often it was made and how often it failed.

    ``counting`` is switched off while Hypothesis shrinks a failure, whose re-runs would count one defect many
    times; the checks still run.
    """

    checked: Counter[str] = field(default_factory=Counter)
    failed: Counter[str] = field(default_factory=Counter)
    counting: bool = True

    def __call__(self, check: Callable[P, None], /, *args: P.args, **kwargs: P.kwargs) -> None:
        """Run ``check`` and count it (and its failure, which is raised again)."""
        if not self.counting:
            check(*args, **kwargs)
            return
        name = invariant_name(check)
        self.checked[name] += 1
        try:
            check(*args, **kwargs)
        except Exception:  # a violation, or a response the check could not even read
            self.failed[name] += 1
            raise

    def rows(self) -> list[TallyRow]:
        """Every check that was made, in the order of ``contracts.testing.invariants``."""
        return [TallyRow(name, self.checked[name], self.checked[name] - self.failed[name])
                for name in invariant_names() if self.checked[name]]

    def unchecked(self) -> list[str]:
        """The checks that were never made (a live provider skips those that need a mock's clock)."""
        return [name for name in invariant_names() if not self.checked[name]]
