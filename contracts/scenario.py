"""Scenarios as data: a documented flow's clock, ids, products, projects, steps and provider events, from YAML.

A scenario never holds a response body. The mock computes every response from state; `ucloud-jobs verify`
replays the steps against a live provider and checks the answers against the contract and its invariants. The
format itself (its dataclasses and its JSON Schema) is ``contracts.scenario_model``; this module finds, reads
and lists scenario files.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from pathlib import Path

from contracts.errors import ContractError
from contracts.scenario_files import read_scenario_text, scenario_files, yaml_document
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


def load_scenario(path: str | Path, *, name: str | None = None) -> Scenario:
    """Read a scenario file (YAML, loaded safely and within limits: ``contracts.scenario_files``).

    Errors name the scenario by ``name`` when it was asked for by name, else by ``path`` as given.
    """
    label = repr(name) if name is not None else str(path)
    data = yaml_document(read_scenario_text(Path(path), label), label)
    return Scenario.from_mapping(data, source=f"scenario {label}" if name is not None else label)


def list_scenarios(folders: Iterable[Path] = ()) -> dict[str, Path]:
    """Scenario names and their files: the bundled ones, then those of ``folders`` (which may shadow them).

    A folder lists only regular files whose real path is inside it (``scenario_files``).
    """
    return scenario_files((bundled_scenario_dir(), *folders))


def resolve_scenario(name_or_path: str, folders: Iterable[Path] = (), allow_paths: bool = True) -> Scenario:
    """Load a scenario by name (bundled or in ``folders``) or, where allowed, by explicit file path.

    A name resolves only inside the known folders: ``../../etc/passwd`` is not a name, and it is a path only
    when ``allow_paths`` is true (the command line) and the file exists.
    """
    folders = tuple(folders)
    known = list_scenarios(folders)
    if _NAME.fullmatch(name_or_path) and name_or_path in known:
        return load_scenario(known[name_or_path], name=name_or_path)
    if allow_paths and (name_or_path.endswith((".yaml", ".yml")) or "/" in name_or_path):
        if os.path.lexists(name_or_path):
            return load_scenario(name_or_path)
        raise ContractError(f"no scenario file at {name_or_path}")
    raise ContractError(f"unknown scenario {name_or_path!r}; known scenarios: {', '.join(sorted(known))}")
