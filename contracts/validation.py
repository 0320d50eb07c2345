"""Validating documents, requests and responses against the contract, with validators compiled once.

Two engines give the same verdict: ``jsonschema`` is the reference and explains every failure;
``jsonschema_rs`` (compiled) answers "valid?" hundreds of times faster, so valid documents, the common case,
never pay for the reference. A test holds both to the same verdict on the whole corpus. The reference is
imported and compiled only when first needed, which keeps the mock server's start short.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterator
from typing import Any, Literal

from contracts.errors import ContractViolation, Violation
from contracts.explain import explain
from contracts.spec import Spec, canonical_schema_name, default_spec

_rust: Any
try:  # the compiled engine is optional: without it, the reference engine answers alone
    import jsonschema_rs as _rust
except ImportError:  # pragma: no cover - exercised only where the wheel is unavailable
    _rust = None

__all__ = [
    "Backend",
    "Contract",
    "SchemaValidator",
    "default_contract",
    "is_valid",
    "iter_violations",
    "validate",
    "validate_request",
    "validate_response",
]

Backend = Literal["auto", "jsonschema", "rust"]

_SPEC_URI = "urn:ucloud-jobs-contract:openapi"
_DIALECT = "https://json-schema.org/draft/2020-12/schema"


class SchemaValidator:
    """The compiled validators of one named schema."""

    def __init__(self, spec: Spec, name: str, registry: Callable[[], Any]) -> None:
        self.name = name
        self._registry = registry
        self._reference: Any = None
        self.fast: Any = None
        if _rust is not None:
            bundle = {"$schema": _DIALECT, "$ref": f"#/components/schemas/{name}",
                      "components": {"schemas": dict(spec.schemas)}}
            self.fast = _rust.validator_for(bundle)

    @property
    def reference(self) -> Any:
        """The reference validator (jsonschema, Draft 2020-12), compiled on first use."""
        if self._reference is None:
            from jsonschema import Draft202012Validator  # noqa: PLC0415 - only when a verdict needs explaining

            self._reference = Draft202012Validator({"$ref": f"{_SPEC_URI}#/components/schemas/{self.name}"},
                                                   registry=self._registry())
        return self._reference

    def is_valid(self, instance: Any, backend: Backend = "auto") -> bool:
        """The verdict alone, from the fastest engine allowed."""
        if backend != "jsonschema" and self.fast is not None:
            try:
                return bool(self.fast.is_valid(instance))
            except (ValueError, TypeError, OverflowError):
                # Values JSON cannot hold (non-string keys, NaN, ...) go to the reference engine.
                if backend == "rust":
                    raise
        return bool(self.reference.is_valid(instance))

    def iter_violations(self, instance: Any) -> Iterator[Violation]:
        """Every violation, explained by the reference engine."""
        return explain(self.reference.iter_errors(instance))


class Contract:
    """The contract of one spec: schema validators compiled on first use and cached."""

    def __init__(self, spec: Spec | None = None) -> None:
        self.spec = spec if spec is not None else default_spec()
        self._registry: Any = None
        self._validators: dict[str, SchemaValidator] = {}
        self._lock = threading.Lock()

    def registry(self) -> Any:
        """The ``referencing`` registry holding the spec, built on first use."""
        if self._registry is None:
            from referencing import Registry, Resource  # noqa: PLC0415 - only with the reference engine
            from referencing.jsonschema import DRAFT202012  # noqa: PLC0415

            resource = Resource.from_contents(self.spec.document, default_specification=DRAFT202012)
            self._registry = Registry().with_resource(_SPEC_URI, resource)
        return self._registry

    def validator(self, name: str) -> SchemaValidator:
        """The validator of a schema (UCloud's generic spelling, e.g. ``PageV2<Job>``, is accepted)."""
        found = self._validators.get(name)
        if found is not None:
            return found
        canonical = canonical_schema_name(name)
        self.spec.schema(name)  # raises ContractError naming the closest known name, as the caller spelt it
        with self._lock:
            found = self._validators.get(canonical)
            if found is None:
                found = SchemaValidator(self.spec, canonical, self.registry)
                self._validators[canonical] = found
            self._validators[name] = found
        return found

    def is_valid(self, instance: Any, schema: str, backend: Backend = "auto") -> bool:
        """Whether ``instance`` is a valid ``schema``."""
        return self.validator(schema).is_valid(instance, backend)

    def iter_violations(self, instance: Any, schema: str) -> Iterator[Violation]:
        """Every way in which ``instance`` breaks ``schema``; nothing when it is valid."""
        return self.validator(schema).iter_violations(instance)

    def validate(self, instance: Any, schema: str, subject: str | None = None) -> None:
        """Raise ``ContractViolation`` listing every offending field unless ``instance`` is a valid ``schema``."""
        __tracebackhide__ = True  # pytest shows the caller's line, not the library's frames
        validator = self.validator(schema)
        if validator.is_valid(instance):
            return
        violations = list(validator.iter_violations(instance))
        raise ContractViolation(subject or validator.name, violations)

    def validate_request(self, operation_id: str, body: Any) -> None:
        """Check the JSON body of a request to ``operation_id``."""
        __tracebackhide__ = True
        operation = self.spec.operation(operation_id)
        if operation.request_schema is None:
            return
        self.validate(body, operation.request_schema,
                      subject=f"{operation.method} {operation.path} ({operation_id}) request body")

    def validate_response(self, operation_id: str, status: int, body: Any) -> None:
        """Check the JSON body of a response of ``operation_id`` with ``status`` against the documented schema."""
        __tracebackhide__ = True
        operation = self.spec.operation(operation_id)
        schema = operation.response_schema(status)
        self.validate(body, schema,
                      subject=f"{operation.method} {operation.path} ({operation_id}) answered {status}: the body")


@functools.cache
def default_contract() -> Contract:
    """The contract of the bundled spec, built once."""
    return Contract()


def is_valid(instance: Any, schema: str) -> bool:
    """Whether ``instance`` is a valid ``schema`` of the bundled contract."""
    return default_contract().is_valid(instance, schema)


def iter_violations(instance: Any, schema: str) -> Iterator[Violation]:
    """Every way in which ``instance`` breaks ``schema`` of the bundled contract."""
    return default_contract().iter_violations(instance, schema)


def validate(instance: Any, schema: str) -> None:
    """Raise ``ContractViolation`` unless ``instance`` is a valid ``schema`` of the bundled contract."""
    __tracebackhide__ = True
    default_contract().validate(instance, schema)


def validate_request(operation_id: str, body: Any) -> None:
    """Raise ``ContractViolation`` unless ``body`` is a valid request body of ``operation_id``."""
    __tracebackhide__ = True
    default_contract().validate_request(operation_id, body)


def validate_response(operation_id: str, status: int, body: Any) -> None:
    """Raise ``ContractViolation`` unless ``body`` is a valid ``status`` response of ``operation_id``."""
    __tracebackhide__ = True
    default_contract().validate_response(operation_id, status, body)
