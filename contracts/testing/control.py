"""What the testing tools need from a mock beyond the Jobs API: reset it, move its clock, choose its scenario.

``mockserver`` implements this protocol in process and over HTTP; the tools here never name a mock's URL. A
live provider has no control, and the checks that need one are skipped.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from contracts.profiles import DEFAULT_ERA

__all__ = ["MockControl", "Stage"]


@dataclass(frozen=True)
class Stage:
    """What a mock is playing: a scenario, under a profile, in an era of the documentation."""

    scenario: str
    profile: str
    era: str = DEFAULT_ERA


class MockControl(Protocol):
    """The control calls of a mock of the Jobs API."""

    def reset(self) -> None:
        """Forget every job and restart the current scenario."""
        ...

    def advance(self, ms: int) -> int:
        """Move the clock forward by ``ms`` and return the new time (epoch ms)."""
        ...

    def now_ms(self) -> int:
        """The clock (epoch ms)."""
        ...

    def stage(self) -> Stage:
        """The scenario and profile being played."""
        ...

    def load_scenario(self, name: str, profile: str | None = None, era: str | None = None) -> None:
        """Start a scenario by name, under ``profile`` and in ``era`` (its own when None)."""
        ...
