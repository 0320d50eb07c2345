"""The registry of verification checks, and what every check shares: the violation it raises, durations.

``contracts.testing.invariants`` holds the checks; each is registered here under the name of what it checks
(``checks``), so that ``contracts.testing.tally.Tally`` can count how often each one held.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from contracts.errors import ContractViolation, Violation

__all__ = ["InvariantViolation", "checks", "duration_ms", "invariant_name", "invariant_names"]

Job = Mapping[str, Any]
CheckT = TypeVar("CheckT", bound=Callable[..., None])

_NAMES: dict[Callable[..., None], str] = {}  # filled once, at import, by @checks


def checks(name: str) -> Callable[[CheckT], CheckT]:
    """Register a check function under the name of the invariant (or contract rule) it checks."""

    def register(check: CheckT) -> CheckT:
        _NAMES[check] = name
        return check

    return register


def invariant_name(check: Callable[..., None]) -> str:
    """What ``check`` checks, as the summary of a verification names it; ``KeyError`` for an unregistered one."""
    return _NAMES[check]


def invariant_names() -> tuple[str, ...]:
    """Every registered check's name, in the order they were registered (that of the invariants module)."""
    return tuple(_NAMES.values())


class InvariantViolation(ContractViolation):
    """A response that is valid on its own but breaks an invariant of the API."""

    def __init__(self, invariant: str, job_id: str | None, detail: str,  # noqa: PLR0917 - data first
                 pointer: str = "", expected: str = "", actual: str = "") -> None:
        self.invariant = invariant
        self.job_id = job_id
        subject = f"invariant '{invariant}'" + (f" for job {job_id}" if job_id is not None else "")
        super().__init__(subject, [Violation(pointer, invariant, expected, actual, detail)])


def duration_ms(duration: Mapping[str, Any] | None) -> int | None:
    """A SimpleDuration in milliseconds (None stays None)."""
    if duration is None:
        return None
    return int(duration["hours"]) * 3_600_000 + int(duration["minutes"]) * 60_000 + int(duration["seconds"]) * 1000
