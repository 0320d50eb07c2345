"""Turning jsonschema's errors into violations a person can act on: pointer, expected, actual."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from jsonschema.exceptions import ValidationError

from contracts.errors import Violation
from contracts.suggest import did_you_mean

__all__ = ["explain", "pointer_of", "show"]

_JSON_TYPE_OF = {bool: "boolean", int: "integer", float: "number", str: "string", list: "array",
                 dict: "object", type(None): "null"}


def pointer_of(path: Iterable[Any]) -> str:
    """A JSON pointer (RFC 6901) for a path of keys and indices."""
    return "".join("/" + str(part).replace("~", "~0").replace("/", "~1") for part in path)


def show(value: Any, limit: int = 60) -> str:
    """A short rendering of a JSON value for a message: strings quoted, containers summarised."""
    if isinstance(value, str):
        text = repr(value)
        return text if len(text) <= limit else text[: limit - 4] + "...'"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return f"an array of {len(value)} item{'' if len(value) == 1 else 's'}"
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return json.dumps(value)


def _json_type(value: Any) -> str:
    return _JSON_TYPE_OF.get(type(value), type(value).__name__)


def _types(value: Any) -> str:
    names = [value] if isinstance(value, str) else list(value)
    return " or ".join(names)


def explain(errors: Iterable[ValidationError]) -> Iterator[Violation]:
    """Violations for a validator's errors, one per offending field, in document order, without repeats."""
    seen: set[tuple[str, str, str]] = set()
    for error in errors:
        for violation in _explain(error, nullable=False):
            key = (violation.pointer, violation.keyword, violation.message)
            if key not in seen:
                seen.add(key)
                yield violation


def _explain(error: ValidationError, nullable: bool) -> Iterator[Violation]:
    keyword = str(error.validator)
    if keyword == "anyOf":
        yield from _explain_any_of(error)
        return
    if keyword == "oneOf":
        yield from _explain_one_of(error)
        return
    if keyword == "required":
        yield from _explain_required(error)
        return
    yield _violation(error, keyword, *_expected_and_message(error, keyword, nullable))


def _violation(error: ValidationError, keyword: str, expected: str, message: str, *,
               pointer: str | None = None, actual: str | None = None) -> Violation:
    return Violation(
        pointer=pointer_of(error.absolute_path) if pointer is None else pointer,
        keyword=keyword,
        expected=expected,
        actual=show(error.instance) if actual is None else actual,
        message=message,
        schema_path=pointer_of(error.absolute_schema_path),
    )


def _expected_and_message(  # noqa: PLR0912 - one branch per JSON Schema keyword reads best flat
    error: ValidationError, keyword: str, nullable: bool
) -> tuple[str, str]:
    value: Any = error.instance
    rule: Any = error.validator_value
    shown = show(value)
    if keyword == "type":
        expected = _types(rule) + (" or null" if nullable else "")
        return expected, f"{shown} is not of type {expected}"
    if keyword == "enum":
        expected = "one of " + ", ".join(str(option) for option in rule)
        return expected, f"{shown} is not {expected}{did_you_mean(value, rule)}"
    if keyword == "const":
        return show(rule), f"{shown} is not {show(rule)}"
    if keyword in ("minimum", "exclusiveMinimum"):
        return f"at least {rule}", f"{shown} is less than the minimum of {rule}"
    if keyword in ("maximum", "exclusiveMaximum"):
        return f"at most {rule}", f"{shown} is greater than the maximum of {rule}"
    if keyword == "minItems":
        return f"at least {rule} items", f"{len(value)} items, fewer than the minimum of {rule}"
    if keyword == "maxItems":
        return f"at most {rule} items", f"{len(value)} items, more than the maximum of {rule}"
    if keyword == "minLength":
        return f"at least {rule} characters", f"{len(value)} characters, fewer than the minimum of {rule}"
    if keyword == "maxLength":
        return f"at most {rule} characters", f"{len(value)} characters, more than the maximum of {rule}"
    if keyword == "pattern":
        return f"a string matching {rule}", f"{shown} does not match {rule}"
    if keyword == "not":
        forbidden = rule.get("pattern") if isinstance(rule, dict) else None
        if forbidden in ("\n", "\\n"):
            return "no line break", f"{shown} must not contain a line break"
        if isinstance(rule, dict) and isinstance(rule.get("description"), str):
            return f"not {rule['description']}", f"{shown} must not be {rule['description']}"
        return f"not {json.dumps(rule)}", f"{shown} is not allowed here"
    if keyword in ("additionalProperties", "unevaluatedProperties"):
        return "no unknown fields", error.message
    return keyword, error.message


def _explain_required(error: ValidationError) -> Iterator[Violation]:
    base = pointer_of(error.absolute_path)
    instance = error.instance if isinstance(error.instance, dict) else {}
    required: Any = error.validator_value
    for name in required:
        if name not in instance:
            yield _violation(error, "required", "a value", "required field is missing",
                             pointer=f"{base}/{name}", actual="nothing")


def _branches(error: ValidationError) -> dict[int, list[ValidationError]]:
    by_branch: dict[int, list[ValidationError]] = {}
    for sub in error.context or ():
        index = sub.relative_schema_path[0]
        if isinstance(index, int):
            by_branch.setdefault(index, []).append(sub)
    return by_branch


def _is_null_schema(schema: Any) -> bool:
    return isinstance(schema, dict) and schema.get("type") == "null" and len(schema) == 1


def _explain_any_of(error: ValidationError) -> Iterator[Violation]:
    branches: Any = error.validator_value
    nullable = any(_is_null_schema(branch) for branch in branches)
    others = [i for i, branch in enumerate(branches) if not _is_null_schema(branch)]
    if error.instance is not None and len(others) == 1:
        # "X or null": explain what is wrong with X, and say that null would also do.
        for sub in _branches(error).get(others[0], []):
            yield from _explain(sub, nullable=nullable and list(sub.absolute_path) == list(error.absolute_path))
        return
    yield _named_form(error, "anyOf") or _violation(
        error, "anyOf", "one of the allowed forms", f"{show(error.instance)} matches none of the allowed forms")


def _named_form(error: ValidationError, keyword: str) -> Violation | None:
    """A union that says what it is: a choice of constants ("is not one of a, b"), or a titled form."""
    schema = error.schema if isinstance(error.schema, dict) else {}
    branches = schema.get(keyword, [])
    if branches and all(isinstance(branch, dict) and "const" in branch for branch in branches):
        listed = ", ".join(str(branch["const"]) for branch in branches)
        return _violation(error, "enum", f"one of {listed}", f"{show(error.instance)} is not one of {listed}")
    title = schema.get("title")
    if isinstance(title, str):
        detail = schema.get("description")
        return _violation(error, keyword, title, f"{show(error.instance)} is not {title}"
                                                 + (f" ({detail})" if isinstance(detail, str) else ""))
    return None


def _explain_one_of(error: ValidationError) -> Iterator[Violation]:
    """A discriminated union: pick the branch named by the discriminator and explain only that one."""
    parent = error.schema if isinstance(error.schema, dict) else {}
    discriminator = parent.get("discriminator", {})
    field = discriminator.get("propertyName")
    mapping: dict[str, str] = discriminator.get("mapping", {})
    instance = error.instance
    base = pointer_of(error.absolute_path)
    if field is None:
        yield _named_form(error, "oneOf") or _violation(
            error, "oneOf", "exactly one of the allowed forms",
            f"{show(instance)} does not match exactly one of the allowed forms")
        return
    if not isinstance(instance, dict):
        yield _violation(error, "type", "object", f"{show(instance)} is not of type object")
        return
    if field not in instance:
        yield _violation(error, "required", f"one of {', '.join(mapping)}", "required field is missing",
                         pointer=f"{base}/{field}", actual="nothing")
        return
    tag = instance[field]
    names = list(mapping)
    if not isinstance(tag, str) or tag not in mapping:
        yield _violation(error, "discriminator", "one of " + ", ".join(names),
                         f"{show(tag)} is not one of {', '.join(names)}{did_you_mean(tag, names)}",
                         pointer=f"{base}/{field}", actual=show(tag))
        return
    chosen = names.index(tag)
    for sub in _branches(error).get(chosen, []):
        yield from _explain(sub, nullable=False)
