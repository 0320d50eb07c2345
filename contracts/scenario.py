"""Scenarios as data: a documented flow's clock, ids, products, projects, steps and provider events, from YAML.

A scenario never holds a response body. The mock computes every response from state; `ucloud-jobs verify`
replays the steps against a live provider and checks the answers against the contract and its invariants. The
format itself (its dataclasses and its JSON Schema) is ``contracts.scenario_model``; this module finds, reads
and lists scenario files.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

import yaml

from contracts.errors import ContractError
from contracts.scenario_model import (
    Cluster,
    Messages,
    Offer,
    PresetJob,
    PresetUpdate,
    Project,
    ProviderEvent,
    Scenario,
    Sessions,
    Step,
    parse_duration_ms,
)

__all__ = [
    "Cluster",
    "Messages",
    "Offer",
    "PresetJob",
    "PresetUpdate",
    "Project",
    "ProviderEvent",
    "Scenario",
    "Sessions",
    "Step",
    "bundled_scenario_dir",
    "list_scenarios",
    "load_scenario",
    "parse_duration_ms",
    "resolve_scenario",
]

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")


def bundled_scenario_dir() -> Path:
    """The folder of the scenarios shipped with the package."""
    return Path(__file__).resolve().parent / "scenarios"


def load_scenario(path: str | Path) -> Scenario:
    """Read a scenario file (YAML, loaded safely)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ContractError(f"cannot read the scenario {path}: {error}") from error
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        # One line: PyYAML spreads its message over several, with a caret under the column.
        raise ContractError(f"the scenario {path} is not valid YAML: {' '.join(str(error).split())}") from error
    return Scenario.from_mapping(data, source=str(path))


def list_scenarios(folders: Iterable[Path] = ()) -> dict[str, Path]:
    """Scenario names and their files: the bundled ones, then those of ``folders`` (which may shadow them)."""
    found: dict[str, Path] = {}
    for folder in (bundled_scenario_dir(), *folders):
        for path in sorted(Path(folder).glob("*.yaml")):
            found[path.stem] = path
    return found


def resolve_scenario(name_or_path: str, folders: Iterable[Path] = (), allow_paths: bool = True) -> Scenario:
    """Load a scenario by name (bundled or in ``folders``) or, where allowed, by explicit file path.

    A name resolves only inside the known folders: ``../../etc/passwd`` is not a name, and it is a path only
    when ``allow_paths`` is true (the command line) and the file exists.
    """
    folders = tuple(folders)
    known = list_scenarios(folders)
    if _NAME.fullmatch(name_or_path) and name_or_path in known:
        return load_scenario(known[name_or_path])
    if allow_paths and (name_or_path.endswith((".yaml", ".yml")) or "/" in name_or_path):
        path = Path(name_or_path)
        if path.is_file():
            return load_scenario(path)
        raise ContractError(f"no scenario file at {name_or_path}")
    raise ContractError(f"unknown scenario {name_or_path!r}; known scenarios: {', '.join(sorted(known))}")
