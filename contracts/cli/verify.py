"""``ucloud-jobs verify``: check a live provider (or the mock) against the contract and its invariants.

``add_verify_command`` registers the command; ``verify_url`` is the verification itself, shared with the pytest
plugin's ``--ucloud-verify`` item; ``verify_transport`` runs it on any transport (tests use an in-process one).
What it prints as it goes comes from ``contracts.cli.verify_output``.
"""

from __future__ import annotations

import argparse
import http.client
import os
import random
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from contracts.errors import ContractError
from contracts.profiles import PROFILES, UCLOUD
from contracts.scenario import Scenario, list_scenarios, resolve_scenario
from contracts.testing.control import MockControl, Stage
from contracts.testing.transport import (
    SECOND_TOKEN_VARIABLE,
    TOKEN_VARIABLE,
    HttpTransport,
    Transport,
    mock_token,
    redactor,
)

if TYPE_CHECKING:
    from contracts.testing.verify import Report

__all__ = ["DEFAULT_EXAMPLES", "DEFAULT_SHRINK_SECONDS", "ControlFor", "VerifyOptions", "VerifyUsageError",
           "add_verify_command", "run_verify", "verify_provider", "verify_transport", "verify_url"]

STATE_MACHINE_STAGE = "blank"  # contracts.testing.verify.STATE_MACHINE_STAGE, without importing Hypothesis
#: The second user verify makes up for a mock (an unsigned JWT): a member of the blank stage's project.
SECOND_USER = "verify-second-user"
DEFAULT_EXAMPLES = 25
DEFAULT_SHRINK_SECONDS = 5.0  # contracts.testing.verify.DEFAULT_SHRINK_SECONDS, without importing Hypothesis
PROG = "ucloud-jobs verify"

#: Given a URL, the control of the mock there, or None when it is not a mock.
ControlFor = Callable[[str], "MockControl | None"]
Say = Callable[[str], None]


class VerifyUsageError(ContractError):
    """A usage error or an unreachable target: one line, exit status 2."""


@dataclass(frozen=True)
class VerifyOptions:
    """How to verify: what to replay, how far to explore, what to expect, and what to leave behind.

    ``scenarios`` are names or paths (none: every bundled scenario with steps); ``examples`` state-machine
    examples follow them (0: none). ``profile`` is a profile name or "auto" (the mock's, else ucloud).
    ``seed`` repeats a state-machine run (None: a new one is chosen and printed). ``shrink_seconds`` bounds
    the shortening of a failing run (0: none). ``fail_fast`` stops at the first failure. ``restore`` puts a
    mock back on the scenario and profile it was playing.
    """

    scenarios: Sequence[str] = ()
    examples: int = DEFAULT_EXAMPLES
    profile: str = "auto"
    seed: int | None = None
    shrink_seconds: float = DEFAULT_SHRINK_SECONDS
    fail_fast: bool = False
    restore: bool = True


def _count(text: str) -> int:
    """An argparse type: a whole number, 0 or more."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text} is negative; give 0 or more")
    return value


def _seconds(text: str) -> float:
    """An argparse type: a number of seconds, 0 or more."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not value >= 0 or value == float("inf"):  # also refuses nan
        raise argparse.ArgumentTypeError(f"{text} is not 0 or a positive number of seconds")
    return value


def add_verify_command(subparsers: argparse._SubParsersAction[argparse.ArgumentParser], *,
                       control_for: ControlFor | None = None) -> None:
    """Register ``verify``; ``control_for`` recognises a mock at the URL (without it every target is live)."""
    parser = subparsers.add_parser(
        "verify", help="verify a live provider against the contract",
        description="Replay the bundled scenarios against a live implementation of UCloud's Jobs API (the real "
                    "UCloud, the mock, or anything claiming to implement the contract), checking every response "
                    "against the spec and the API's invariants; then run the invariants' state machine. Each "
                    "failure is printed as it is found, with the calls that reproduce it as curl lines that read "
                    f"the token from ${TOKEN_VARIABLE}. Exit 0 when everything holds, 1 on any violation, 2 on a "
                    "usage error or an unreachable target.")
    parser.add_argument("--url", required=True, help="base URL of the provider, e.g. https://cloud.sdu.dk")
    parser.add_argument("--token", default=None,
                        help=f"bearer token of the user to act as (default: ${TOKEN_VARIABLE}, which keeps it out "
                             "of the process list and the shell's history)")
    parser.add_argument("--second-token", default=None,
                        help=f"bearer token of a second user, for the isolation checks (default: "
                             f"${SECOND_TOKEN_VARIABLE}; the mock needs none)")
    parser.add_argument("--scenario", action="append", default=[], metavar="NAME|PATH",
                        help="scenario to replay (repeatable; default: every bundled scenario with steps)")
    parser.add_argument("--examples", type=_count, default=DEFAULT_EXAMPLES, metavar="N",
                        help=f"state-machine examples to run after the scenarios; 0 skips it (default: "
                             f"{DEFAULT_EXAMPLES})")
    parser.add_argument("--seed", type=_count, default=None, metavar="N",
                        help="seed of the state machine, to repeat a run (default: a new one, printed)")
    parser.add_argument("--shrink-time", type=_seconds, default=DEFAULT_SHRINK_SECONDS, metavar="SECONDS",
                        help="longest time spent shortening a failing state-machine run; 0 reports it as found "
                             f"(default: {DEFAULT_SHRINK_SECONDS:g})")
    parser.add_argument("--fail-fast", action="store_true",
                        help="stop at the first failing check: skip the phases after it, do not shrink")
    parser.add_argument("--no-restore", dest="restore", action="store_false",
                        help="leave a mock on the stage verify used, instead of restarting the scenario and "
                             "profile it was playing")
    parser.add_argument("--profile", choices=("auto", *PROFILES), default="auto",
                        help="which behaviour to expect: auto asks the mock for its profile and expects "
                             f"{UCLOUD} from anything else (default: auto)")
    parser.add_argument("--junit-xml", metavar="FILE", default=None, help="also write a JUnit XML report")
    parser.set_defaults(command=lambda args: run_verify(args, control_for))


def run_verify(args: argparse.Namespace, control_for: ControlFor | None = None) -> int:
    """Run ``verify`` from parsed arguments; 0 when everything holds, 1 on any violation, 2 on usage errors."""
    token = args.token or os.environ.get(TOKEN_VARIABLE)
    if not token:
        print(f"{PROG}: error: no token: give --token or set {TOKEN_VARIABLE}", file=sys.stderr)
        return 2
    options = VerifyOptions(scenarios=args.scenario, examples=args.examples, profile=args.profile, seed=args.seed,
                            shrink_seconds=args.shrink_time, fail_fast=args.fail_fast, restore=args.restore)
    return verify_provider(args.url, token, options,
                           second_token=args.second_token or os.environ.get(SECOND_TOKEN_VARIABLE),
                           junit_xml=args.junit_xml, control_for=control_for)


def verify_provider(url: str, token: str, options: VerifyOptions | None = None, *, second_token: str | None = None,
                    junit_xml: str | None = None, control_for: ControlFor | None = None,
                    out: TextIO | None = None, err: TextIO | None = None) -> int:
    """Verify the provider at ``url`` as ``verify_url`` does, printing to ``out``; the exit status.

    A usage error is one line on ``err`` (exit 2); ``junit_xml`` names a file for the JUnit report.
    """
    out = out or sys.stdout
    err = err or sys.stderr

    def say(text: str) -> None:
        print(text, file=out, flush=True)

    try:
        report = verify_url(url, token, options, second_token=second_token, control_for=control_for, say=say)
    except ContractError as error:
        print(f"{PROG}: error: {error}", file=err)
        return 2
    if junit_xml:
        Path(junit_xml).write_bytes(report.to_junit())
    return 0 if report.ok else 1


def _scenarios(names: Sequence[str]) -> list[Scenario]:
    if names:
        return [resolve_scenario(name) for name in names]
    loaded = [resolve_scenario(name) for name in sorted(list_scenarios())]
    return [scenario for scenario in loaded if scenario.steps]


def _connect(url: str, token: str, second_token: str | None,
             control_for: ControlFor | None) -> tuple[HttpTransport, str | None]:
    """The transport to ``url`` and, when verify made it up for a mock, the second user's token (else None).

    Without a second token, a mock gets a made-up one (no secret: the mock takes any unsigned JWT) if it accepts
    it; a live provider then has one user only, and the isolation checks are skipped.
    """
    tokens = {"user": token}
    made_up = None
    if second_token:
        tokens["second-user"] = second_token
    try:
        control = control_for(url) if control_for is not None else None
        if control is not None and not second_token:
            candidate = mock_token(SECOND_USER)
            probe = HttpTransport(url, {"second-user": candidate})
            accepted = probe.call("jobs.retrieve", {"id": "0"}).status == 404
            probe.close()
            if accepted:
                tokens["second-user"] = made_up = candidate
        return HttpTransport(url, tokens, control=control), made_up
    except ValueError as error:
        raise VerifyUsageError(str(error)) from None
    except (OSError, http.client.HTTPException) as error:
        raise VerifyUsageError(f"cannot reach {url}: {error}") from None


def verify_url(url: str, token: str, options: VerifyOptions | None = None, *, second_token: str | None = None,
               control_for: ControlFor | None = None, say: Say = lambda text: None) -> Report:
    """Verify the provider at ``url`` and return the report; ``say`` hears the progress and the findings.

    Neither what ``say`` hears nor the report holds a token: curl lines read them from the environment, and
    anything the target echoes back is redacted. ``VerifyUsageError`` for an unknown scenario or an
    unreachable target.
    """
    options = options or VerifyOptions()
    chosen = _scenarios(options.scenarios)
    redact = redactor({TOKEN_VARIABLE: token, SECOND_TOKEN_VARIABLE: second_token})
    transport, made_up = _connect(url, token, second_token, control_for)
    try:
        notes = [] if made_up is None else [
            f"the second user is the mock's verify-second-user: export {SECOND_TOKEN_VARIABLE}='{made_up}'"]
        return verify_transport(transport, chosen, options, say=lambda text: say(redact(text)), redact=redact,
                                url=url, notes=notes, member=None if made_up is None else SECOND_USER)
    except (OSError, http.client.HTTPException) as error:
        raise VerifyUsageError(redact(f"lost {url}: {error}")) from None
    finally:
        transport.close()


def verify_transport(transport: Transport, scenarios: Sequence[Scenario], options: VerifyOptions | None = None, *,
                     say: Say = lambda text: None, redact: Callable[[str], str] = lambda text: text,
                     url: str = "the target", notes: Sequence[str] = (), member: str | None = None) -> Report:
    """Verify the target behind ``transport`` with ``scenarios``, telling ``say`` as it goes.

    A mock (a transport with a control) is restarted on the scenario and profile it was playing when verify
    began, even when verify fails or is interrupted, unless ``options.restore`` is false. Without a seed a
    new one is chosen; it is printed, and in the report. ``redact`` cleans the report's text of secrets;
    ``notes`` are said after the plan.
    """
    from contracts.cli.verify_output import Printer, header, put_back, redacted, summary  # noqa: PLC0415
    from contracts.testing.verify import verify  # noqa: PLC0415 - Hypothesis loads only for this command

    options = options or VerifyOptions()
    control = transport.control
    stage = control.stage() if control is not None else None
    auto = stage.profile if stage is not None else UCLOUD
    expected = auto if options.profile == "auto" else options.profile
    seed = options.seed if options.seed is not None else random.randrange(2**32)
    shrink_seconds = 0 if options.fail_fast else options.shrink_seconds
    for line in header(url, stage, expected, len(scenarios), examples=options.examples, seed=seed,
                       shrink_seconds=shrink_seconds, fail_fast=options.fail_fast, restore=options.restore):
        say(line)
    for line in notes:
        say(line)
    try:
        report = verify(transport, scenarios, examples=options.examples, profile=expected,
                        prepare=_stager(control, stage), observer=Printer(say, shrink_seconds), seed=seed,
                        shrink_seconds=shrink_seconds, fail_fast=options.fail_fast, member=member)
    finally:
        if control is not None and stage is not None:
            say(put_back(control, stage, options.restore))
    report = redacted(report, redact)
    for line in summary(report):
        say(line)
    return report


def _stager(control: MockControl | None, stage: Stage | None) -> Callable[[Scenario | None], None]:
    """Put a mock on each phase's stage: the scenario being replayed, or the blank stage for the state machine.

    Each phase plays under the profile the mock was playing.
    """

    def prepare(scenario: Scenario | None) -> None:
        if control is None or stage is None:
            return
        try:
            control.load_scenario(STATE_MACHINE_STAGE if scenario is None else scenario.name, stage.profile)
        except LookupError:  # a scenario the mock does not have: its current stage, reset, has to do
            control.reset()

    return prepare
