"""What the proxy saw of one call, and what it found wrong with it: the data the checks, the report, the journal
and the recorder share. Nothing here holds a token: who called is a name (``contracts.proxy.users``)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

__all__ = ["DIRECTIONS", "Direction", "Exchange", "Finding", "parse_json"]

#: Whose fault a finding is: the client's (``request``), the service's drift from the contract (``response``),
#: or an upstream that gave no usable answer at all (``upstream``).
Direction = Literal["request", "response", "upstream"]
DIRECTIONS: tuple[Direction, ...] = ("request", "response", "upstream")


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


_DECODER = json.JSONDecoder(parse_constant=_no_constant)  # json.loads would build one per call


def parse_json(body: bytes) -> tuple[bool, Any]:
    """Whether ``body`` is one JSON document (UTF-8, no NaN), and the document."""
    try:
        text = body.decode("utf-8")
        return (True, _DECODER.decode(text)) if text.strip() else (False, None)
    except (ValueError, RecursionError):  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        return False, None


@dataclass(frozen=True, slots=True)
class Exchange:
    """One call through the proxy: the request as the client sent it and the upstream's answer.

    ``status`` is None when the upstream gave no answer (``failure`` says why). ``wall_ms`` is the proxy's clock
    when the request went out; ``user`` is a name for the caller, never its token.
    """

    seq: int
    method: str
    path: str
    query: str
    request: bytes
    operation: str | None
    status: int | None
    response: bytes
    wall_ms: int = 0
    user: str | None = None
    project: str | None = None
    failure: str | None = None
    #: The answer's body parsed (``parse_json``), when whoever made the exchange parsed it already.
    answer: tuple[bool, Any] | None = None

    def parsed(self) -> tuple[bool, Any]:
        """Whether the answer is JSON, and the document."""
        return self.answer if self.answer is not None else parse_json(self.response)

    @property
    def label(self) -> str:
        """``#3 POST /api/jobs/extend``: how reports and the log name the call."""
        return f"#{self.seq} {self.method} {self.path}"


@dataclass(frozen=True, slots=True)
class Finding:
    """One thing wrong with a call: whose fault (``direction``), where (a JSON pointer into the body, or the
    query's parameter), what, and which check said so."""

    seq: int
    operation: str | None
    direction: Direction
    pointer: str
    message: str
    check: str = "schema"

    def line(self) -> str:
        """The log line: operation, direction, pointer, message."""
        return f"#{self.seq} {self.operation or '-'} {self.direction} {self.pointer or '/'}: {self.message}"

    def to_dict(self) -> dict[str, Any]:
        """As the journal and the JSON report show it."""
        return {"operation": self.operation, "direction": self.direction, "pointer": self.pointer,
                "message": self.message, "check": self.check}
