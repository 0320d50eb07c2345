"""``ucloud-jobs scenarios``: list the bundled scenarios, or check scenario files against the format.

Exit status: 0 when every file is a valid scenario (or nothing was asked but the list), 1 when any file is not
(each problem as ``FILE: POINTER: MESSAGE``, every file reported), 2 on a usage error.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from contracts.errors import ContractError
from contracts.scenario import list_scenarios, load_scenario

__all__ = ["add_scenarios_command", "bundled_lines", "run_scenarios"]


def add_scenarios_command(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``scenarios``."""
    parser = subparsers.add_parser(
        "scenarios", help="list the bundled scenarios, or check scenario files",
        description="List the scenarios bundled with the toolkit (name, profile, era, steps and title), or, "
                    "with --check, check scenario files against the scenario format "
                    "(openapi/scenario.schema.json, version 1).",
        epilog="exit status: 0 every file is a valid scenario, 1 some file is not, 2 usage error")
    parser.add_argument("--check", nargs="+", metavar="FILE", help="check these scenario files")
    parser.set_defaults(command=run_scenarios, prog=parser.prog)


def bundled_lines() -> list[str]:
    """One line per bundled scenario: name, profile, era, how many steps, title."""
    rows = []
    for name, path in sorted(list_scenarios().items()):
        scenario = load_scenario(path)
        steps = f"{len(scenario.steps)} step{'' if len(scenario.steps) == 1 else 's'}"
        rows.append((name, scenario.profile, scenario.era, steps, scenario.title))
    widths = [max(len(row[column]) for row in rows) for column in range(4)]
    return ["  ".join(cell.ljust(width) for cell, width in zip(row[:4], widths, strict=True)) + f"  {row[4]}"
            for row in rows]


def run_scenarios(args: argparse.Namespace) -> int:
    """List, or check; the exit status."""
    if not args.check:
        try:
            print("\n".join(bundled_lines()))
        except ContractError as error:
            print(f"{args.prog}: error: {error}", file=sys.stderr)
            return 2
        return 0
    broken = 0
    for name in args.check:
        try:
            load_scenario(Path(name))
        except ContractError as error:
            broken += 1
            print(str(error) if str(error).startswith(name) else f"{name}: {error}")
            continue
        print(f"{name}: a valid scenario")
    return 1 if broken else 0
