"""UCloud's wire conventions for GET calls: the request object flattened into the query string, and back.

The parameter names and types come from the spec's operation; nothing here re-types them. A boolean is true
only when its value is exactly ``true``; an enum matches exactly, then ignoring case; the first of repeated
keys wins; unknown keys are ignored.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import quote

from contracts.errors import ContractViolation, Violation
from contracts.explain import show
from contracts.spec import Operation, Parameter
from contracts.suggest import did_you_mean

__all__ = ["decode_query", "encode_query"]

_INTEGER = re.compile(r"-?[0-9]{1,19}")


def encode_query(params: Mapping[str, Any]) -> str:
    """A query string as UCloud's clients write it: nulls dropped, booleans as ``true``/``false``, in order."""
    parts = []
    for name, value in params.items():
        if value is None:
            continue
        text = ("true" if value else "false") if isinstance(value, bool) else str(value)
        parts.append(f"{quote(name, safe='')}={quote(text, safe='')}")
    return "&".join(parts)


def decode_query(operation: Operation, args: Mapping[str, Iterable[str]] | Mapping[str, str]) -> dict[str, Any]:
    """The typed request of a GET operation from its query parameters; ``ContractViolation`` if malformed.

    ``args`` maps each name to its value or to all of its values (the first one counts).
    """
    decoded: dict[str, Any] = {}
    violations: list[Violation] = []
    for parameter in operation.parameters:
        raw = args.get(parameter.name)
        if raw is not None and not isinstance(raw, str):
            raw = next(iter(raw), None)
        if raw is None:
            if parameter.required:
                violations.append(Violation(f"/{parameter.name}", "required", "a value", "nothing",
                                            "required query parameter is missing"))
            continue
        try:
            decoded[parameter.name] = _decode(parameter, raw)
        except ValueError as error:
            expected, message = error.args
            violations.append(Violation(f"/{parameter.name}", "type", expected, show(raw), message))
    if violations:
        raise ContractViolation(f"{operation.method} {operation.path} ({operation.operation_id}) query", violations)
    return decoded


def _decode(parameter: Parameter, raw: str) -> Any:
    schema = parameter.schema
    kind = schema.get("type")
    if kind == "boolean":
        return raw == "true"
    if kind == "integer":
        if not _INTEGER.fullmatch(raw):
            raise ValueError("an integer", f"{show(raw)} is not an integer")
        value = int(raw)
        low, high = schema.get("minimum"), schema.get("maximum")
        if low is not None and value < low:
            raise ValueError(f"at least {low}", f"{value} is less than the minimum of {low}")
        if high is not None and value > high:
            raise ValueError(f"at most {high}", f"{value} is greater than the maximum of {high}")
        return value
    options = schema.get("enum")
    if options is not None:
        if raw in options:
            return raw
        for option in options:
            if option.casefold() == raw.casefold():
                return option
        listed = ", ".join(options)
        raise ValueError(f"one of {listed}", f"{show(raw)} is not one of {listed}{did_you_mean(raw, options)}")
    return raw
