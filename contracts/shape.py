"""Keeping only what the contract names: UCloud's deserialiser drops unknown keys, and so does the mock."""

from __future__ import annotations

from typing import Any

from contracts.spec import Spec

__all__ = ["prune"]


def prune(spec: Spec, instance: Any, schema_name: str) -> Any:
    """A copy of a valid ``instance`` of ``schema_name`` without the keys its schema does not declare."""
    return _prune(spec, spec.schema(schema_name), instance)


def _prune(spec: Spec, schema: Any, value: Any) -> Any:
    if not isinstance(schema, dict) or value is None:
        return value
    schema = spec.resolve(schema) if "$ref" in schema else schema
    if "$ref" in schema:  # a $ref with siblings (a description): the referenced schema shapes the value
        schema = spec.resolve({"$ref": schema["$ref"]})
    if "oneOf" in schema:
        return _prune(spec, _branch(spec, schema, value), value)
    if "anyOf" in schema:
        branches = [b for b in schema["anyOf"] if not (isinstance(b, dict) and b.get("type") == "null")]
        return _prune(spec, branches[0], value) if len(branches) == 1 else value
    if isinstance(value, dict):
        properties = schema.get("properties")
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict):
            return {key: _prune(spec, extra, item) for key, item in value.items()}
        if properties is None:
            return value
        return {key: _prune(spec, properties[key], item) for key, item in value.items() if key in properties}
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        return [_prune(spec, schema["items"], item) for item in value]
    return value


def _branch(spec: Spec, schema: dict[str, Any], value: Any) -> Any:
    discriminator = schema.get("discriminator", {})
    mapping = discriminator.get("mapping", {})
    tag = value.get(discriminator.get("propertyName", "")) if isinstance(value, dict) else None
    if isinstance(tag, str) and tag in mapping:
        return {"$ref": mapping[tag]}
    return {}
