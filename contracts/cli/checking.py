"""What ``ucloud-jobs validate`` finds in one file: its violations in document order, each with line and column,
or the reason it could not be checked (unreadable, not JSON, nested too deeply).

A file is one JSON document, or with ``lines`` one document per line (JSON Lines: the frames of a jobs.follow
stream as a WebSocket client records them), each checked on its own and its violations placed at its line.

A file that cannot be checked is a result like any other, so that one bad file never hides the verdict on the
rest; the report shows it as an error and the run fails.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from contracts.errors import Violation
from contracts.positions import locate
from contracts.validation import Contract

__all__ = ["STDIN", "STDIN_LABEL", "FileError", "FileResult", "Finding", "Target", "check", "check_file",
           "check_lines"]

STDIN = "-"
STDIN_LABEL = "<stdin>"


@dataclass(frozen=True)
class Target:
    """What the files are checked against: a schema, by name or as an operation's request or response body.

    ``response`` is the key of the operation's responses that gave the schema: the status itself, or
    ``default`` when the spec documents no such status and the operation's default response stands in.
    """

    schema: str
    subject: str
    operation: str | None = None
    status: int | None = None
    response: str | None = None

    @property
    def fell_back(self) -> bool:
        """Whether the status asked for is undocumented, so that the default response's schema is used."""
        return self.status is not None and self.response == "default"

    @property
    def label(self) -> str:
        """The schema, and for an operation what it stands for: ``CommonErrorMessage (jobs.create ...)``."""
        return self.schema if self.operation is None else f"{self.schema} ({self.subject})"


@dataclass(frozen=True)
class Finding:
    """A violation and where the offending value starts in the file (None where it cannot be told)."""

    violation: Violation
    line: int | None = None
    column: int | None = None

    def __str__(self) -> str:
        return str(self.violation)

    def to_dict(self) -> dict[str, Any]:
        """The violation as plain data, with its line and column."""
        return {**self.violation.to_dict(), "line": self.line, "column": self.column}


@dataclass(frozen=True)
class FileError:
    """Why a file could not be checked: ``cannot read: ...``, ``not JSON: ...``; where, when that is known."""

    message: str
    line: int | None = None
    column: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """The error as plain data."""
        return {"message": self.message, "line": self.line, "column": self.column}


@dataclass(frozen=True)
class FileResult:
    """The verdict on one file: its findings (none when it is valid), or the error that kept it from a verdict."""

    file: str
    schema: str
    findings: tuple[Finding, ...] = ()
    error: FileError | None = None

    @property
    def valid(self) -> bool:
        """Whether the file was checked and satisfies the schema."""
        return self.error is None and not self.findings

    @property
    def status(self) -> str:
        """``valid``, ``invalid`` or ``error``."""
        return "error" if self.error is not None else "invalid" if self.findings else "valid"

    @property
    def violations(self) -> tuple[Violation, ...]:
        """The violations, in document order."""
        return tuple(finding.violation for finding in self.findings)

    def to_dict(self) -> dict[str, Any]:
        """The verdict as plain data, for the JSON report."""
        return {"file": self.file, "schema": self.schema, "status": self.status, "valid": self.valid,
                "error": None if self.error is None else self.error.to_dict(),
                "violations": [finding.to_dict() for finding in self.findings]}


class _Unchecked(Exception):
    """A file that cannot be checked; carries the ``FileError``."""

    def __init__(self, message: str, line: int | None = None, column: int | None = None) -> None:
        super().__init__(message)
        self.error = FileError(message, line, column)


def check_file(contract: Contract, target: Target, name: str, *, lines: bool = False) -> FileResult:
    """The verdict on the file called ``name`` (``-`` is stdin), read and parsed here; with ``lines``, on each of
    its lines as a document of its own."""
    label = STDIN_LABEL if name == STDIN else name
    try:
        data = _read(name)
    except _Unchecked as unchecked:
        return FileResult(file=label, schema=target.schema, error=unchecked.error)
    return check_lines(contract, target, label, data) if lines else check(contract, target, label, data)


def check_lines(contract: Contract, target: Target, label: str, data: bytes) -> FileResult:
    """The verdict on a file of JSON Lines: every non-blank line is one document, checked against the schema.

    A violation is placed at its document's line (and its column in that line); a line that is not JSON makes
    the file an error at that line, as for any file that is not JSON. A file with no document is an error too.
    """
    validator = contract.validator(target.schema)
    try:
        text = _decode(data)
        findings: list[Finding] = []
        documents = 0
        # Lines end at "\n" alone (and a "\r" before it goes): JSON text may hold U+2028 and other line breaks.
        for number, line in enumerate((line.removesuffix("\r") for line in text.split("\n")), start=1):
            if not line.strip():
                continue
            documents += 1
            try:
                document = _loads(line)
            except _Unchecked as unchecked:
                raise _Unchecked(unchecked.error.message, number, unchecked.error.column) from None
            if not validator.is_valid(document):
                findings += [Finding(finding.violation, number, finding.column)
                             for finding in _in_document_order(line, list(validator.iter_violations(document)))]
        if not documents:
            raise _Unchecked("not JSON Lines: it holds no document")
    except _Unchecked as unchecked:
        return FileResult(file=label, schema=validator.name, error=unchecked.error)
    except RecursionError:
        return FileResult(file=label, schema=validator.name, error=FileError("nested too deeply to validate"))
    return FileResult(file=label, schema=validator.name, findings=tuple(findings))


def check(contract: Contract, target: Target, label: str, data: bytes) -> FileResult:
    """The verdict on one document given as bytes: parsed, validated, and its violations placed in the text."""
    validator = contract.validator(target.schema)
    try:
        text, document = _parse(data)
        # The compiled engine answers first; the reference one explains, only for an invalid document.
        if validator.is_valid(document):
            return FileResult(file=label, schema=validator.name)
        violations = list(validator.iter_violations(document))
    except _Unchecked as unchecked:
        return FileResult(file=label, schema=validator.name, error=unchecked.error)
    except RecursionError:
        return FileResult(file=label, schema=validator.name, error=FileError("nested too deeply to validate"))
    return FileResult(file=label, schema=validator.name, findings=_in_document_order(text, violations))


def _in_document_order(text: str, violations: list[Violation]) -> tuple[Finding, ...]:
    """Each violation with its line and column, sorted by where its value starts (a missing one: its parent)."""
    found = locate(text, {violation.pointer for violation in violations})
    unknown = len(text) + 1  # after everything, in the order the validator gave
    ordered = sorted(enumerate(violations), key=lambda item: (
        found[item[1].pointer].offset if item[1].pointer in found else unknown, item[0]))
    findings = []
    for _, violation in ordered:
        position = found.get(violation.pointer)
        findings.append(Finding(violation, position.line if position else None,
                                position.column if position else None))
    return tuple(findings)


def _read(name: str) -> bytes:
    try:
        if name != STDIN:
            return Path(name).read_bytes()
        if sys.stdin is None:
            raise _Unchecked("cannot read: standard input is closed")
        buffer = getattr(sys.stdin, "buffer", None)
        if buffer is not None:
            return bytes(buffer.read())
        return sys.stdin.read().encode("utf-8", "surrogatepass")
    except OSError as error:
        raise _Unchecked(f"cannot read: {error.strerror or error}") from None
    except ValueError:  # reading a closed stream
        raise _Unchecked("cannot read: standard input is closed") from None


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise _Unchecked(f"not JSON: it is not UTF-8 text ({error.reason} at byte {error.start})") from None


def _parse(data: bytes) -> tuple[str, Any]:
    """The text and the JSON document in ``data``; ``_Unchecked`` says where it is not JSON."""
    text = _decode(data)
    if not text.strip():
        raise _Unchecked("not JSON: it is empty")
    return text, _loads(text)


def _loads(text: str) -> Any:
    """The JSON document in ``text``; ``_Unchecked`` says where it is not JSON."""
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as error:
        raise _Unchecked(f"not JSON: {error.msg}", error.lineno, error.colno) from None
    except RecursionError:
        raise _Unchecked("nested too deeply to read as JSON") from None
    except ValueError as error:  # NaN and Infinity, or an integer longer than Python converts
        raise _Unchecked(f"not JSON: {error}") from None
