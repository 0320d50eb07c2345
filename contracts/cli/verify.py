"""``ucloud-jobs verify``: check a live provider (or the mock) against the contract and its invariants."""

from __future__ import annotations

import argparse
import http.client
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from contracts.errors import ContractError
from contracts.profiles import PROFILES, UCLOUD
from contracts.scenario import Scenario, list_scenarios, resolve_scenario
from contracts.testing.control import MockControl
from contracts.testing.transport import HttpTransport, mock_token

if TYPE_CHECKING:
    from contracts.testing.verify import Report

__all__ = ["ControlFor", "VerifyUsageError", "add_verify_command", "run_verify", "verify_provider", "verify_url"]

STATE_MACHINE_STAGE = "blank"

#: Given a URL, the control of the mock there, or None when it is not a mock.
ControlFor = Callable[[str], "MockControl | None"]


def add_verify_command(subparsers: argparse._SubParsersAction[argparse.ArgumentParser], *,
                       control_for: ControlFor | None = None) -> None:
    """Register ``verify``; ``control_for`` recognises a mock at the URL (without it every target is live)."""
    parser = subparsers.add_parser(
        "verify", help="verify a live provider against the contract",
        description="Replay the bundled scenarios against a live implementation of UCloud's Jobs API (the real "
                    "UCloud, the mock, or anything claiming to implement the contract), checking every response "
                    "against the spec and the API's invariants; then run the invariants' state machine. Exit 1 "
                    "on any violation, with the calls that reproduce it as curl lines.")
    parser.add_argument("--url", required=True, help="base URL of the provider, e.g. https://cloud.sdu.dk")
    parser.add_argument("--token", required=True, help="bearer token of the user to act as")
    parser.add_argument("--second-token", default=None,
                        help="bearer token of a second user, for the isolation checks (the mock needs none)")
    parser.add_argument("--scenario", action="append", default=[], metavar="NAME|PATH",
                        help="scenario to replay (repeatable; default: every bundled scenario with steps)")
    parser.add_argument("--examples", type=int, default=25,
                        help="state-machine examples to run after the scenarios; 0 skips it (default: 25)")
    parser.add_argument("--profile", choices=("auto", *PROFILES), default="auto",
                        help="which behaviour to expect: auto asks the mock for its profile and expects "
                             f"{UCLOUD} from anything else (default: auto)")
    parser.add_argument("--junit-xml", metavar="FILE", default=None, help="also write a JUnit XML report")
    parser.set_defaults(command=lambda args: run_verify(args, control_for))


def _scenarios(names: list[str]) -> list[Scenario]:
    if names:
        return [resolve_scenario(name) for name in names]
    loaded = [resolve_scenario(name) for name in sorted(list_scenarios())]
    return [scenario for scenario in loaded if scenario.steps]


def run_verify(args: argparse.Namespace, control_for: ControlFor | None = None) -> int:
    """Run ``verify`` from parsed arguments; 0 when everything holds, 1 on any violation, 2 on usage errors."""
    return verify_provider(args.url, args.token, second_token=args.second_token, scenarios=args.scenario,
                           examples=args.examples, profile=args.profile, junit_xml=args.junit_xml,
                           control_for=control_for)


class VerifyUsageError(ContractError):
    """A usage error or an unreachable target: one line, exit status 2."""


def _connect(url: str, token: str, second_token: str | None,
             control_for: ControlFor | None) -> tuple[HttpTransport, MockControl | None]:
    """The transport to ``url`` (with a second user where the target accepts one) and its control, if a mock."""
    tokens = {"user": token}
    if second_token:
        tokens["second-user"] = second_token
    try:
        control = control_for(url) if control_for is not None else None
        if control is not None and not second_token:
            candidate = mock_token("verify-second-user")
            probe = HttpTransport(url, {"second-user": candidate})
            accepted = probe.call("jobs.retrieve", {"id": "0"}).status == 404
            probe.close()
            if accepted:
                tokens["second-user"] = candidate
        return HttpTransport(url, tokens, control=control), control
    except ValueError as error:
        raise VerifyUsageError(str(error)) from None
    except (OSError, http.client.HTTPException) as error:
        raise VerifyUsageError(f"cannot reach {url}: {error}") from None


def verify_url(url: str, token: str, *, second_token: str | None = None, scenarios: Sequence[str] = (),
               examples: int = 25, profile: str = "auto", control_for: ControlFor | None = None,
               say: Callable[[str], None] = lambda text: None) -> Report:
    """Verify the provider at ``url`` and return the report; ``say`` hears the progress.

    ``VerifyUsageError`` for an unknown scenario or an unreachable target.
    """
    from contracts.testing.verify import verify  # noqa: PLC0415 - Hypothesis loads only for this command

    chosen = _scenarios(list(scenarios))
    transport, control = _connect(url, token, second_token, control_for)
    try:
        server_profile = control.stage().profile if control is not None else None
        expected = server_profile or UCLOUD if profile == "auto" else profile
        kind = "the mock" if control is not None else "a live provider"
        say(f"verifying {url} ({kind}, expecting the {expected} profile): {len(chosen)} scenario"
            f"{'s' if len(chosen) != 1 else ''}, then {examples} state-machine examples")
        return verify(transport, chosen, examples=examples, profile=expected,
                      prepare=_stager(control, server_profile),
                      progress=lambda name, finding: say(f"{'ok  ' if finding is None else 'FAIL'} {name}"))
    except (OSError, http.client.HTTPException) as error:
        raise VerifyUsageError(f"lost {url}: {error}") from None
    finally:
        transport.close()


def verify_provider(url: str, token: str, *, second_token: str | None = None, scenarios: Sequence[str] = (),
                    examples: int = 25, profile: str = "auto", junit_xml: str | None = None,
                    out: TextIO | None = None, control_for: ControlFor | None = None) -> int:
    """Verify the provider at ``url``, printing progress and findings to ``out``; the exit status."""
    out = out or sys.stdout
    say = _printer(out)
    try:
        report = verify_url(url, token, second_token=second_token, scenarios=scenarios, examples=examples,
                            profile=profile, control_for=control_for, say=say)
    except ContractError as error:
        print(f"ucloud-jobs verify: error: {error}", file=out if out is not sys.stdout else sys.stderr)
        return 2
    for finding in report.findings:
        say()
        say(finding.render())
    if junit_xml:
        Path(junit_xml).write_bytes(report.to_junit())
    total, failed = len(report.checks), len(report.findings)
    say(f"\n{total - failed} of {total} checks passed" + ("" if report.ok else f"; {failed} failed"))
    return 0 if report.ok else 1


def _printer(out: TextIO) -> Callable[..., None]:
    def say(text: str = "") -> None:
        print(text, file=out, flush=True)

    return say


def _stager(control: MockControl | None, profile: str | None) -> Callable[[Scenario | None], None]:
    """Put a mock on each phase's stage: the scenario being replayed, or the blank stage for the state machine."""

    def prepare(scenario: Scenario | None) -> None:
        if control is None:
            return
        try:
            control.load_scenario(STATE_MACHINE_STAGE if scenario is None else scenario.name, profile)
        except LookupError:  # a scenario the mock does not have: its current stage, reset, has to do
            control.reset()

    return prepare
