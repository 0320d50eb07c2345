"""What ``ucloud-jobs verify`` prints: its plan, each result as it comes, the mock put back, the summary.

Lines go to a ``say`` function, so the command prints them and the pytest plugin may keep them. The output
holds no bearer token: curl lines read it from the environment (``contracts.testing.transport``) and
``redacted`` cleans whatever the target echoed back.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from contracts.testing.control import MockControl, Stage
from contracts.testing.report import Finding, Observer, Report
from contracts.testing.transport import SECOND_TOKEN_VARIABLE, TOKEN_VARIABLE

__all__ = ["EXAMPLES_PER_LINE", "Printer", "header", "put_back", "redacted", "summary"]

#: A line of progress per this many state-machine examples.
EXAMPLES_PER_LINE = 10


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def header(url: str, stage: Stage | None, expected: str, scenarios: int, *, examples: int, seed: int,
           shrink_seconds: float, fail_fast: bool, restore: bool) -> list[str]:
    """The plan: the target, what is expected of it, the phases, the seed, and what happens to a mock."""
    kind = "the mock" if stage is not None else "a live provider"
    lines = [f"verifying {url} ({kind}, expecting the {expected} profile): {_plural(scenarios, 'scenario')}, "
             f"then {_plural(examples, 'state-machine example')}",
             f"failures come with curl lines that read the bearer token from ${TOKEN_VARIABLE} (a second "
             f"user's from ${SECOND_TOKEN_VARIABLE}): export it to paste them"]
    if examples > 0:
        shrinking = ("a failing run is reported as found" if shrink_seconds == 0 else
                     f"a failing run is shortened for at most {shrink_seconds:g} s")
        lines.append(f"state machine: seed {seed}; {shrinking}")
    if fail_fast:
        lines.append("stopping at the first failure (--fail-fast)")
    if stage is not None:
        lines.append(f"the mock plays {stage.scenario} under the {stage.profile} profile; " + (
            "verify restarts that scenario when it ends, so the jobs the mock has now will be gone "
            "(--no-restore leaves it on the stage verify used)" if restore else
            "with --no-restore verify leaves it on the stage it uses last"))
    return lines


class Printer(Observer):
    """Prints each phase's result as it ends, a line per ten examples, and the first failing run at once."""

    def __init__(self, say: Callable[[str], None], shrink_seconds: float) -> None:
        self.say = say
        self.shrink_seconds = shrink_seconds
        self.first: Finding | None = None

    def finished(self, name: str, finding: Finding | None) -> None:
        """``ok``, or the finding (unless it is the failing run already printed)."""
        if finding is None:
            self.say(f"ok   {name}")
        elif self.first is not None and (finding.problem, finding.curl) == (self.first.problem, self.first.curl):
            self.say(f"FAIL {name}: the run above" + (f" ({finding.note})" if finding.note else ""))
        else:
            self.say(finding.render())

    def skipped(self, name: str) -> None:
        """A phase not run after a failure."""
        self.say(f"skip {name}: not run after the first failure (--fail-fast)")

    def examples(self, count: int) -> None:
        """Every ``EXAMPLES_PER_LINE`` examples, a line."""
        if count % EXAMPLES_PER_LINE == 0:
            self.say(f"     state machine: {_plural(count, 'example')} run")

    def failing_run(self, finding: Finding, example: int) -> None:
        """The first failing run, printed at once."""
        self.first = finding
        then = "" if self.shrink_seconds == 0 else f"; shortening it for at most {self.shrink_seconds:g} s"
        self.say(dataclasses.replace(finding, note=f"the first failing run, in example {example}{then}").render())


def put_back(control: MockControl, stage: Stage, restore: bool) -> str:
    """Restart the scenario and profile a mock was playing (unless ``restore`` is false); what was done."""
    before = f"{stage.scenario} ({stage.profile} profile)"
    if not restore:
        try:
            now = control.stage()
        except Exception:  # only for the message: the mock may be gone
            return f"left the mock as verify left it (--no-restore); it was playing {before}"
        return f"left the mock on {now.scenario} ({now.profile} profile) (--no-restore); it was playing {before}"
    try:
        control.load_scenario(stage.scenario, stage.profile)
    except Exception as error:  # unknown to the admin API, refused, or gone: say so, go on
        return f"could not put the mock back on {before}: {error}"
    return (f"put the mock back: {stage.scenario} restarted under the {stage.profile} profile (the jobs it had "
            "before verify are gone)")


def redacted(report: Report, redact: Callable[[str], str]) -> Report:
    """``report`` with ``redact`` applied to the text of every finding."""

    def clean(finding: Finding | None) -> Finding | None:
        if finding is None:
            return None
        return Finding(redact(finding.where), redact(finding.problem), tuple(map(redact, finding.curl)),
                       redact(finding.note))

    return dataclasses.replace(report, checks=[(name, clean(finding)) for name, finding in report.checks])


def summary(report: Report) -> list[str]:
    """How often each check held, which failed, the phases, and the seed that repeats the run."""
    lines = ["", "checks made (not counting the re-runs of shrinking):"]
    for row in report.tally.rows():
        lines.append(f"  {'ok  ' if not row.failed else 'FAIL'}  held {row.held:>5} of {row.checked:<5}  {row.name}")
    unchecked = report.tally.unchecked()
    if unchecked:
        lines.append(f"  not checked: {'; '.join(unchecked)}")
    failed = [name for name, finding in report.checks if finding is not None]
    verdict = f"{len(report.checks) - len(failed)} of {_plural(len(report.checks), 'phase')} passed"
    if failed:
        verdict += f"; failed: {', '.join(failed)}"
    if report.skipped:
        verdict += f"; skipped: {', '.join(report.skipped)}"
    if report.seed is not None:
        verdict += f". seed {report.seed}: --seed {report.seed} repeats this run"
    return [*lines, verdict]
