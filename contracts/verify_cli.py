"""``ucloud-jobs verify``: check a live provider (or the mock) against the contract and its invariants."""

from __future__ import annotations

import argparse
import http.client
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from contracts.errors import ContractError
from contracts.scenario import Scenario, list_scenarios, resolve_scenario
from contracts.transport import HttpTransport, mock_token

if TYPE_CHECKING:
    from contracts.verify import Finding

__all__ = ["add_verify_command", "run_verify", "verify_provider"]

STATE_MACHINE_STAGE = "blank"


def add_verify_command(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``verify``."""
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
    parser.add_argument("--profile", choices=("auto", "docs", "ucloud"), default="auto",
                        help="which behaviour to expect: auto asks the mock for its profile and expects ucloud "
                             "from anything else (default: auto)")
    parser.add_argument("--junit-xml", metavar="FILE", default=None, help="also write a JUnit XML report")
    parser.set_defaults(command=run_verify)


def _scenarios(names: list[str]) -> list[Scenario]:
    if names:
        return [resolve_scenario(name) for name in names]
    loaded = [resolve_scenario(name) for name in sorted(list_scenarios())]
    return [scenario for scenario in loaded if scenario.steps]


def run_verify(args: argparse.Namespace) -> int:
    """Run ``verify`` from parsed arguments; 0 when everything holds, 1 on any violation, 2 on usage errors."""
    return verify_provider(args.url, args.token, second_token=args.second_token, scenarios=args.scenario,
                           examples=args.examples, profile=args.profile, junit_xml=args.junit_xml)


def verify_provider(url: str, token: str, *, second_token: str | None = None,  # noqa: PLR0915 - one story
                    scenarios: Sequence[str] = (), examples: int = 25, profile: str = "auto",
                    junit_xml: str | None = None, out: TextIO | None = None) -> int:
    """Verify the provider at ``url``, printing progress and findings to ``out``; the exit status."""
    from contracts.verify import verify  # noqa: PLC0415 - Hypothesis loads only for this command

    out = out or sys.stdout

    def say(text: str = "") -> None:
        print(text, file=out, flush=True)

    def fail(text: str) -> int:
        print(f"ucloud-jobs verify: error: {text}", file=out if out is not sys.stdout else sys.stderr)
        return 2

    try:
        chosen = _scenarios(list(scenarios))
        tokens = {"user": token}
        if second_token:
            tokens["second-user"] = second_token
        transport = HttpTransport(url, tokens)
    except (ContractError, ValueError) as error:
        return fail(str(error))
    except (OSError, http.client.HTTPException) as error:
        return fail(f"cannot reach {url}: {error}")
    expected: str | None = None if profile == "auto" else profile
    server_profile = None
    if transport.supports_admin:
        _, state = transport.request_json("GET", "/_mock/scenario")
        server_profile = state.get("profile") if isinstance(state, dict) else None
        if not second_token:
            candidate = mock_token("verify-second-user")
            probe = HttpTransport(url, {"second-user": candidate}, probe_admin=False)
            accepted = probe.call("jobs.retrieve", {"id": "0"}).status == 404
            probe.close()
            if accepted:
                transport.close()
                transport = HttpTransport(url, {**tokens, "second-user": candidate})
    if expected is None:
        expected = server_profile or "ucloud"

    def prepare(scenario: Scenario | None) -> None:
        if not transport.supports_admin:
            return
        name = STATE_MACHINE_STAGE if scenario is None else scenario.name
        status, _ = transport.request_json("POST", "/_mock/scenario", {"name": name, "profile": server_profile})
        if status != 200:
            transport.request_json("POST", "/_mock/reset")

    def progress(name: str, finding: Finding | None) -> None:
        say(f"{'ok  ' if finding is None else 'FAIL'} {name}")

    kind = "the mock" if transport.supports_admin else "a live provider"
    say(f"verifying {url} ({kind}, expecting the {expected} profile): {len(chosen)} scenario"
        f"{'s' if len(chosen) != 1 else ''}, then {examples} state-machine examples")
    try:
        report = verify(transport, chosen, examples=examples, profile=expected, prepare=prepare,
                        progress=progress)
    except (OSError, http.client.HTTPException) as error:
        return fail(f"lost {url}: {error}")
    finally:
        transport.close()
    for finding in report.findings:
        say()
        say(finding.render())
    if junit_xml:
        Path(junit_xml).write_bytes(report.to_junit())
    total, failed = len(report.checks), len(report.findings)
    say(f"\n{total - failed} of {total} checks passed" + ("" if report.ok else f"; {failed} failed"))
    return 0 if report.ok else 1
