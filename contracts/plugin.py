"""The pytest plugin: fixtures that give a consumer's tests the mock and the contract, with no configuration.

Registered through the ``pytest11`` entry point ``ucloud_jobs``. Importing it costs nothing: the mock server
and the validators load only when a test asks for a fixture. This is the one module of ``contracts`` that
imports ``mockserver``.

Fixtures: ``ucloud_mock`` (a live server on 127.0.0.1, one per session and per xdist worker, reset before each
test), ``ucloud_app`` (the WSGI app, in-process), ``ucloud_contract`` (validation helpers). The marker
``@pytest.mark.ucloud_scenario(name, profile=...)`` chooses the scenario of a test. With ``--ucloud-url``,
``--ucloud-verify`` runs the contract's scenarios and state machine against a live provider.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from contracts.scenario import Scenario
    from contracts.validation import Contract
    from mockserver.app import MockApp
    from mockserver.server import MockServer

__all__ = ["ContractHelper", "MockClock", "MockFaults", "UCloudMock", "VerifyFailed", "VerifyItem"]

DEFAULT_SCENARIO = "blank"
_SERVER_KEY = pytest.StashKey["tuple[MockApp, MockServer] | None"]()
_APPS_KEY = pytest.StashKey["list[MockApp]"]()
_SCENARIOS_KEY = pytest.StashKey["dict[str, Scenario]"]()


def pytest_addoption(parser: pytest.Parser) -> None:
    """The ``ucloud`` option group."""
    group = parser.getgroup("ucloud", "UCloud Jobs contract and mock server")
    group.addoption("--ucloud-profile", default=None, choices=("docs", "ucloud"),
                    help="behaviour profile of the mock (default: the scenario's)")
    group.addoption("--ucloud-scenario", default=None,
                    help=f"scenario the mock starts each test with (default: {DEFAULT_SCENARIO}, no script)")
    group.addoption("--ucloud-url", default=None,
                    help="base URL of a live provider; with --ucloud-verify, verify it against the contract")
    group.addoption("--ucloud-token", default=None, help="bearer token for --ucloud-url")
    group.addoption("--ucloud-verify", action="store_true",
                    help="add a test that verifies --ucloud-url (scenarios, then the state machine)")
    group.addoption("--ucloud-examples", type=int, default=25,
                    help="state-machine examples for --ucloud-verify (default: 25)")


def pytest_configure(config: pytest.Config) -> None:
    """Register the marker."""
    config.addinivalue_line(
        "markers",
        "ucloud_scenario(name, profile=None): start the mock with this scenario (and profile) for this test",
    )
    config.stash[_SERVER_KEY] = None
    config.stash[_SCENARIOS_KEY] = {}
    if config.getoption("--ucloud-verify"):
        if not config.getoption("--ucloud-url"):
            raise pytest.UsageError("--ucloud-verify needs --ucloud-url (and --ucloud-token)")
        if not config.getoption("--ucloud-token"):
            raise pytest.UsageError("--ucloud-verify needs --ucloud-token as well as --ucloud-url")


def pytest_unconfigure(config: pytest.Config) -> None:
    """Stop the session's server, if one was started."""
    started = config.stash.get(_SERVER_KEY, None)
    if started is not None:
        started[1].stop()
        config.stash[_SERVER_KEY] = None


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


class MockClock:
    """The mock's virtual clock, in epoch milliseconds."""

    def __init__(self, app: MockApp) -> None:
        self._app = app

    @property
    def now_ms(self) -> int:
        """The current time (events that fell due are applied first)."""
        return self._app.engine.now()

    def advance(self, ms: int = 0, *, seconds: float = 0, minutes: float = 0, hours: float = 0) -> int:
        """Move forward by the sum of the arguments and return the new time."""
        total = ms + round((seconds + 60 * minutes + 3600 * hours) * 1000)
        return self._app.engine.advance(total)

    def set(self, ms: int) -> int:
        """Move to ``ms`` (not into the past) and return it."""
        return self._app.engine.set_time(ms)


class MockFaults:
    """Faults injected into the mock: latency or a forced error status, per operation."""

    def __init__(self, app: MockApp) -> None:
        self._app = app

    def set(self, *faults: Mapping[str, Any]) -> None:
        """Replace the active faults, e.g. ``set({"operation": "jobs.retrieve", "status": 503, "times": 1})``."""
        from mockserver.faults import parse_faults  # noqa: PLC0415 - loaded only when asked for

        self._app.faults.replace(parse_faults(list(faults), self._app.contract.spec.operations))

    def clear(self) -> None:
        """Remove every fault."""
        self._app.faults.clear()

    @property
    def active(self) -> list[dict[str, Any]]:
        """The active faults as data."""
        return self._app.faults.snapshot()


class UCloudMock:
    """A running mock: its URL, a token, the clock, the journal, scenarios and faults."""

    def __init__(self, app: MockApp, server: MockServer, scenarios: dict[str, Scenario] | None = None) -> None:
        self.app = app
        self.server = server
        self._scenarios: dict[str, Scenario] = scenarios if scenarios is not None else {}
        self.url = server.url
        self.clock = MockClock(app)
        self.faults = MockFaults(app)

    @property
    def token(self) -> str:
        """A bearer token for the default user, ``user``."""
        return self.token_for("user")

    def token_for(self, username: str) -> str:
        """A bearer token that the mock takes as ``username`` (an unsigned JWT)."""
        from contracts.transport import mock_token  # noqa: PLC0415 - loaded only when asked for

        return mock_token(username)

    @property
    def headers(self) -> dict[str, str]:
        """Headers for a request as the default user."""
        return {"Authorization": f"Bearer {self.token}"}

    @property
    def journal(self) -> list[dict[str, Any]]:
        """The requests the mock answered in this test, oldest first."""
        entries: list[dict[str, Any]] = self.app.journal.snapshot()["entries"]
        return entries

    def load_scenario(self, name: str, profile: str | None = None) -> None:
        """Restart the mock with a bundled scenario (and profile).

        Each scenario file is read once per session: parsing its YAML before every test would cost more than
        the rest of the reset together.
        """
        from contracts.scenario import resolve_scenario  # noqa: PLC0415 - loaded only when asked for
        from mockserver.profiles import profile_named  # noqa: PLC0415

        scenario = self._scenarios.get(name)
        if scenario is None:
            scenario = self._scenarios[name] = resolve_scenario(name, self.app.scenario_dirs)
        self.app.load_scenario(scenario, profile_named(profile) if profile else None)

    def reset(self) -> None:
        """Forget every job and restart the current scenario."""
        self.app.load_scenario(self.app.engine.scenario, self.app.engine.profile)


def _settings(request: pytest.FixtureRequest) -> tuple[str, str | None]:
    marker = request.node.get_closest_marker("ucloud_scenario")
    scenario = request.config.getoption("--ucloud-scenario") or DEFAULT_SCENARIO
    profile = request.config.getoption("--ucloud-profile")
    if marker is not None:
        scenario = marker.args[0] if marker.args else marker.kwargs.get("name", scenario)
        profile = marker.kwargs.get("profile", profile)
    return scenario, profile


def _server_errors_text(errors: list[Any]) -> str:
    return "the UCloud mock failed while serving this test:\n\n" + "\n\n".join(map(str, errors))


def _watch(request: pytest.FixtureRequest, app: MockApp) -> None:
    """Let ``pytest_runtest_makereport`` fail this test on the app's server errors."""
    request.node.stash.setdefault(_APPS_KEY, []).append(app)


def _fail_on_server_errors(app: MockApp) -> None:
    """Errors after the test's call (in fixtures' teardown) fail its teardown."""
    errors = app.take_errors()
    if errors:
        pytest.fail(_server_errors_text(errors), pytrace=False)


class VerifyItem(pytest.Item):
    """``--ucloud-verify``: the bundled scenarios and the state machine against ``--ucloud-url``, as one test."""

    def runtest(self) -> None:
        """Verify the provider exactly as ``ucloud-jobs verify`` does; fail with its report and curl lines."""
        import io  # noqa: PLC0415 - only when asked for

        from contracts.verify_cli import verify_provider  # noqa: PLC0415

        config = self.config
        printed = io.StringIO()
        code = verify_provider(config.getoption("--ucloud-url"), config.getoption("--ucloud-token"),
                               examples=config.getoption("--ucloud-examples"),
                               profile=config.getoption("--ucloud-profile") or "auto", out=printed)
        if code != 0:
            raise VerifyFailed(printed.getvalue().strip())

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        """The findings, without a traceback."""
        if isinstance(excinfo.value, VerifyFailed):
            return str(excinfo.value)
        return str(super().repr_failure(excinfo))

    def reportinfo(self) -> tuple[str, int | None, str]:
        """Where the item comes from, for pytest's report."""
        return "ucloud-verify", None, f"verify {self.config.getoption('--ucloud-url')}"


class VerifyFailed(AssertionError):
    """The provider broke the contract."""


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    """With ``--ucloud-verify``, add the verification of ``--ucloud-url`` as a test."""
    if config.getoption("--ucloud-verify"):
        items.append(VerifyItem.from_parent(session, name="ucloud_verify"))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """A server error during a test fails that test, with the server's traceback in its report.

    A test that passed becomes a failure; one that failed already (often because of the 500) keeps its own
    failure and gets the server's traceback as a section of its report.
    """
    outcome: Any = yield
    if call.when != "call":
        return
    errors = [error for app in item.stash.get(_APPS_KEY, []) for error in app.take_errors()]
    if not errors:
        return
    text = _server_errors_text(errors)
    report: pytest.TestReport = outcome.get_result()
    if report.passed:
        report.outcome = "failed"
        report.longrepr = text
    else:
        report.sections.append(("UCloud mock server errors", text))


@pytest.fixture
def ucloud_contract() -> ContractHelper:
    """Validate payloads against the Jobs contract."""
    from contracts.validation import default_contract  # noqa: PLC0415 - loaded only when asked for

    return ContractHelper(default_contract())


@pytest.fixture
def ucloud_mock_listen_address() -> tuple[str, int]:
    """Where the session's mock listens: loopback and a free port (override this fixture to change it)."""
    return ("127.0.0.1", 0)


@pytest.fixture
def ucloud_mock(request: pytest.FixtureRequest, ucloud_mock_listen_address: tuple[str, int]) -> Iterator[UCloudMock]:
    """The mock on a socket: started once per session (per xdist worker), reset before each test."""
    from mockserver.app import create_app  # noqa: PLC0415 - loaded only when asked for
    from mockserver.server import MockServer  # noqa: PLC0415

    config = request.config
    started = config.stash.get(_SERVER_KEY, None)
    if started is None:
        app = create_app(scenario=DEFAULT_SCENARIO)
        host, port = ucloud_mock_listen_address
        server = MockServer(app, host, port).start()
        started = (app, server)
        config.stash[_SERVER_KEY] = started
    app, server = started
    mock = UCloudMock(app, server, config.stash[_SCENARIOS_KEY])
    scenario, profile = _settings(request)
    mock.load_scenario(scenario, profile)
    app.take_errors()
    _watch(request, app)
    yield mock
    _fail_on_server_errors(app)


@pytest.fixture
def ucloud_app(request: pytest.FixtureRequest) -> Iterator[MockApp]:
    """A fresh in-process mock (a WSGI app) for this test; a server error inside it fails the test."""
    from mockserver.app import create_app  # noqa: PLC0415 - loaded only when asked for

    scenario, profile = _settings(request)
    app = create_app(scenario=scenario, profile=profile)
    _watch(request, app)
    yield app
    _fail_on_server_errors(app)
