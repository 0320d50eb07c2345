"""``ucloud-jobs spec``: write out the contract, the OpenAPI document of the Jobs API, as YAML or JSON.

Exit status: 0 written, 2 on a usage error (a file that cannot be written), said in one line on stderr.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from contracts.errors import ContractError
from contracts.spec_text import SPEC_FORMATS, spec_bytes

__all__ = ["add_spec_command", "run_spec"]


def add_spec_command(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``spec``."""
    parser = subparsers.add_parser(
        "spec", help="write out the contract (the OpenAPI document) as YAML or JSON",
        description="Write out the OpenAPI 3.1 document of UCloud's Jobs API that every command reads and the "
                    "mock serves at /openapi.yaml and /openapi.json.",
        epilog="exit status: 0 written, 2 usage error")
    parser.add_argument("--format", choices=SPEC_FORMATS, default=None,
                        help="yaml (the document as written) or json (default: json for an -o FILE ending in "
                             ".json, else yaml)")
    parser.add_argument("-o", "--output", metavar="FILE", help="write it to FILE instead of stdout")
    parser.set_defaults(command=run_spec, prog=parser.prog)


def run_spec(args: argparse.Namespace) -> int:
    """Write the spec; the exit status."""
    fmt = args.format or ("json" if args.output and args.output.lower().endswith(".json") else "yaml")
    try:
        text = spec_bytes(fmt).decode("utf-8")
        if args.output is None:
            sys.stdout.write(text)
            return 0
        try:
            Path(args.output).write_text(text, encoding="utf-8")
        except OSError as error:
            raise ContractError(f"cannot write the spec to {args.output}: {error.strerror or error}") from None
    except ContractError as error:
        print(f"{args.prog}: error: {error}", file=sys.stderr)
        return 2
    return 0
