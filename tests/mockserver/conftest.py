"""Fixtures of the mock's in-process tests: fresh apps, and clients whose every answer is checked against the spec.

Apps are built by ``make_app``; unless a test says otherwise they run the seed's scenario without its scripted
steps (``support.UNSCRIPTED``), so the virtual clock moves only when the test moves it. When a test ends, any
exception raised inside an app it built (a 500, or an answer the app itself found to break the contract) fails it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from mockserver.web.app import MockApp, create_app
from tests.mockserver.support import UNSCRIPTED, ApiClient, AppFactory


@pytest.fixture
def make_app() -> Iterator[AppFactory]:
    """Build apps with ``create_app(**options)`` (unscripted seed and self-checking by default)."""
    built: list[MockApp] = []

    def make(**options: Any) -> MockApp:
        options.setdefault("scenario", UNSCRIPTED)
        options.setdefault("validate_responses", True)
        app = create_app(**options)
        built.append(app)
        return app

    yield make
    errors = [str(error) for app in built for error in app.take_errors()]
    assert not errors, "\n\n".join(errors)


@pytest.fixture
def app(make_app: AppFactory) -> MockApp:
    """A fresh mock: the seed's scenario and profile (docs), its clock moved only by the test."""
    return make_app()


@pytest.fixture
def client(app: MockApp) -> ApiClient:
    """A client of ``app`` sending ``Authorization: Bearer token``."""
    return ApiClient(app)


@pytest.fixture(params=["docs", "ucloud"])
def profile(request: pytest.FixtureRequest) -> str:
    """Each behaviour profile in turn."""
    name: str = request.param
    return name


@pytest.fixture
def any_client(make_app: AppFactory, profile: str) -> ApiClient:
    """A client of a fresh mock in each profile in turn (for behaviour both profiles share)."""
    return ApiClient(make_app(profile=profile))
