"""Loading the OpenAPI document: the one source of truth for schemas, operations, parameters and statuses."""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from contracts.errors import ContractError
from contracts.paths import spec_path
from contracts.suggest import closest

__all__ = ["Operation", "Parameter", "Spec", "default_spec", "spec_path"]

JsonObject = dict[str, Any]

_SCHEMA_PREFIX = "#/components/schemas/"


def _load_yaml(path: Path) -> JsonObject:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ContractError(f"cannot read the OpenAPI document {path}: {error.strerror}") from error
    try:
        document = yaml.load(text, Loader=loader)
    except yaml.YAMLError as error:
        raise ContractError(f"the OpenAPI document {path} is not valid YAML: {error}") from error
    if not isinstance(document, dict) or "paths" not in document or "components" not in document:
        raise ContractError(f"{path} is not an OpenAPI document (it has no 'paths' and 'components')")
    return document


def canonical_schema_name(name: str) -> str:
    """Accept UCloud's generic spelling too: ``BulkRequest<JobSpecification>`` is ``BulkRequest_JobSpecification``."""
    return re.sub(r"\s*[<,]\s*", "_", name).replace(">", "").strip()


@dataclass(frozen=True)
class Parameter:
    """A query parameter of a GET operation, with its schema resolved."""

    name: str
    required: bool
    schema: JsonObject


@dataclass(frozen=True)
class Operation:
    """One operation of the spec: where it lives, what it takes and what it answers."""

    operation_id: str
    method: str
    path: str
    request_schema: str | None
    parameters: tuple[Parameter, ...]
    response_schemas: Mapping[str, str]

    def response_schema(self, status: int) -> str:
        """The schema name of the response body for ``status`` (falling back to ``default``)."""
        key = str(status)
        if key in self.response_schemas:
            return self.response_schemas[key]
        if "default" in self.response_schemas:
            return self.response_schemas["default"]
        raise ContractError(f"{self.operation_id} documents no response {status} "
                            f"(it documents {', '.join(sorted(self.response_schemas))})")

    @property
    def documented_statuses(self) -> tuple[str, ...]:
        """The status codes (and ``default``) that the spec documents for this operation."""
        return tuple(self.response_schemas)


class Spec:
    """A loaded OpenAPI document with its schemas and operations indexed by name."""

    def __init__(self, document: JsonObject, source: str = "<memory>") -> None:
        self.document = document
        self.source = source
        schemas = document.get("components", {}).get("schemas", {})
        self.schemas: Mapping[str, JsonObject] = schemas
        self.operations: Mapping[str, Operation] = self._index_operations()

    @classmethod
    def load(cls, path: str | Path) -> Spec:
        """Read an OpenAPI document from a YAML or JSON file."""
        path = Path(path)
        return cls(_load_yaml(path), source=str(path))

    # ------------------------------------------------------------------ lookups
    def schema_names(self) -> list[str]:
        """Every schema name, sorted."""
        return sorted(self.schemas)

    def schema(self, name: str) -> JsonObject:
        """The schema called ``name``; ``ContractError`` with the closest known name (or all of them) otherwise."""
        canonical = canonical_schema_name(name)
        try:
            return self.schemas[canonical]
        except KeyError:
            raise ContractError(_unknown("schema", name, canonical, self.schema_names())) from None

    def operation(self, operation_id: str) -> Operation:
        """The operation with this operationId; ``ContractError`` with the closest known one otherwise."""
        try:
            return self.operations[operation_id]
        except KeyError:
            raise ContractError(_unknown("operation", operation_id, operation_id, sorted(self.operations))) \
                from None

    def resolve(self, node: JsonObject) -> JsonObject:
        """Follow a local ``$ref`` (to any depth) and return what it points at."""
        seen = 0
        while isinstance(node, dict) and "$ref" in node and len(node) == 1:
            node = self._pointer(node["$ref"])
            seen += 1
            if seen > 32:
                raise ContractError("a $ref cycle in the OpenAPI document")
        return node

    def _pointer(self, ref: str) -> JsonObject:
        if not ref.startswith("#/"):
            raise ContractError(f"only local references are supported, not {ref!r}")
        node: Any = self.document
        for raw in ref[2:].split("/"):
            part = raw.replace("~1", "/").replace("~0", "~")
            try:
                node = node[part]
            except (KeyError, TypeError):
                raise ContractError(f"the reference {ref!r} points at nothing") from None
        if not isinstance(node, dict):
            raise ContractError(f"the reference {ref!r} does not point at an object")
        return node

    # ------------------------------------------------------------------ indexing
    def _index_operations(self) -> dict[str, Operation]:
        operations: dict[str, Operation] = {}
        for path, item in self.document.get("paths", {}).items():
            for method, raw in item.items():
                if method.startswith("x-") or not isinstance(raw, dict) or "operationId" not in raw:
                    continue
                operation = Operation(
                    operation_id=raw["operationId"],
                    method=method.upper(),
                    path=path,
                    request_schema=self._body_schema_name(raw.get("requestBody")),
                    parameters=tuple(self._parameter(p) for p in raw.get("parameters", ())),
                    response_schemas={
                        str(status): name
                        for status, response in raw.get("responses", {}).items()
                        if (name := self._body_schema_name(response)) is not None
                    },
                )
                operations[operation.operation_id] = operation
        return operations

    def _body_schema_name(self, node: JsonObject | None) -> str | None:
        if node is None:
            return None
        node = self.resolve(node)
        schema = node.get("content", {}).get("application/json", {}).get("schema")
        if schema is None:
            return None
        ref = schema.get("$ref", "")
        if not ref.startswith(_SCHEMA_PREFIX):
            raise ContractError("every request and response body must reference a named schema")
        return str(ref[len(_SCHEMA_PREFIX):])

    def _parameter(self, node: JsonObject) -> Parameter:
        node = self.resolve(node)
        return Parameter(name=node["name"], required=bool(node.get("required", False)),
                         schema=self.resolve(node.get("schema", {})))


def _unknown(kind: str, name: str, canonical: str, known: list[str]) -> str:
    """``unknown schema 'Jobb'; did you mean Job?``, or the known names when none is close."""
    match = closest(canonical, known)
    hint = f"did you mean {match}?" if match is not None else f"known {kind}s: {', '.join(known)}"
    return f"unknown {kind} {name!r}; {hint}"


@functools.cache
def default_spec() -> Spec:
    """The bundled Jobs contract, loaded once."""
    return Spec.load(spec_path())
