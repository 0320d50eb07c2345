"""The proxy's report at exit, in the formats of ``ucloud-jobs validate`` (``contracts.cli.report``).

Each side of each call is one entry, as a file is for ``validate``: ``#3 POST /api/jobs/extend request`` and
``... response``, with the findings of that side; a call the upstream never answered is an error entry. The
ledger keeps at most ``capacity`` calls: past that, valid ones are only counted, so a long session costs
bounded memory; calls with findings are kept up to twice that, and the rest counted as left out.
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field

from contracts.cli.checking import FileError, FileResult, Target
from contracts.cli.checking import Finding as Placed
from contracts.cli.report import render
from contracts.errors import Violation
from contracts.proxy.exchange import DIRECTIONS, Direction, Exchange, Finding

__all__ = ["FAIL_ON", "TARGET", "Ledger"]

#: What makes the run fail (exit 1): the client's violations, the service's (drift and upstream failures), or both.
FAIL_ON: dict[str, tuple[Direction, ...]] = {"request": ("request",), "response": ("response", "upstream"),
                                             "any": DIRECTIONS}
TARGET = Target(schema="jobs.yaml", subject="the Jobs API contract")
SUITE = "ucloud-jobs proxy"


def _finding(finding: Finding) -> Violation:
    return Violation(finding.pointer, finding.check, "", "", finding.message)


@dataclass(frozen=True, slots=True)
class _Entry:
    """One call as the report shows it; its FileResults are built only when a report is written."""

    label: str
    operation: str
    findings: tuple[Finding, ...]
    sides: tuple[Direction, ...]  # a call has both (response only when answered); a WebSocket frame one
    failure: str | None

    def results(self) -> list[FileResult]:
        entries = []
        for direction in self.sides:
            mine = tuple(Placed(_finding(finding)) for finding in self.findings if finding.direction == direction)
            entries.append(FileResult(f"{self.label} {direction}", self.operation, mine))
        if self.failure is not None:
            entries.append(FileResult(f"{self.label} upstream", self.operation, error=FileError(self.failure)))
        return entries


@dataclass
class Ledger:
    """Every call's verdict, bounded; counts by direction."""

    capacity: int = 10_000
    _entries: list[_Entry] = field(default_factory=list)
    _counts: Counter[str] = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, exchange: Exchange, findings: list[Finding]) -> None:
        """The verdict on one call."""
        sides: tuple[Direction, ...] = ("request", "response") if exchange.status is not None else ("request",)
        self._add(_Entry(exchange.label, exchange.operation or "-", tuple(findings), sides, exchange.failure),
                  findings, "calls")

    def add_frame(self, label: str, operation: str | None, direction: Direction, findings: list[Finding],
                  failure: str | None = None) -> None:
        """The verdict on one WebSocket message (``direction`` says whose), or on a relay the upstream failed."""
        self._add(_Entry(label, operation or "-", tuple(findings), () if failure else (direction,), failure),
                  findings, "messages")

    def _add(self, entry: _Entry, findings: list[Finding], kind: str) -> None:
        bad = bool(findings) or entry.failure is not None
        with self._lock:
            self._counts[kind] += 1
            for finding in findings:
                self._counts[finding.direction] += 1
            if entry.failure is not None:
                self._counts["upstream"] += 1
            if len(self._entries) < (2 * self.capacity if bad else self.capacity):
                self._entries.append(entry)
            else:
                self._counts["left out"] += 1

    def count(self, direction: str) -> int:
        """How many findings of ``direction`` there were (or ``upstream`` failures, ``calls``, WebSocket
        ``messages``)."""
        with self._lock:
            return self._counts[direction]

    def failed(self, fail_on: str) -> bool:
        """Whether the run fails under ``--fail-on``."""
        return any(self.count(direction) for direction in FAIL_ON[fail_on])

    def summary(self) -> str:
        """One line: calls, findings by direction, upstream failures, what was left out."""
        with self._lock:
            counts = dict(self._counts)
        messages = f" and {counts['messages']} WebSocket messages" if counts.get("messages") else ""
        line = (f"ucloud-jobs proxy: {counts.get('calls', 0)} calls{messages}, {counts.get('request', 0)} request "
                "violations "
                f"(the client's), {counts.get('response', 0)} response violations (drift), "
                f"{counts.get('upstream', 0)} upstream failures")
        if counts.get("left out"):
            line += f"; {counts['left out']} {'calls or messages' if messages else 'calls'} left out of the report"
        return line

    def render(self, report_format: str) -> str:
        """The report, in a format of ``ucloud-jobs validate``."""
        with self._lock:
            entries = list(self._entries)
        results = [result for entry in entries for result in entry.results()]
        return render(report_format, results, TARGET, quiet=report_format == "text", suite=SUITE)
