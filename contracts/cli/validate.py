"""The contract's commands: ``validate`` checks JSON files against the contract, ``schemas`` lists its names.

``add_commands`` registers both on the ``ucloud-jobs`` parser; each command is a function of the parsed
arguments that returns the exit code: 0 when every file is valid, 1 when any breaks the contract, 2 on a usage
error (an unknown schema or operation, no files, a file that cannot be read or is not JSON). Usage errors are
one line per problem on stderr, prefixed ``ucloud-jobs validate: error:``; nothing goes to stdout then.

Reports go to stdout (or to ``--output FILE``), in one of three formats:

- ``text``: ``FILE: valid`` for a valid file, ``FILE: POINTER: MESSAGE`` for each violation of an invalid one;
- ``json``: ``{"schema", "operation", "valid", "summary", "files": [...]}`` with an entry per file;
- ``junit``: JUnit XML, one testsuite ``ucloud-jobs validate`` with a testcase per file.

The summary line (``2 files, 1 invalid, 3 violations``) goes to stderr, so that stdout holds only the report.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from contracts.errors import ContractError, Violation
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

STDIN = "-"
STDIN_LABEL = "<stdin>"
SUITE = "ucloud-jobs validate"
FORMATS = ("text", "json", "junit")

_EPILOG = """\
exit status:
  0  every file is valid
  1  at least one file breaks the contract
  2  usage error: unknown schema or operation, no files, a file unreadable or not JSON

The report goes to stdout (or --output FILE); the summary line goes to stderr."""

# Characters that would corrupt a terminal line or an XML document (XML 1.0 forbids C0 controls, lone
# surrogates and U+FFFE/U+FFFF); they can reach a report through file names and through object keys.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


@dataclass(frozen=True)
class Target:
    """What the files are checked against: a schema, by name or as an operation's request or response body."""

    schema: str
    subject: str
    operation: str | None = None


@dataclass(frozen=True)
class FileResult:
    """The verdict on one file: every violation of the target's schema, none when the file is valid."""

    file: str
    schema: str
    violations: tuple[Violation, ...]

    @property
    def valid(self) -> bool:
        """Whether the file satisfies the schema."""
        return not self.violations

    def to_dict(self) -> dict[str, Any]:
        """The verdict as plain data, for the JSON report."""
        return {"file": self.file, "schema": self.schema, "valid": self.valid,
                "violations": [violation.to_dict() for violation in self.violations]}


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
                      help="check the operation's response body for status CODE")
    validate.add_argument("--format", choices=FORMATS, default="text", help="report format (default: text)")
    validate.add_argument("-o", "--output", metavar="FILE", help="write the report to FILE instead of stdout")
    validate.add_argument("-q", "--quiet", action="store_true",
                          help="report only violations: no 'valid' lines and no summary")
    validate.add_argument("files", nargs="*", metavar="FILE", help="a JSON file to check; '-' reads stdin")
    validate.set_defaults(command=run_validate, prog=validate.prog)

    schemas = subparsers.add_parser("schemas", help="list the schema names, one per line",
                                    description="List the names of the contract's schemas, one per line.")
    schemas.add_argument("-d", "--describe", action="store_true",
                         help="follow each name with the first sentence of its description")
    schemas.set_defaults(command=run_schemas, prog=schemas.prog)


# ---------------------------------------------------------------------------------------------- commands
def run_validate(args: argparse.Namespace) -> int:
    """Run ``ucloud-jobs validate``: 0 when every file is valid, 1 when any violates, 2 on a usage error."""
    try:
        contract = default_contract()
        target = _resolve_target(contract, args.schema, args.operation, args.request, args.status)
        if not args.files:
            raise ContractError("no files to validate; give one or more FILE arguments, or - to read stdin")
        results = _check_all(contract, target, args.files)
        _emit(render(args.format, results, target, quiet=args.quiet), args.output)
    except ContractError as error:
        return _usage_error(args.prog, error)
    if not args.quiet:
        print(summary(results), file=sys.stderr)
    return 0 if all(result.valid for result in results) else 1


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
        print(f"{prog}: error: {_safe(line)}", file=sys.stderr)
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
        name = contract.validator(schema).name  # raises ContractError listing the known names
        return Target(schema=name, subject=name)
    found = contract.spec.operation(operation)  # raises ContractError listing the known operations
    if request:
        if found.request_schema is None:
            raise ContractError(f"{operation} ({found.method} {found.path}) has no request body; its input "
                                "is query parameters")
        return Target(schema=found.request_schema, subject=f"{operation} request body", operation=operation)
    if status is None:
        raise ContractError(f"--operation {operation} needs --request or --status CODE")
    return Target(schema=found.response_schema(status), subject=f"{operation} response {status}",
                  operation=operation)


def _check_all(contract: Contract, target: Target, names: Sequence[str]) -> list[FileResult]:
    """The verdict on every file; one ``ContractError`` lists every file that could not be read or checked."""
    if list(names).count(STDIN) > 1:
        raise ContractError("stdin ('-') can be read only once")
    results: list[FileResult] = []
    problems: list[str] = []
    for name in names:
        label = STDIN_LABEL if name == STDIN else name
        try:
            # One document at a time, so that a thousand files never sit in memory together.
            results.append(check(contract, target, label, _parse(label, _read(name, label))))
        except ContractError as error:
            problems.append(_safe(str(error)))  # one line per file, whatever its name holds
    if problems:
        raise ContractError("\n".join(problems))
    return results


def _read(name: str, label: str) -> bytes:
    try:
        if name != STDIN:
            return Path(name).read_bytes()
        if sys.stdin is None:
            raise ContractError(f"cannot read {label}: it is closed")
        buffer = getattr(sys.stdin, "buffer", None)
        if buffer is not None:
            return bytes(buffer.read())
        return sys.stdin.read().encode("utf-8", "surrogatepass")
    except OSError as error:
        raise ContractError(f"cannot read {label}: {error.strerror or error}") from None
    except ValueError:  # reading a closed stream
        raise ContractError(f"cannot read {label}: it is closed") from None


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


def _parse(label: str, data: bytes) -> Any:
    """The JSON document in ``data``; ``ContractError`` says where it is not JSON (line and column)."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        reason = f"{error.reason} at byte {error.start}"
        raise ContractError(f"{label} is not JSON: it is not UTF-8 text ({reason})") from None
    if not text.strip():
        raise ContractError(f"{label} is not JSON: it is empty")
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as error:
        where = f"line {error.lineno}, column {error.colno}"
        raise ContractError(f"{label} is not JSON: {error.msg} at {where}") from None
    except RecursionError:
        raise ContractError(f"{label} is nested too deeply to read as JSON") from None
    except ValueError as error:  # NaN and Infinity, or an integer longer than Python converts
        raise ContractError(f"{label} is not JSON: {error}") from None


def check(contract: Contract, target: Target, label: str, document: Any) -> FileResult:
    """The verdict on one parsed document: the compiled engine answers first, the reference one explains."""
    validator = contract.validator(target.schema)
    try:
        violations = () if validator.is_valid(document) else tuple(validator.iter_violations(document))
    except RecursionError:
        raise ContractError(f"{label} is nested too deeply to validate") from None
    return FileResult(file=label, schema=validator.name, violations=violations)


# ---------------------------------------------------------------------------------------------- reports
def summary(results: Sequence[FileResult]) -> str:
    """One line such as ``2 files, 1 invalid, 3 violations``."""
    files = len(results)
    invalid = sum(not result.valid for result in results)
    violations = sum(len(result.violations) for result in results)
    return f"{_count(files, 'file')}, {invalid} invalid, {_count(violations, 'violation')}"


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def _safe(text: str) -> str:
    """``text`` with control characters and lone surrogates spelled as escapes, fit for a terminal or XML."""
    return _UNSAFE.sub(lambda match: f"\\x{ord(match[0]):02x}" if ord(match[0]) < 0x100
                       else f"\\u{ord(match[0]):04x}", text)


def _render_text(results: Sequence[FileResult], target: Target, quiet: bool) -> str:
    lines: list[str] = []
    for result in results:
        if result.valid:
            if not quiet:
                lines.append(f"{result.file}: valid")
        else:
            lines += [f"{result.file}: {violation}" for violation in result.violations]
    return "".join(_safe(line) + "\n" for line in lines)


def _render_json(results: Sequence[FileResult], target: Target, quiet: bool) -> str:
    files = len(results)
    invalid = sum(not result.valid for result in results)
    report = {
        "schema": target.schema,
        "operation": target.operation,
        "valid": invalid == 0,
        "summary": {"files": files, "invalid": invalid,
                    "violations": sum(len(result.violations) for result in results)},
        "files": [result.to_dict() for result in results],
    }
    return json.dumps(report, indent=2) + "\n"


def _render_junit(results: Sequence[FileResult], target: Target, quiet: bool) -> str:
    failures = str(sum(not result.valid for result in results))
    counts = {"tests": str(len(results)), "failures": failures, "errors": "0"}
    suites = ET.Element("testsuites", {"name": SUITE, **counts})
    suite = ET.SubElement(suites, "testsuite", {"name": SUITE, **counts, "skipped": "0"})
    for result in results:
        case = ET.SubElement(suite, "testcase", classname=result.schema, name=_safe(result.file))
        if result.valid:
            continue
        noun = _count(len(result.violations), "violation")
        failure = ET.SubElement(case, "failure", type="ContractViolation",
                                message=_safe(f"{result.file}: {noun} of {target.subject}"))
        failure.text = "\n".join(_safe(f"{result.file}: {violation}") for violation in result.violations)
    ET.indent(suites)
    return ET.tostring(suites, encoding="unicode", xml_declaration=True) + "\n"


_RENDERERS: dict[str, Callable[[Sequence[FileResult], Target, bool], str]] = {
    "text": _render_text,
    "json": _render_json,
    "junit": _render_junit,
}


def render(report_format: str, results: Sequence[FileResult], target: Target, quiet: bool = False) -> str:
    """The report in ``report_format`` (``text``, ``json`` or ``junit``)."""
    try:
        renderer = _RENDERERS[report_format]
    except KeyError:
        known = ", ".join(FORMATS)
        raise ContractError(f"unknown format {report_format!r}; known formats: {known}") from None
    return renderer(results, target, quiet)


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
