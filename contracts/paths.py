"""Where the contract's files are: inside the installed package, or ``openapi/`` of a source checkout."""

from __future__ import annotations

from pathlib import Path

from contracts.errors import ContractError

__all__ = ["SCENARIO_SCHEMA", "contract_file", "spec_path"]

SCENARIO_SCHEMA = "scenario.schema.json"


def contract_file(name: str) -> Path:
    """A file of the bundled contract (``jobs.yaml``, ``scenario.schema.json``, ...)."""
    here = Path(__file__).resolve().parent
    for folder in (here / "_openapi", here.parent / "openapi"):
        candidate = folder / name
        if candidate.is_file():
            return candidate
    raise ContractError(f"the bundled contract file {name} is missing (looked in {here / '_openapi'} and "
                        f"{here.parent / 'openapi'}); reinstall ucloud-jobs-contract")


def spec_path() -> Path:
    """The bundled ``jobs.yaml``."""
    return contract_file("jobs.yaml")
