"""One headless Chromium for the whole session, and a mock on a socket that each test gets back on a fresh stage.

The browser tests share the ``xdist_group`` "browser" (``pytestmark`` in each module; pyproject runs xdist with
``--dist loadgroup``), so under xdist they all run on one worker and one browser starts.

Chromium and chromedriver come from Debian (``apt-get install chromium chromium-driver``; ``.ci/run`` installs
them). Without them the browser tests are skipped on a developer's machine, and fail in CI (``CI`` set), where a
missing browser must not pass for a green run. Nothing here sleeps: tests wait for conditions with the driver's
explicit waits.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.support.ui import WebDriverWait

from mockserver import MockServer
from tests.browser.support import POLL, SCRIPT, WAIT_S


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """The session's headless Chromium (a Selenium WebDriver)."""
    paths = SCRIPT.browser_paths()
    if paths is None:
        message = "Chromium and chromedriver are needed: apt-get install -y chromium chromium-driver"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    driver = SCRIPT.chrome(paths)
    yield driver
    driver.quit()


@pytest.fixture(scope="session")
def live_mock() -> Iterator[MockServer]:
    """A mock on 127.0.0.1, shared by the browser tests."""
    with MockServer(scenario="blank") as mock:
        yield mock


@pytest.fixture
def mock(live_mock: MockServer) -> Iterator[MockServer]:
    """The shared mock on a fresh blank stage; a failure inside it fails the test."""
    live_mock.load_scenario("blank")
    yield live_mock
    live_mock.check()


@pytest.fixture
def until(browser: Any) -> Callable[..., Any]:
    """Wait until ``condition(driver)`` is truthy and return its value (``TimeoutException`` after 10 s)."""

    def wait(condition: Callable[[Any], Any], message: str = "") -> Any:
        # An element found just before the page redraws its section is stale: look again.
        return WebDriverWait(browser, WAIT_S, poll_frequency=0.02,
                             ignored_exceptions=[StaleElementReferenceException]).until(condition, message)

    return wait


@pytest.fixture
def page(browser: Any, mock: MockServer, until: Callable[..., Any]) -> Any:
    """The page, open on the fresh mock and drawn once."""
    browser.get(f"{mock.url}/_mock/ui{POLL}")
    until(lambda driver: driver.execute_script("return document.body.dataset.refreshes"), "the page never drew")
    return browser
