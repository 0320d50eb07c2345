"""The pytest plugin: fixtures that give a consumer's tests the mock and the contract, with no configuration.

Registered through the ``pytest11`` entry point ``ucloud_jobs``. Importing it costs nothing: the mock server
and the validators are loaded only when a test asks for a fixture. This is the one module of ``contracts`` that
imports ``mockserver``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from contracts.validation import Contract
    from mockserver.app import MockApp

__all__ = ["ContractHelper"]


def pytest_addoption(parser: pytest.Parser) -> None:
    """The ``ucloud`` option group."""
    group = parser.getgroup("ucloud", "UCloud Jobs contract and mock server")
    group.addoption("--ucloud-profile", default=None, choices=("docs", "ucloud"),
                    help="behaviour profile of the mock (default: the scenario's, docs for the seed)")
    group.addoption("--ucloud-scenario", default=None, help="scenario the mock starts with (default: the seed)")
    group.addoption("--ucloud-url", default=None, help="verify a live provider at this base URL")
    group.addoption("--ucloud-token", default=None, help="bearer token for --ucloud-url")


def pytest_configure(config: pytest.Config) -> None:
    """Register the marker."""
    config.addinivalue_line(
        "markers",
        "ucloud_scenario(name, profile=None): start the mock with this scenario (and profile) for this test",
    )


class ContractHelper:
    """Validation helpers for tests: each raises ``ContractViolation`` (an AssertionError) on a broken payload."""

    def __init__(self, contract: Contract) -> None:
        self.contract = contract

    def validate(self, instance: Any, schema: str) -> None:
        """Assert that ``instance`` is a valid ``schema``."""
        self.contract.validate(instance, schema)

    def assert_request(self, operation_id: str, body: Any) -> None:
        """Assert that ``body`` is a valid request body of ``operation_id``."""
        self.contract.validate_request(operation_id, body)

    def assert_response(self, operation_id: str, status: int, body: Any) -> None:
        """Assert that ``body`` is a valid ``status`` response of ``operation_id``."""
        self.contract.validate_response(operation_id, status, body)


@pytest.fixture
def ucloud_contract() -> ContractHelper:
    """Validate payloads against the Jobs contract."""
    from contracts.validation import default_contract  # noqa: PLC0415 - loaded only when asked for

    return ContractHelper(default_contract())


def _scenario_settings(request: pytest.FixtureRequest) -> tuple[str | None, str | None]:
    marker = request.node.get_closest_marker("ucloud_scenario")
    scenario = request.config.getoption("--ucloud-scenario")
    profile = request.config.getoption("--ucloud-profile")
    if marker is not None:
        scenario = marker.args[0] if marker.args else marker.kwargs.get("name", scenario)
        profile = marker.kwargs.get("profile", profile)
    return scenario, profile


@pytest.fixture
def ucloud_app(request: pytest.FixtureRequest) -> Iterator[MockApp]:
    """A fresh in-process mock (a WSGI app) for this test; a server error inside it fails the test."""
    from mockserver.app import create_app  # noqa: PLC0415 - loaded only when asked for

    scenario, profile = _scenario_settings(request)
    app = create_app(scenario=scenario, profile=profile)
    yield app
    errors = app.take_errors()
    if errors:
        pytest.fail("\n\n".join(str(error) for error in errors), pytrace=False)
