"""The reports of ``ucloud-jobs validate``: text, json, junit and github, and the summary line.

Every report names the schema the files were checked against (and, for an operation, what it stands for),
lists the files in the order given, and shows a file that could not be checked as an error.

- ``text``: ``FILE: valid``; ``FILE:LINE:COLUMN: POINTER: MESSAGE`` for each violation, in document order;
  ``FILE[:LINE:COLUMN]: error: MESSAGE`` for a file that could not be checked.
- ``json``: ``{"schema", "operation", "status", "response", "target", "valid", "summary", "files"}``.
- ``junit``: one testsuite with the target in its properties; a testcase per file, with a ``failure`` for
  violations and an ``error`` for a file that could not be checked.
- ``github``: GitHub Actions workflow commands, one ``::error`` annotation per violation and per error.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence

from contracts.cli.checking import FileResult, Target
from contracts.errors import ContractError

__all__ = ["FORMATS", "SUITE", "github_data", "github_property", "render", "safe", "summary"]

SUITE = "ucloud-jobs validate"

# Characters that would corrupt a terminal line or an XML document (XML 1.0 forbids C0 controls, lone
# surrogates and U+FFFE/U+FFFF); they can reach a report through file names and through object keys.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


def safe(text: str) -> str:
    """``text`` with control characters and lone surrogates spelled as escapes, fit for a terminal or XML."""
    return _UNSAFE.sub(lambda match: f"\\x{ord(match[0]):02x}" if ord(match[0]) < 0x100
                       else f"\\u{ord(match[0]):04x}", text)


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def _counts(results: Sequence[FileResult]) -> dict[str, int]:
    return {"files": len(results),
            "invalid": sum(result.status == "invalid" for result in results),
            "errors": sum(result.status == "error" for result in results),
            "violations": sum(len(result.findings) for result in results)}


def summary(results: Sequence[FileResult], target: Target) -> str:
    """One line such as ``Job: 3 files, 1 invalid, 1 error, 3 violations``."""
    counts = _counts(results)
    return (f"{safe(target.label)}: {_count(counts['files'], 'file')}, {counts['invalid']} invalid, "
            f"{_count(counts['errors'], 'error')}, {_count(counts['violations'], 'violation')}")


def _where(line: int | None, column: int | None) -> str:
    return "" if line is None else f":{line}:{column}"


def _text_lines(result: FileResult) -> list[str]:
    """The lines of one file's verdict, without the ``valid`` line."""
    if result.error is not None:
        return [f"{result.file}{_where(result.error.line, result.error.column)}: error: {result.error.message}"]
    return [f"{result.file}{_where(finding.line, finding.column)}: {finding}" for finding in result.findings]


def _render_text(results: Sequence[FileResult], target: Target, quiet: bool) -> str:
    lines: list[str] = []
    for result in results:
        if result.valid:
            if not quiet:
                lines.append(f"{result.file}: valid")
        else:
            lines += _text_lines(result)
    return "".join(safe(line) + "\n" for line in lines)


def _render_json(results: Sequence[FileResult], target: Target, quiet: bool) -> str:
    counts = _counts(results)
    report = {
        "schema": target.schema,
        "operation": target.operation,
        "status": target.status,
        "response": target.response,
        "target": target.label,
        "valid": all(result.valid for result in results),
        "summary": counts,
        "files": [result.to_dict() for result in results],
    }
    return json.dumps(report, indent=2) + "\n"


def _properties(target: Target) -> dict[str, str]:
    named = {"schema": target.schema, "operation": target.operation, "status": target.status,
             "response": target.response, "target": target.label}
    return {name: str(value) for name, value in named.items() if value is not None}


def _render_junit(results: Sequence[FileResult], target: Target, quiet: bool, suite_name: str = SUITE) -> str:
    counts = _counts(results)
    totals = {"tests": str(counts["files"]), "failures": str(counts["invalid"]), "errors": str(counts["errors"])}
    suites = ET.Element("testsuites", {"name": suite_name, **totals})
    suite = ET.SubElement(suites, "testsuite", {"name": suite_name, **totals, "skipped": "0"})
    properties = ET.SubElement(suite, "properties")
    for name, value in _properties(target).items():
        ET.SubElement(properties, "property", name=name, value=safe(value))
    for result in results:
        case = ET.SubElement(suite, "testcase", classname=result.schema, name=safe(result.file))
        if result.error is not None:
            error = ET.SubElement(case, "error", type="FileError",
                                  message=safe(f"{result.file}: {result.error.message}"))
            error.text = "\n".join(safe(line) for line in _text_lines(result))
        elif result.findings:
            noun = _count(len(result.findings), "violation")
            failure = ET.SubElement(case, "failure", type="ContractViolation",
                                    message=safe(f"{result.file}: {noun} of {target.label}"))
            failure.text = "\n".join(safe(line) for line in _text_lines(result))
    ET.indent(suites)
    return ET.tostring(suites, encoding="unicode", xml_declaration=True) + "\n"


def github_data(text: str) -> str:
    """The message of a workflow command, escaped as GitHub Actions reads it back (%, CR and LF)."""
    return safe(text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A"))


def github_property(text: str) -> str:
    """A property of a workflow command (file, title), escaped: as a message, and ``:`` and ``,`` too."""
    return github_data(text).replace(":", "%3A").replace(",", "%2C")


def _annotation(file: str, line: int | None, column: int | None, title: str, message: str) -> str:
    properties = [f"file={github_property(file)}"]
    if line is not None:
        properties += [f"line={line}", f"col={column}"]
    properties.append(f"title={github_property(title)}")
    return f"::error {','.join(properties)}::{github_data(message)}\n"


def _render_github(results: Sequence[FileResult], target: Target, quiet: bool) -> str:
    lines: list[str] = []
    for result in results:
        if result.error is not None:
            lines.append(_annotation(result.file, result.error.line, result.error.column, target.label,
                                     result.error.message))
        lines += [_annotation(result.file, finding.line, finding.column, target.label, str(finding))
                  for finding in result.findings]
    return "".join(lines)


_RENDERERS: dict[str, Callable[[Sequence[FileResult], Target, bool], str]] = {
    "text": _render_text,
    "json": _render_json,
    "junit": _render_junit,
    "github": _render_github,
}
FORMATS = tuple(_RENDERERS)


def render(report_format: str, results: Sequence[FileResult], target: Target, quiet: bool = False,
           suite: str = SUITE) -> str:
    """The report in ``report_format`` (``text``, ``json``, ``junit`` or ``github``); ``suite`` names the JUnit
    test suite (another command's report, such as the proxy's)."""
    if report_format == "junit":
        return _render_junit(results, target, quiet, suite)
    try:
        renderer = _RENDERERS[report_format]
    except KeyError:
        raise ContractError(f"unknown format {report_format!r}; known formats: {', '.join(FORMATS)}") from None
    return renderer(results, target, quiet)
