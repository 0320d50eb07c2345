"""The contract's commands: ``validate`` checks JSON files against the contract, ``schemas`` lists its names.

``add_commands`` registers both on the ``ucloud-jobs`` parser; each command is a function of the parsed
arguments that returns the exit code:

- 0 when every file is valid;
- 1 when any file breaks the contract, or cannot be checked (unreadable, not JSON): every file is still
  checked and reported, the bad ones as errors, because one broken file must not hide the verdict on the rest;
- 2 on a usage error: an unknown schema or operation (with the closest name: ``did you mean Job?``), no files,
  stdin named twice, an option that does not fit, a report that cannot be written.

Usage errors are one line per problem on stderr, prefixed ``ucloud-jobs validate: error:``; nothing goes to
stdout then. The report goes to stdout (or to ``--output FILE``) in the format of ``--format``
(``contracts.cli.report``); the summary line, which names the schema, goes to stderr. When ``--status`` names
a status the operation does not document, the operation's ``default`` response is used, and a note on stderr
and every report say so.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from contracts.cli.checking import STDIN, FileResult, Target, check, check_file
from contracts.cli.report import FORMATS, render, safe, summary
from contracts.errors import ContractError
from contracts.spec import default_spec
from contracts.validation import Contract, default_contract

__all__ = [
    "FileResult",
    "Target",
    "add_commands",
    "check",
    "render",
    "run_schemas",
    "run_validate",
    "summary",
]

_EPILOG = """\
exit status:
  0  every file is valid
  1  at least one file breaks the contract, or cannot be read or parsed as JSON
     (every file is still checked and reported; those as errors)
  2  usage error: unknown schema or operation, no files, options that do not fit

The report goes to stdout (or --output FILE); the summary line goes to stderr.
--format github writes GitHub Actions annotations (::error file=...,line=...,col=...)."""

# ---------------------------------------------------------------------------------------------- registration
def add_commands(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``validate`` and ``schemas`` on the ``ucloud-jobs`` parser."""
    validate = subparsers.add_parser(
        "validate",
        help="check JSON files against a schema or an operation's request or response body",
        description="Check JSON files against a schema of the UCloud Jobs contract, or against the\n"
                    "request or response body of one of its operations.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    target = validate.add_mutually_exclusive_group(required=True)
    target.add_argument("--schema", metavar="NAME",
                        help="a schema name from 'ucloud-jobs schemas'; UCloud's spelling "
                             "(BulkRequest<JobSpecification>) is accepted too")
    target.add_argument("--operation", metavar="OPID",
                        help="an operationId such as jobs.extend; give --request or --status too")
    body = validate.add_mutually_exclusive_group()
    body.add_argument("--request", action="store_true", help="check the operation's request body")
    body.add_argument("--status", type=int, metavar="CODE",
                      help="check the operation's response body for status CODE (a CODE the operation does "
                           "not document uses its default response, and the report says so)")
    validate.add_argument("--format", choices=FORMATS, default="text",
                          help="report format; github writes GitHub Actions annotations (default: text)")
    validate.add_argument("-o", "--output", metavar="FILE", help="write the report to FILE instead of stdout")
    validate.add_argument("-q", "--quiet", action="store_true",
                          help="report only violations and errors: no 'valid' lines and no summary")
    validate.add_argument("--lines", action="store_true",
                          help="each FILE holds one JSON document per line (JSON Lines), such as the frames of a "
                               "jobs.follow stream as a WebSocket client records them; each line is checked on "
                               "its own and reported at its line")
    validate.add_argument("files", nargs="*", metavar="FILE", help="a JSON file to check; '-' reads stdin")
    validate.set_defaults(command=run_validate, prog=validate.prog)

    schemas = subparsers.add_parser("schemas", help="list the schema names, one per line",
                                    description="List the names of the contract's schemas, one per line.")
    schemas.add_argument("-d", "--describe", action="store_true",
                         help="follow each name with the first sentence of its description")
    schemas.set_defaults(command=run_schemas, prog=schemas.prog)


# ---------------------------------------------------------------------------------------------- commands
def run_validate(args: argparse.Namespace) -> int:
    """Run ``ucloud-jobs validate``: 0 when every file is valid, 1 when any is not, 2 on a usage error."""
    try:
        contract = default_contract()
        target = _resolve_target(contract, args.schema, args.operation, args.request, args.status)
        if not args.files:
            raise ContractError("no files to validate; give one or more FILE arguments, or - to read stdin")
        if list(args.files).count(STDIN) > 1:
            raise ContractError("stdin ('-') can be read only once")
        if target.fell_back:
            print(f"{args.prog}: note: {_fallback_note(target)}", file=sys.stderr)
        # One document at a time, so that a thousand files never sit in memory together.
        results = [check_file(contract, target, name, lines=args.lines) for name in args.files]
        _emit(render(args.format, results, target, quiet=args.quiet), args.output)
    except ContractError as error:
        return _usage_error(args.prog, error)
    if not args.quiet:
        print(summary(results, target), file=sys.stderr)
    return 0 if all(result.valid for result in results) else 1


def _fallback_note(target: Target) -> str:
    return (f"{target.operation} documents no response {target.status}; checking against its default "
            f"response, {target.schema}")


def run_schemas(args: argparse.Namespace) -> int:
    """Run ``ucloud-jobs schemas``: print every schema name, one per line."""
    try:
        spec = default_spec()
    except ContractError as error:
        return _usage_error(args.prog, error)
    names = spec.schema_names()
    if not args.describe:
        print("\n".join(names))
        return 0
    width = max(map(len, names))
    for name in names:
        print(f"{name:<{width}}  {_first_sentence(spec.schemas[name].get('description', ''))}".rstrip())
    return 0


def _usage_error(prog: str, error: ContractError) -> int:
    for line in str(error).splitlines():
        print(f"{prog}: error: {safe(line)}", file=sys.stderr)
    return 2


# ---------------------------------------------------------------------------------------------- the work
def _resolve_target(contract: Contract, schema: str | None, operation: str | None, request: bool,
                    status: int | None) -> Target:
    """The schema to check against, from ``--schema`` or ``--operation`` with ``--request`` / ``--status``."""
    if operation is None:
        if request or status is not None:
            raise ContractError("--request and --status go with --operation, not with --schema")
        if schema is None:
            raise ContractError("give --schema NAME or --operation OPID")
        name = contract.validator(schema).name  # raises ContractError naming the closest schema
        return Target(schema=name, subject=name)
    found = contract.spec.operation(operation)  # raises ContractError naming the closest operation
    if request:
        if found.request_schema is None:
            raise ContractError(f"{operation} ({found.method} {found.path}) has no request body; its input "
                                "is query parameters")
        return Target(schema=found.request_schema, subject=f"{operation} request body", operation=operation)
    if status is None:
        raise ContractError(f"--operation {operation} needs --request or --status CODE")
    schema = found.response_schema(status)  # raises ContractError when there is no default to fall back to
    if str(status) in found.response_schemas:
        return Target(schema=schema, subject=f"{operation} response {status}", operation=operation,
                      status=status, response=str(status))
    return Target(schema=schema, subject=f"{operation} response {status}: undocumented, so the default response",
                  operation=operation, status=status, response="default")


def _emit(report: str, output: str | None) -> None:
    if output is None:
        sys.stdout.write(report)
        return
    try:
        Path(output).write_text(report, encoding="utf-8")
    except OSError as error:
        raise ContractError(f"cannot write the report to {output}: {error.strerror or error}") from None


def _first_sentence(description: str) -> str:
    """The first sentence of a schema's description, on one line."""
    paragraph = " ".join(description.strip().split("\n\n", 1)[0].split())
    return re.split(r"(?<=\.)\s", paragraph, maxsplit=1)[0]
