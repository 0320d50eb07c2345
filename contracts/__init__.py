"""The UCloud Jobs contract: the OpenAPI spec and JSON Schemas, validation, strategies and invariants.

Importing this package is cheap: each name is loaded on first use, so the pytest plugin costs nothing until a
test asks for it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from contracts._lazy import lazy_attributes

if TYPE_CHECKING:
    from contracts.errors import ContractError, ContractViolation, Violation
    from contracts.spec import Operation, Spec, default_spec
    from contracts.validation import (
        Contract,
        default_contract,
        is_valid,
        iter_violations,
        validate,
        validate_request,
        validate_response,
    )

__all__ = [
    "Contract",
    "ContractError",
    "ContractViolation",
    "Operation",
    "Spec",
    "Violation",
    "default_contract",
    "default_spec",
    "is_valid",
    "iter_violations",
    "validate",
    "validate_request",
    "validate_response",
]

_HOMES = {
    "ContractError": "contracts.errors",
    "ContractViolation": "contracts.errors",
    "Violation": "contracts.errors",
    "Operation": "contracts.spec",
    "Spec": "contracts.spec",
    "default_spec": "contracts.spec",
    "Contract": "contracts.validation",
    "default_contract": "contracts.validation",
    "is_valid": "contracts.validation",
    "iter_violations": "contracts.validation",
    "validate": "contracts.validation",
    "validate_request": "contracts.validation",
    "validate_response": "contracts.validation",
}


__getattr__, __dir__ = lazy_attributes("contracts", _HOMES, globals())
