"""The scenario format as a contract: its JSON Schema, the README's table of keys, and `ucloud-jobs scenarios`."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest
from jsonschema import Draft202012Validator

from contracts.profiles import ERAS, PROFILES
from contracts.scenario_model import scenario_schema
from mockserver.cli import main

ROOT = Path(__file__).resolve().parents[2]
FLOWS = sorted((ROOT / "examples" / "scenarios").glob("*.yaml"))


def _script(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_format_is_a_draft_2020_12_schema_with_a_version() -> None:
    schema = scenario_schema()
    Draft202012Validator.check_schema(schema)
    assert schema["$id"] == "urn:ucloud-jobs-contract:scenario:1"
    assert schema["properties"]["version"] == {"const": 1, "description": "The version of this format (1)."}


def test_the_profile_and_era_registries_are_the_formats() -> None:
    definitions = scenario_schema()["$defs"]
    assert [choice["const"] for choice in definitions["profile"]["oneOf"]] == list(PROFILES)
    assert [choice["const"] for choice in definitions["era"]["oneOf"]] == list(ERAS)


def test_the_readme_table_is_the_schemas_keys() -> None:
    table = _script("scenario_table")
    assert table.main(["--check"]) == 0, "run python scripts/scenario_table.py"
    keys = [path for path, _ in table.rows(scenario_schema()["properties"])]
    assert set(scenario_schema()["properties"]) <= set(keys)
    assert {"products[].support.docker", "jobs[].updates[].after", "steps[].expect.status", "events[].log.rank",
            "projects.<name>.groups"} <= set(keys)


def test_scenarios_lists_the_bundled_ones(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["scenarios"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[:4] for line in lines] == [["blank", "docs", "2021", "0"],
                                                    ["extend-and-terminate", "docs", "2021", "6"],
                                                    ["extend-and-terminate-2024", "docs", "2024", "6"]]
    assert lines[1].endswith("  Extending a Job and terminating it early")


def test_scenarios_check_reports_every_file_with_pointers(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("name: broken\nsteps: [{call: jobs.retrieve, at: soon}]\n", encoding="utf-8")
    assert main(["scenarios", "--check", *map(str, FLOWS), str(broken)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[:-1] == [f"{path}: a valid scenario" for path in FLOWS]
    assert out[-1] == f"{broken}: /steps/0/at: 'soon' is not a duration (milliseconds, or text such as 5s, 90s, " \
                      "2h 0min 5s or 250ms)"
    assert main(["scenarios", "--check", *map(str, FLOWS)]) == 0


def test_scenarios_check_needs_files(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["scenarios", "--check"]) == 2
    assert "expected at least one argument" in capsys.readouterr().err
