"""Where the plugin takes each test's stage from, in process: the marker, else the command line, else the ini file.

test_plugin.py runs the same through pytest subprocesses, as a consumer would; these cover every combination
without the cost of a run each.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from mockserver import pytest_plugin
from mockserver.control import ScenarioNotFound


@dataclass
class Config:
    """Just what the plugin reads of a pytest Config."""

    options: dict[str, Any] = field(default_factory=dict)
    ini: dict[str, Any] = field(default_factory=dict)
    inipath: Path | None = Path("/project/tox.ini")

    def getoption(self, name: str) -> Any:
        return self.options.get(name)

    def getini(self, name: str) -> Any:
        return self.ini.get(name, "")


@dataclass
class Node:
    marker: pytest.Mark | None = None

    def get_closest_marker(self, name: str) -> pytest.Mark | None:
        assert name == "ucloud_scenario"
        return self.marker


@dataclass
class Request:
    config: Config
    node: Node = field(default_factory=Node)


def stage(options: dict[str, Any] | None = None, ini: dict[str, Any] | None = None,
          marker: pytest.Mark | None = None) -> Any:
    return pytest_plugin._stage(Request(Config(options or {}, ini or {}), Node(marker)))  # type: ignore[arg-type]


MARK = pytest.mark.ucloud_scenario("extend-and-terminate", era="2024").mark


@pytest.mark.parametrize(("options", "ini", "marker", "expected"), [
    ({}, {}, None, (("blank", None, None), "")),
    ({}, {"ucloud_scenario": " extend-and-terminate ", "ucloud_profile": "ucloud", "ucloud_era": 2024}, None,
     (("extend-and-terminate", "ucloud", "2024"), "ucloud_scenario in tox.ini")),
    ({"--ucloud-scenario": "blank", "--ucloud-era": "2021"}, {"ucloud_scenario": "nope", "ucloud_era": "2024",
                                                             "ucloud_profile": "ucloud"}, None,
     (("blank", "ucloud", "2021"), "--ucloud-scenario")),
    ({"--ucloud-profile": "docs"}, {"ucloud_scenario": "extend-and-terminate", "ucloud_profile": "ucloud"}, None,
     (("extend-and-terminate", "docs", None), "ucloud_scenario in tox.ini")),
    ({"--ucloud-scenario": "blank", "--ucloud-profile": "ucloud"}, {"ucloud_era": "2021"}, MARK,
     (("extend-and-terminate", "ucloud", "2024"), "@pytest.mark.ucloud_scenario")),
], ids=["nothing", "ini", "command-line-beats-ini", "each-setting-on-its-own", "marker-beats-both"])
def test_the_marker_beats_the_command_line_which_beats_the_ini_file(options: dict[str, Any], ini: dict[str, Any],
                                                                   marker: pytest.Mark | None,
                                                                   expected: Any) -> None:
    assert stage(options, ini, marker) == expected


def test_an_unknown_scenario_fails_in_one_line_naming_where_it_was_given() -> None:
    def load(*stage: Any) -> None:
        raise ScenarioNotFound(f"unknown scenario {stage[0]!r}; known scenarios: blank")

    for options, ini, where in [({"--ucloud-scenario": "nope"}, {}, "--ucloud-scenario"),
                                ({}, {"ucloud_scenario": "nope"}, "ucloud_scenario in tox.ini")]:
        with pytest.raises(pytest.fail.Exception) as failed:
            pytest_plugin._load(load, stage(options, ini))
        assert str(failed.value) == f"{where}: unknown scenario 'nope'; known scenarios: blank"
        assert failed.value.pytrace is False


@pytest.mark.parametrize(("ini", "message"), [
    ({"ucloud_profile": "staging"}, "ucloud_profile in tox.ini: unknown profile 'staging'; known profiles: docs, "
                                    "ucloud"),
    ({"ucloud_era": "1999"}, "ucloud_era in tox.ini: unknown era '1999'; known eras: 2021, 2024"),
])
def test_an_unknown_profile_or_era_in_the_ini_file_is_a_usage_error(ini: dict[str, Any], message: str) -> None:
    with pytest.raises(pytest.UsageError) as refused:
        pytest_plugin._check_ini_choices(Config(ini=ini))  # type: ignore[arg-type]
    assert str(refused.value) == message
    # The command line wins, so an ini value it overrides is never used, nor refused.
    pytest_plugin._check_ini_choices(Config(options={"--ucloud-profile": "docs", "--ucloud-era": "2021"},  # type: ignore[arg-type]
                                            ini=ini))
