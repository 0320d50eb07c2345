"""The two families of errors: a mistake in how the library is used, and a payload that breaks the contract."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["ContractError", "ContractViolation", "Violation"]


class ContractError(Exception):
    """A usage or configuration mistake: an unknown schema or operation, an unreadable spec or scenario."""


@dataclass(frozen=True)
class Violation:
    """One way in which a document breaks its schema.

    ``pointer`` is the JSON pointer of the offending value in the document ("" is the document itself);
    ``expected`` says what the schema asks for there and ``actual`` shows what was found, both as short text.
    """

    pointer: str
    keyword: str
    expected: str
    actual: str
    message: str
    schema_path: str = ""

    def __str__(self) -> str:
        return f"{self.pointer or '/'}: {self.message}"

    def to_dict(self) -> dict[str, str]:
        """The violation as plain data, for JSON reports."""
        return {
            "pointer": self.pointer,
            "keyword": self.keyword,
            "expected": self.expected,
            "actual": self.actual,
            "message": self.message,
            "schemaPath": self.schema_path,
        }


class ContractViolation(AssertionError):
    """A document, request or response that breaks the contract.

    It is an ``AssertionError`` so that pytest reports it as a plain test failure. ``subject`` names what was
    checked ("Job", "jobs.extend request body", "jobs.retrieve response 200"); ``violations`` lists every
    offending field, or the first ones when ``more`` says there are others (a validation asked for at most so
    many).
    """

    def __init__(self, subject: str, violations: Iterable[Violation], *, more: bool = False) -> None:
        self.subject = subject
        self.violations: tuple[Violation, ...] = tuple(violations)
        self.more = more
        super().__init__(self._render())

    def _render(self) -> str:
        count = len(self.violations)
        noun = "violation" if count == 1 and not self.more else "violations"
        lines = [f"{self.subject} breaks the contract ({'at least ' if self.more else ''}{count} {noun}):"]
        lines += [f"  {violation}" for violation in self.violations]
        return "\n".join(lines)
