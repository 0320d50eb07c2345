"""What a verification found: findings with their curl reproductions, phase by phase, and the checks' tally."""

from __future__ import annotations

from dataclasses import dataclass, field

from contracts.testing.tally import Tally

__all__ = ["Finding", "Observer", "Report", "Shrinking"]


@dataclass(frozen=True)
class Shrinking:
    """How a failing state-machine run was shortened: the first failing run's length, the shrinking's runs
    (not counting the final replay) and time, and whether the first run stayed the shortest."""

    first_calls: int
    runs: int
    seconds: float
    kept_first: bool

    def __str__(self) -> str:
        spent = f"{self.runs} run{'s' if self.runs != 1 else ''} in {self.seconds:.1f} s of shrinking"
        if self.kept_first:
            return f"the first failing run: {spent} found none shorter"
        return f"the shortest failing run found in {spent}; the first had {self.first_calls} calls"


@dataclass(frozen=True)
class Finding:
    """One violation: where it happened, what was wrong, and the calls that reproduce it.

    ``note`` says how the run was found, as text; ``shrinking``, for the state machine, how it was shortened.
    """

    where: str
    problem: str
    curl: tuple[str, ...] = ()
    note: str = ""
    shrinking: Shrinking | None = None

    def render(self) -> str:
        """The finding as text: a headline, the problem, and the reproduction."""
        notes = [text for text in (self.note, str(self.shrinking or "")) if text]
        lines = [f"FAIL {self.where}" + (f" ({'; '.join(notes)})" if notes else "")]
        lines += ["  " + line for line in self.problem.splitlines()]
        if self.curl:
            lines.append(f"  reproduce ({len(self.curl)} call{'s' if len(self.curl) != 1 else ''}):")
            lines += [f"    {command}" for command in self.curl]
        return "\n".join(lines)


class Observer:
    """What a verification tells as it goes. Each method does nothing here; override the ones you need."""

    def finished(self, name: str, finding: Finding | None) -> None:
        """A phase (a scenario, the state machine) ended, with its finding or None."""

    def skipped(self, name: str) -> None:
        """A phase was not run (``fail_fast`` after a failure)."""

    def examples(self, count: int) -> None:
        """The state machine finished its ``count``-th example (until its first failure)."""

    def failing_run(self, finding: Finding, example: int) -> None:
        """The state machine's first failing run, as found, before any shrinking."""


@dataclass
class Report:
    """What a verification found, phase by phase; the seed of its state machine; how often each check held."""

    checks: list[tuple[str, Finding | None]] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    tally: Tally = field(default_factory=Tally)
    seed: int | None = None

    @property
    def findings(self) -> list[Finding]:
        """Every failure."""
        return [finding for _, finding in self.checks if finding is not None]

    @property
    def ok(self) -> bool:
        """Whether nothing failed."""
        return not self.findings

    def to_junit(self) -> bytes:
        """The report as JUnit XML: one testcase per scenario and one for the state machine."""
        from xml.etree import ElementTree as ET  # noqa: PLC0415 - only for this report

        suite = ET.Element("testsuite", name="ucloud-jobs verify", tests=str(len(self.checks) + len(self.skipped)),
                           failures=str(len(self.findings)), errors="0", skipped=str(len(self.skipped)))
        if self.seed is not None:
            ET.SubElement(ET.SubElement(suite, "properties"), "property", name="seed", value=str(self.seed))
        for name, finding in self.checks:
            case = ET.SubElement(suite, "testcase", classname="ucloud-jobs verify", name=name)
            if finding is not None:
                failure = ET.SubElement(case, "failure", type="ContractViolation",
                                        message=finding.problem.splitlines()[0][:200])
                failure.text = _xml_safe(finding.render())
        for name in self.skipped:
            case = ET.SubElement(suite, "testcase", classname="ucloud-jobs verify", name=name)
            ET.SubElement(case, "skipped", message="not run: the verification stopped at the first failure")
        root = ET.Element("testsuites")
        root.append(suite)
        return bytes(ET.tostring(root, encoding="utf-8", xml_declaration=True))


def _xml_safe(text: str) -> str:
    return "".join(ch if ch in "\t\n\r" or ord(ch) >= 32 else f"\\x{ord(ch):02x}" for ch in text)
