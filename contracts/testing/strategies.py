"""Hypothesis strategies built from the contract's schemas, and the domain strategies of the property suite.

hypothesis-jsonschema no longer works with current Hypothesis, and the spec uses a small, fixed set of JSON
Schema keywords, so this module translates exactly those. Any other keyword raises ``ContractError`` naming
it and where it is: a change to the spec can never silently make the strategies produce invalid documents.

Documents are small by default (lists of at most three items unless ``minItems`` asks for more, short
strings); ``full_bounds=True`` honours the schema's own bounds instead. Optional properties are sometimes
absent, sometimes present (and then sometimes null, where the schema allows it). Keys the schema does not name
are generated only with ``extra_keys=True`` (UCloud ignores them). Integers favour their bounds, their
neighbours and 0.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Mapping
from typing import Any

from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy
from jsonschema import Draft202012Validator

from contracts.errors import ContractError
from contracts.spec import Spec, canonical_schema_name, default_spec

__all__ = [
    "SUPPORTED_KEYWORDS",
    "bulk_requests",
    "documents",
    "durations",
    "from_schema",
    "include_flags",
    "job_specifications",
    "query_flags",
]

Schema = Mapping[str, Any]

_PREFIX = "#/components/schemas/"
_IGNORED = frozenset({"description", "$comment", "title", "examples", "discriminator", "default"})
_ASSERTIONS = frozenset({
    "$ref", "additionalProperties", "allOf", "anyOf", "const", "enum", "format", "items", "maxItems",
    "maxLength", "maximum", "minItems", "minimum", "not", "oneOf", "pattern", "properties", "required",
    "type",
})
SUPPORTED_KEYWORDS: tuple[str, ...] = tuple(sorted(_IGNORED | _ASSERTIONS))
_FORMATS = {"int32": (-(2**31), 2**31 - 1), "int64": (-(2**63), 2**63 - 1)}
_LOWER_BOUNDS = ("minimum", "minItems")
_UPPER_BOUNDS = ("maximum", "maxItems", "maxLength")
_IMPLIED_TYPE = (  # a schema without `type` generates the type its keywords constrain
    ("object", ("properties", "required", "additionalProperties")),
    ("array", ("items", "minItems", "maxItems")),
    ("string", ("pattern", "maxLength")),
    ("number", ("minimum", "maximum")),
)
_SMALL_LIST = 3
_SMALL_TEXT = 20
_CHARACTER_CLASS_REPEATED = re.compile(r"\^(\[[^\]\\]+\])([+*])\$")

_JSON: SearchStrategy[Any] = st.recursive(
    st.none() | st.booleans() | st.integers(*_FORMATS["int64"])
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=_SMALL_TEXT),
    lambda children: st.lists(children, max_size=_SMALL_LIST)
    | st.dictionaries(st.text(max_size=_SMALL_TEXT), children, max_size=_SMALL_LIST),
    max_leaves=6,
)


def _checked(schema: Any, path: str) -> Schema:
    """The schema itself, once it is known to use only keywords the translator understands."""
    if not isinstance(schema, Mapping):
        raise ContractError(f"the schema at {path} is {schema!r}; the strategy translator handles object "
                            f"schemas only")
    for keyword in schema:
        if keyword not in _IGNORED and keyword not in _ASSERTIONS and not keyword.startswith("x-"):
            raise ContractError(f"cannot generate data for the keyword {keyword!r} at {path}; the strategy "
                                f"translator supports only {', '.join(SUPPORTED_KEYWORDS)}")
    if "format" in schema and schema["format"] not in _FORMATS:
        raise ContractError(f"cannot generate data for the format {schema['format']!r} at {path}; the "
                            f"strategy translator supports only {', '.join(_FORMATS)}")
    return schema


def _types(schema: Schema) -> list[str]:
    declared = schema.get("type")
    if declared is not None:
        return [declared] if isinstance(declared, str) else list(declared)
    for implied, keywords in _IMPLIED_TYPE:
        if any(keyword in schema for keyword in keywords):
            return [implied]
    return ["any"]


def _common_types(left: list[str], right: list[str], path: str) -> list[str]:
    common = [t for t in left if t in right or (t == "integer" and "number" in right)]
    common += [t for t in right if t == "integer" and "number" in left and t not in common]
    if not common:
        raise ContractError(f"allOf at {path} asks for the types {left} and {right} at once: "
                            f"nothing satisfies it")
    return common


def _merge(left: Schema, right: Schema, path: str) -> dict[str, Any]:
    """Two schemas as one (what both allow), for the keywords whose intersection is simple."""
    merged = dict(left)
    for keyword, value in right.items():
        if keyword in _IGNORED and keyword != "discriminator":
            continue
        if keyword not in merged:
            merged[keyword] = value
        elif keyword in _LOWER_BOUNDS:
            merged[keyword] = max(merged[keyword], value)
        elif keyword in _UPPER_BOUNDS:
            merged[keyword] = min(merged[keyword], value)
        elif keyword == "type":
            merged[keyword] = _common_types(_types(merged), _types(right), path)
        elif keyword == "required":
            merged[keyword] = list(dict.fromkeys([*merged[keyword], *value]))
        elif keyword == "properties":
            mine = merged[keyword]
            merged[keyword] = {**mine, **{key: {"allOf": [mine[key], sub]} if key in mine else sub
                                          for key, sub in value.items()}}
        elif keyword in ("items", "additionalProperties"):
            merged[keyword] = {"allOf": [merged[keyword], value]}
        elif keyword == "not":
            merged[keyword] = {"anyOf": [merged[keyword], value]}
        elif keyword == "format":
            merged[keyword] = min(merged[keyword], value, key=lambda f: _FORMATS[f][1] - _FORMATS[f][0])
        elif merged[keyword] != value:
            raise ContractError(f"cannot merge the allOf at {path}: {keyword!r} is {merged[keyword]!r} "
                                f"in one part and {value!r} in another")
    return merged


def _integers(low: int | None, high: int | None) -> SearchStrategy[int]:
    """Integers between the bounds, with the bounds, their neighbours and 0 drawn often."""
    edges = {low, high, 0, None if low is None else low + 1, None if high is None else high - 1}
    inside = [e for e in edges if e is not None and (low is None or e >= low) and (high is None or e <= high)]
    # Closest to 0 first: Hypothesis shrinks towards the first choice.
    inside.sort(key=lambda value: (abs(value), value))
    return st.sampled_from(inside) | st.integers(low, high)


class _Translator:
    """Turns the schemas of one spec into strategies, each named schema once."""

    def __init__(self, spec: Spec, *, full_bounds: bool, extra_keys: bool) -> None:
        self.spec = spec
        self.full_bounds = full_bounds
        self.extra_keys = extra_keys
        self._named: dict[str, SearchStrategy[Any]] = {}
        self._building: set[str] = set()

    def named(self, name: str) -> SearchStrategy[Any]:
        """The strategy of a schema of ``components/schemas``, built once."""
        name = canonical_schema_name(name)
        if name in self._named:
            return self._named[name]
        if name in self._building:  # a recursive schema: resolve lazily, once built
            return st.deferred(lambda: self._named[name])
        schema = self.spec.schema(name)
        self._building.add(name)
        try:
            strategy = self.strategy(schema, _PREFIX + name)
        finally:
            self._building.discard(name)
        self._named[name] = strategy
        return strategy

    def strategy(self, schema: Any, path: str) -> SearchStrategy[Any]:
        """The strategy of any schema node; ``path`` says where it is, for error messages."""
        schema = _checked(schema, path)
        if "$ref" in schema and set(schema) - _IGNORED == {"$ref"}:
            return self.named(self._ref_name(schema["$ref"], path))
        if "$ref" in schema or "allOf" in schema:
            return self.strategy(self.flatten(schema, path), path)
        if "not" in schema:
            excluded = self._checker(_checked(schema["not"], f"{path}/not"))
            rest = {k: v for k, v in schema.items() if k != "not"}
            return self.strategy(rest, path).filter(lambda value: not excluded(value))
        if "anyOf" in schema and "oneOf" in schema:
            raise ContractError(f"the schema at {path} has both anyOf and oneOf; the translator takes one")
        for word in ("anyOf", "oneOf"):
            if word in schema:
                return self._alternatives(schema, word, path)
        if "const" in schema or "enum" in schema:
            check = self._checker(schema)
            values = [v for v in ([schema["const"]] if "const" in schema else schema["enum"]) if check(v)]
            if not values:
                raise ContractError(f"no value of the const or enum at {path} satisfies its schema")
            return st.sampled_from(values)
        return st.one_of(*[self._typed(kind, schema, path) for kind in _types(schema)])

    def flatten(self, schema: Schema, path: str) -> dict[str, Any]:
        """One schema node equivalent to ``schema`` with its ``$ref`` and ``allOf`` parts merged in."""
        schema = _checked(schema, path)
        merged = {k: v for k, v in schema.items() if k not in ("$ref", "allOf")}
        if "$ref" in schema:
            name = self._ref_name(schema["$ref"], path)
            merged = _merge(merged, self.flatten(self.spec.schema(name), _PREFIX + name), path)
        for index, part in enumerate(schema.get("allOf", ())):
            merged = _merge(merged, self.flatten(part, f"{path}/allOf/{index}"), path)
        return merged

    def _ref_name(self, ref: Any, path: str) -> str:
        if not isinstance(ref, str) or not ref.startswith(_PREFIX):
            raise ContractError(f"the $ref {ref!r} at {path} does not point into {_PREFIX}; the strategy "
                                f"translator follows only references to named schemas")
        return ref[len(_PREFIX):]

    def _checker(self, schema: Any) -> Callable[[Any], bool]:
        """A validity check for a schema node, its references resolved within the spec."""
        bundle = {**schema, "components": {"schemas": dict(self.spec.schemas)}}
        validator = Draft202012Validator(bundle)
        return validator.is_valid

    def _alternatives(self, schema: Schema, word: str, path: str) -> SearchStrategy[Any]:
        rest = {k: v for k, v in schema.items() if k not in (word, "discriminator")}
        branches = list(schema[word])
        discriminator = schema.get("discriminator") if word == "oneOf" else None
        if discriminator is not None:
            branches = self._discriminated(branches, discriminator, path)
        if set(rest) - _IGNORED:  # keywords beside anyOf/oneOf hold in every branch
            branches = [{"allOf": [rest, branch]} for branch in branches]
        strategy = st.one_of(*[self.strategy(b, f"{path}/{word}/{i}") for i, b in enumerate(branches)])
        if word == "oneOf" and discriminator is None:
            checks = [self._checker(branch) for branch in branches]
            strategy = strategy.filter(lambda value: sum(check(value) for check in checks) == 1)
        return strategy

    def _discriminated(self, branches: list[Any], discriminator: Any, path: str) -> list[Any]:
        """Each branch with the discriminating property required and fixed to its mapped value."""
        prop = discriminator["propertyName"]
        value_of = {ref: value for value, ref in discriminator.get("mapping", {}).items()}
        pinned = []
        for index, branch in enumerate(branches):
            ref = branch.get("$ref") if isinstance(branch, Mapping) else None
            if ref is None:
                raise ContractError(f"the discriminated oneOf at {path}/oneOf/{index} must be a $ref")
            value = value_of.get(ref, self._ref_name(ref, path))
            pinned.append({"allOf": [branch, {"required": [prop], "properties": {prop: {"const": value}}}]})
        return pinned

    def _typed(self, kind: str, schema: Schema, path: str) -> SearchStrategy[Any]:
        if kind == "null":
            return st.none()
        if kind == "boolean":
            return st.booleans()
        if kind in ("integer", "number"):
            low, high = self._bounds(schema, path)
            if kind == "integer":
                return _integers(low, high)
            low64, high64 = _FORMATS["int64"]
            whole = _integers(max(low, low64) if low is not None else low64,
                              min(high, high64) if high is not None else high64)
            return whole | st.floats(low, high, allow_nan=False, allow_infinity=False)
        if kind == "string":
            return self._string(schema)
        if kind == "array":
            low_items = schema.get("minItems", 0)
            high_items = schema.get("maxItems")
            if not self.full_bounds:
                small = _SMALL_LIST if high_items is None else min(high_items, _SMALL_LIST)
                high_items = max(low_items, small)
            items = self.strategy(schema.get("items", {}), f"{path}/items")
            return st.lists(items, min_size=low_items, max_size=high_items)
        if kind == "object":
            return self._object(schema, path)
        if kind == "any":
            return _JSON
        raise ContractError(f"the type {kind!r} at {path} is not a JSON Schema type")

    def _bounds(self, schema: Schema, path: str) -> tuple[int | None, int | None]:
        low, high = _FORMATS.get(schema.get("format", ""), (None, None))
        if "minimum" in schema:
            low = max(low, int(schema["minimum"])) if low is not None else int(schema["minimum"])
        if "maximum" in schema:
            high = min(high, int(schema["maximum"])) if high is not None else int(schema["maximum"])
        if low is not None and high is not None and low > high:
            raise ContractError(f"no number is at least {low} and at most {high} (the schema at {path})")
        return low, high

    def _string(self, schema: Schema) -> SearchStrategy[str]:
        limit = schema.get("maxLength")
        if not self.full_bounds:
            limit = _SMALL_TEXT if limit is None else min(limit, _SMALL_TEXT)
        pattern = schema.get("pattern")
        if pattern is None:
            return st.text(max_size=limit)
        simple = _CHARACTER_CLASS_REPEATED.fullmatch(pattern)
        if simple is not None:  # ^[...]+$: the length is ours to choose
            alphabet = st.from_regex(simple[1], fullmatch=True)
            return st.text(alphabet, min_size=1 if simple[2] == "+" else 0, max_size=limit)
        # fullmatch: a string that matches whole also matches under JSON Schema's search semantics, and
        # no trailing newline slips past `$`.
        matching = st.from_regex(str(pattern), fullmatch=True)
        return matching if limit is None else matching.filter(lambda text: len(text) <= limit)

    def _object(self, schema: Schema, path: str) -> SearchStrategy[dict[str, Any]]:
        properties: Mapping[str, Any] = schema.get("properties", {})
        required: list[str] = list(schema.get("required", ()))

        def sub(key: str) -> SearchStrategy[Any]:
            return self.strategy(properties.get(key, {}), f"{path}/properties/{key}")

        fixed = st.fixed_dictionaries({key: sub(key) for key in required},
                                      optional={key: sub(key) for key in properties if key not in required})
        extra = schema.get("additionalProperties")
        if extra is False or (extra in (None, True) and not self.extra_keys):
            return fixed
        values = _JSON if extra in (None, True) else self.strategy(extra, f"{path}/additionalProperties")
        keys = st.text(min_size=1, max_size=_SMALL_TEXT).filter(lambda key: key not in properties)
        extras = st.dictionaries(keys, values, max_size=None if self.full_bounds else _SMALL_LIST)
        return st.tuples(fixed, extras).map(lambda pair: {**pair[1], **pair[0]})


@functools.cache
def _translator(spec: Spec, full_bounds: bool, extra_keys: bool) -> _Translator:
    return _Translator(spec, full_bounds=full_bounds, extra_keys=extra_keys)


def from_schema(name: str, *, spec: Spec | None = None, full_bounds: bool = False,
                extra_keys: bool = False) -> SearchStrategy[Any]:
    """Documents valid against the schema ``name`` (UCloud's ``BulkRequest<...>`` spelling too)."""
    return _translator(spec or default_spec(), full_bounds, extra_keys).named(name)


def documents(name: str, *, spec: Spec | None = None, full_bounds: bool = False,
              extra_keys: bool = False) -> SearchStrategy[Any]:
    """Whole documents of any schema of the spec; the same as ``from_schema``."""
    return from_schema(name, spec=spec, full_bounds=full_bounds, extra_keys=extra_keys)


# ----------------------------------------------------------------------------------------- domain strategies
# Refinements: JSON Schema fragments merged (as allOf) into a schema of the spec, so that every domain
# strategy stays a strategy of that schema and the translator checks the combination.
_IDENTIFIER = "^[a-z][a-z0-9]{0,9}(-[a-z0-9]{1,9}){0,2}$"
# Names that read like UCloud's ("acme-batch" 1.0.0 on "example-compute-1") rather than arbitrary text.
_SENSIBLE_JOB = {
    "application": {"properties": {"name": {"pattern": _IDENTIFIER},
                                   "version": {"pattern": r"^[0-9]{1,2}(\.[0-9]{1,2}){1,2}$"}}},
    "product": {"properties": {"id": {"pattern": _IDENTIFIER}, "category": {"pattern": _IDENTIFIER},
                               "provider": {"pattern": "^[a-z][a-z0-9_]{0,11}$"}}},
}


def _hours_at_most(max_hours: int | None) -> dict[str, Any]:
    return {} if max_hours is None else {"properties": {"hours": {"maximum": max_hours}}}


def _refine(spec: Spec | None, name: str, refinement: Mapping[str, Any], label: str) -> SearchStrategy[Any]:
    # The refinement travels as JSON text, which the cache can hash.
    return _refined(spec or default_spec(), name, json.dumps(refinement, sort_keys=True), label)


@functools.cache
def _refined(spec: Spec, name: str, refinement: str, label: str) -> SearchStrategy[Any]:
    node = {"allOf": [{"$ref": _PREFIX + canonical_schema_name(name)}, json.loads(refinement)]}
    return _translator(spec, False, False).strategy(node, label)


def durations(max_hours: int | None = None, *, spec: Spec | None = None) -> SearchStrategy[dict[str, int]]:
    """SimpleDuration documents, with hours at most ``max_hours`` when given."""
    return _refine(spec, "SimpleDuration", _hours_at_most(max_hours), f"durations(max_hours={max_hours})")


def job_specifications(*, max_hours: int | None = None,
                       spec: Spec | None = None) -> SearchStrategy[dict[str, Any]]:
    """Valid create items: UCloud-like application and product; ``timeAllocation`` null or a duration."""
    refinement = {"required": ["timeAllocation"],
                  "properties": {**_SENSIBLE_JOB, "timeAllocation": _hours_at_most(max_hours)}}
    return _refine(spec, "JobSpecification", refinement, f"job_specifications(max_hours={max_hours})")


def bulk_requests(items: SearchStrategy[Any], *, min_size: int = 1,
                  max_size: int = 4) -> SearchStrategy[dict[str, list[Any]]]:
    """A BulkRequest body, ``{"items": [...]}``, of ``min_size`` to ``max_size`` drawn ``items``."""
    return st.lists(items, min_size=min_size, max_size=max_size).map(lambda drawn: {"items": drawn})


def include_flags(*, spec: Spec | None = None) -> SearchStrategy[dict[str, Any]]:
    """JobIncludeFlags objects, as the bodies of search carry them."""
    return from_schema("JobIncludeFlags", spec=spec)


def _as_query(flags: Mapping[str, Any]) -> dict[str, str]:
    return {key: ("true" if value else "false") if isinstance(value, bool) else str(value)
            for key, value in flags.items() if value is not None}


def query_flags(*, spec: Spec | None = None) -> SearchStrategy[dict[str, str]]:
    """The include flags as GET query parameters: top level, nulls left out, booleans ``true``/``false``."""
    return include_flags(spec=spec).map(_as_query)
