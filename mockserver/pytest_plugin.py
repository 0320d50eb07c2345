"""The pytest plugin: the mock and the contract for a consumer's tests, with no configuration.

Registered through the ``pytest11`` entry point ``ucloud_jobs``. It is a thin layer over ``mockserver.MockServer``
shaped like pytest-httpserver's: a session-scoped server (one per xdist worker) on the address of the
overridable ``ucloud_mock_listen_address`` fixture, and a function-scoped ``ucloud_mock`` that resets it to the
test's scenario before the test and, after it, fails the test's teardown if the mock failed while serving.
Importing the plugin costs nothing: the mock and the validators load when a test asks for a fixture.

Fixtures: ``ucloud_mock`` (the running mock), ``ucloud_mock_server`` (the same, without the reset),
``ucloud_app`` (a fresh in-process WSGI app), ``ucloud_contract`` (validation helpers). The marker
``@pytest.mark.ucloud_scenario(name, profile=..., era=...)`` chooses a test's scenario; ``--ucloud-scenario``,
``--ucloud-profile`` and ``--ucloud-era``, or the ini options ``ucloud_scenario``, ``ucloud_profile`` and
``ucloud_era``, choose every test's (the marker beats the command line, which beats the ini file). With
``--ucloud-url`` (or ``ucloud_url``), ``--ucloud-verify`` adds the verification of a live provider as one test;
the token comes from ``--ucloud-token`` or the environment variable ``UCLOUD_TOKEN``, and is never printed.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from contracts.testing.verify import Report
    from contracts.validation import Contract
    from mockserver.api import MockServer
    from mockserver.web.app import MockApp

__all__ = ["ContractHelper", "VerifyFailed", "VerifyItem"]

DEFAULT_SCENARIO = "blank"
TOKEN_VARIABLE = "UCLOUD_TOKEN"  # contracts.testing.transport.TOKEN_VARIABLE; importing it here would not be free


def pytest_addoption(parser: pytest.Parser) -> None:
    """The ``ucloud`` option group."""
    from contracts.profiles import ERAS, PROFILES  # noqa: PLC0415 - a few names, no spec

    group = parser.getgroup("ucloud", "UCloud Jobs contract and mock server")
    group.addoption("--ucloud-profile", default=None, choices=tuple(PROFILES),
                    help="behaviour profile of the mock (default: the scenario's)")
    group.addoption("--ucloud-era", default=None, choices=tuple(ERAS),
                    help="era of the documentation the docs profile follows (default: the scenario's)")
    group.addoption("--ucloud-scenario", default=None,
                    help=f"scenario the mock starts each test with (default: {DEFAULT_SCENARIO}, no script)")
    group.addoption("--ucloud-url", default=None,
                    help="base URL of a live provider; with --ucloud-verify, verify it against the contract")
    group.addoption("--ucloud-token", default=None,
                    help=f"bearer token for --ucloud-url (default: ${TOKEN_VARIABLE})")
    group.addoption("--ucloud-verify", action="store_true",
                    help="add a test that verifies --ucloud-url (scenarios, then the state machine)")
    group.addoption("--ucloud-examples", type=int, default=25,
                    help="state-machine examples for --ucloud-verify (default: 25)")
    group.addoption("--ucloud-seed", type=int, default=None,
                    help="seed of --ucloud-verify's state machine, to repeat a run (default: a new one)")
    group.addoption("--ucloud-shrink-time", type=float, default=5.0, metavar="SECONDS",
                    help="longest time --ucloud-verify shortens a failing run; 0 reports it as found (default: 5)")
    # The same choices in pytest.ini, pyproject.toml ([tool.pytest.ini_options]), tox.ini or setup.cfg; the
    # command line wins. A token has no ini option: it does not belong in a file under version control.
    for name, option in _INI.items():
        parser.addini(name, help=f"like {option}; the command line wins", default="")


#: The ini options, each with the command-line option it stands in for.
_INI = {"ucloud_scenario": "--ucloud-scenario", "ucloud_profile": "--ucloud-profile", "ucloud_era": "--ucloud-era",
        "ucloud_url": "--ucloud-url"}


def _setting(config: pytest.Config, ini: str) -> tuple[str | None, str]:
    """The value of a setting and where it was given: the command line's, else the ini file's, else None."""
    option = _INI[ini]
    value = config.getoption(option)
    if value is not None:
        return str(value), option
    # An ini value may arrive as a number (`ucloud_era = 2024` in pyproject.toml) or with spaces around it.
    given = str(config.getini(ini)).strip()
    where = config.inipath.name if config.inipath is not None else "the ini file"
    return (given, f"{ini} in {where}") if given else (None, "")


def _check_ini_choices(config: pytest.Config) -> None:
    """An unknown profile or era in the ini file is a usage error in one line, as on the command line."""
    from contracts.profiles import ERAS, PROFILES  # noqa: PLC0415 - a few names, no spec

    for ini, known in (("ucloud_profile", PROFILES), ("ucloud_era", ERAS)):
        value, where = _setting(config, ini)
        if value is not None and value not in known:
            noun = ini.removeprefix("ucloud_")
            raise pytest.UsageError(f"{where}: unknown {noun} {value!r}; known {noun}s: {', '.join(known)}")


def pytest_configure(config: pytest.Config) -> None:
    """Register the marker; check the ini choices and the verify options."""
    config.addinivalue_line(
        "markers",
        "ucloud_scenario(name, profile=None, era=None): start the mock with this scenario (and profile and era) "
        "for this test",
    )
    _check_ini_choices(config)
    if config.getoption("--ucloud-verify"):
        if not _setting(config, "ucloud_url")[0]:
            raise pytest.UsageError("--ucloud-verify needs --ucloud-url or the ucloud_url ini option (and "
                                    "--ucloud-token)")
        if not _token(config):
            raise pytest.UsageError(f"--ucloud-verify needs --ucloud-token or ${TOKEN_VARIABLE} as well as "
                                    "--ucloud-url")
        if config.getoption("--ucloud-examples") < 0 or config.getoption("--ucloud-shrink-time") < 0:
            raise pytest.UsageError("--ucloud-examples and --ucloud-shrink-time take 0 or more")


def _token(config: pytest.Config) -> str | None:
    return config.getoption("--ucloud-token") or os.environ.get(TOKEN_VARIABLE) or None


class ContractHelper:
    """Validation helpers for tests: each raises ``ContractViolation`` (an AssertionError) on a broken payload."""

    def __init__(self, contract: Contract) -> None:
        self.contract = contract

    def validate(self, instance: Any, schema: str) -> None:
        """Assert that ``instance`` is a valid ``schema``."""
        __tracebackhide__ = True
        self.contract.validate(instance, schema)

    def assert_request(self, operation_id: str, body: Any) -> None:
        """Assert that ``body`` is a valid request body of ``operation_id``."""
        __tracebackhide__ = True
        self.contract.validate_request(operation_id, body)

    def assert_response(self, operation_id: str, status: int, body: Any) -> None:
        """Assert that ``body`` is a valid ``status`` response of ``operation_id``."""
        __tracebackhide__ = True
        self.contract.validate_response(operation_id, status, body)


Stage = tuple[str, str | None, str | None]


def _stage(request: pytest.FixtureRequest) -> tuple[Stage, str]:
    """The scenario, profile and era of this test, and where they were chosen.

    Each is the marker's, else the command line's, else the ini file's, else the ``blank`` scenario's own.
    """
    config = request.config
    scenario, where = _setting(config, "ucloud_scenario")
    profile = _setting(config, "ucloud_profile")[0]
    era = _setting(config, "ucloud_era")[0]
    marker = request.node.get_closest_marker("ucloud_scenario")
    if marker is not None:
        scenario = marker.args[0] if marker.args else marker.kwargs.get("name", scenario)
        profile = marker.kwargs.get("profile", profile)
        era = marker.kwargs.get("era", era)
        where = "@pytest.mark.ucloud_scenario"
    return (scenario or DEFAULT_SCENARIO, profile, None if era is None else str(era)), where


def _load(load: Any, chosen: tuple[Stage, str]) -> None:
    """Load the test's stage; an unknown scenario, profile or era fails the test in one line naming where it was."""
    stage, where = chosen
    try:
        load(*stage)
    except LookupError as error:
        pytest.fail(f"{where}: {error.args[0] if error.args else error}", pytrace=False)


@pytest.fixture
def ucloud_contract() -> ContractHelper:
    """Validate payloads against the Jobs contract."""
    from contracts.validation import default_contract  # noqa: PLC0415 - loaded only when asked for

    return ContractHelper(default_contract())


@pytest.fixture(scope="session")
def ucloud_mock_listen_address() -> tuple[str, int]:
    """Where the session's mock listens: loopback and a free port (override this fixture to change it)."""
    return ("127.0.0.1", 0)


@pytest.fixture(scope="session")
def ucloud_mock_server(ucloud_mock_listen_address: tuple[str, int]) -> Iterator[MockServer]:
    """The session's mock on a socket (one per xdist worker), started on first use."""
    from mockserver.api import MockServer  # noqa: PLC0415 - loaded only when asked for

    host, port = ucloud_mock_listen_address
    with MockServer(DEFAULT_SCENARIO, host=host, port=port) as server:
        yield server


@pytest.fixture
def ucloud_mock(request: pytest.FixtureRequest, ucloud_mock_server: MockServer) -> Iterator[MockServer]:
    """The session's mock, reset to this test's scenario; its failures while serving fail the test's teardown."""
    _load(ucloud_mock_server.load_scenario, _stage(request))
    ucloud_mock_server.app.take_errors()
    yield ucloud_mock_server
    ucloud_mock_server.check()


@pytest.fixture
def ucloud_app(request: pytest.FixtureRequest) -> Iterator[MockApp]:
    """A fresh in-process mock (a WSGI app) for this test; its failures while serving fail the test's teardown."""
    from mockserver.api import ServerErrors  # noqa: PLC0415 - loaded only when asked for
    from mockserver.web.app import create_app  # noqa: PLC0415

    app = create_app(scenario=DEFAULT_SCENARIO)
    _load(lambda *stage: app.control.load_scenario(*stage, allow_paths=True), _stage(request))
    yield app
    errors = app.take_errors()
    if errors:
        raise ServerErrors(errors)


class VerifyFailed(AssertionError):
    """The provider broke the contract."""


class VerifyItem(pytest.Item):
    """``--ucloud-verify``: the bundled scenarios and the state machine against ``--ucloud-url``, as one test."""

    def runtest(self) -> None:
        """Verify the provider exactly as ``ucloud-jobs verify`` does; fail with its findings and curl lines."""
        from contracts.cli.verify import VerifyOptions, verify_url  # noqa: PLC0415 - only when asked for
        from contracts.cli.verify_output import summary  # noqa: PLC0415
        from mockserver.remote import HttpControl  # noqa: PLC0415

        config = self.config
        options = VerifyOptions(examples=config.getoption("--ucloud-examples"),
                                profile=_setting(config, "ucloud_profile")[0] or "auto",
                                seed=config.getoption("--ucloud-seed"),
                                shrink_seconds=config.getoption("--ucloud-shrink-time"))
        token = _token(config)
        assert token is not None  # pytest_configure refused to start without one
        url = _setting(config, "ucloud_url")[0]
        assert url is not None  # pytest_configure refused to start without one
        report: Report = verify_url(url, token, options,
                                    second_token=os.environ.get("UCLOUD_SECOND_TOKEN") or None,
                                    control_for=HttpControl.probe)
        if not report.ok:
            raise VerifyFailed("\n\n".join([*(finding.render() for finding in report.findings),
                                             "\n".join(summary(report)).strip()]))

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        """The findings, without a traceback."""
        from contracts.errors import ContractError  # noqa: PLC0415 - only when a verification failed

        if isinstance(excinfo.value, VerifyFailed | ContractError):
            return str(excinfo.value)
        return str(super().repr_failure(excinfo))

    def reportinfo(self) -> tuple[str, int | None, str]:
        """Where the item comes from, for pytest's report."""
        return "ucloud-verify", None, f"verify {_setting(self.config, 'ucloud_url')[0]}"


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    """With ``--ucloud-verify``, add the verification of ``--ucloud-url`` as a test."""
    if config.getoption("--ucloud-verify"):
        items.append(VerifyItem.from_parent(session, name="ucloud_verify"))
