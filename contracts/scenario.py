"""Scenarios as data: a documented flow's clock, ids, steps and scripted provider events, loaded from YAML.

A scenario never holds a response body. The mock computes every response from state; `ucloud-jobs verify`
replays the steps against a live provider and checks the answers against the contract and its invariants.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from contracts.errors import ContractError
from contracts.profiles import DEFAULT_PROFILE, PROFILES
from contracts.scenario_files import read_scenario_text, scenario_files, yaml_document
from contracts.vocabulary import default_vocabulary

__all__ = [
    "Messages",
    "ProviderEvent",
    "Scenario",
    "Step",
    "bundled_scenario_dir",
    "list_scenarios",
    "load_scenario",
    "parse_duration_ms",
    "resolve_scenario",
]

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")
_DURATION_PART = re.compile(r"\s*(\d+)\s*(ms|h|min|m|s)\s*")
_JOB_REF = re.compile(r"\{job:(\d+)\}")


def parse_duration_ms(value: Any, where: str = "duration") -> int:
    """Milliseconds from ``5000``, ``"5s"``, ``"2h 0min 5s"``, ``"+90s"`` or ``"250ms"``."""
    if isinstance(value, bool):
        raise ContractError(f"{where}: {value!r} is not a duration")
    if isinstance(value, int):
        if value < 0:
            raise ContractError(f"{where}: {value} is negative")
        return value
    if not isinstance(value, str):
        raise ContractError(f"{where}: {value!r} is not a duration (write 5000, '5s' or '2h 0min 5s')")
    text = value.strip().removeprefix("+")
    units = {"h": 3_600_000, "min": 60_000, "m": 60_000, "s": 1_000, "ms": 1}
    total, position = 0, 0
    for match in _DURATION_PART.finditer(text):
        if match.start() != position:
            break
        total += int(match.group(1)) * units[match.group(2)]
        position = match.end()
    if position != len(text) or not text:
        raise ContractError(f"{where}: {value!r} is not a duration (write 5000, '5s' or '2h 0min 5s')")
    return total


@dataclass(frozen=True)
class Messages:
    """The provider's status message for each transition; None leaves an update without one.

    The texts come from the provider, not from UCloud, so each scenario says its own (the bundled ones use the
    documented example's wording).
    """

    queued: str | None = None
    running: str | None = None
    cancelled: str | None = None
    expired: str | None = None
    suspended: str | None = None


@dataclass(frozen=True)
class Step:
    """One request of the flow, sent when the clock reads ``start + at_ms``.

    ``request`` is the JSON body (POST) or the query parameters (GET); the text ``{job:N}`` anywhere in it
    stands for the id of the N-th job created in this run of the scenario.
    """

    at_ms: int
    call: str
    request: Any = None
    user: str | None = None
    expect_status: int = 200
    note: str = ""

    def bind(self, created_ids: Sequence[str]) -> Any:
        """The request with every ``{job:N}`` replaced by the id of the N-th created job."""
        return _bind(self.request, created_ids)


@dataclass(frozen=True)
class ProviderEvent:
    """A scripted provider update: ``after_ms`` after the N-th job was created, it moves to ``state``."""

    after_ms: int
    job: int
    state: str | None
    status: str | None


@dataclass(frozen=True)
class Scenario:
    """A documented flow as data: the profile, the clock, the ids, the steps and the provider's events."""

    name: str
    clock_start_ms: int = 0
    title: str = ""
    description: str = ""
    profile: str = DEFAULT_PROFILE
    tick_after_script_ms: int = 0
    first_id: int = 1
    queue_delay_ms: int = 0
    user: str = "user"
    messages: Messages = field(default_factory=Messages)
    steps: tuple[Step, ...] = ()
    events: tuple[ProviderEvent, ...] = ()
    faults: tuple[Mapping[str, Any], ...] = ()
    source: str = "<memory>"

    def step_time(self, index: int) -> int | None:
        """The clock reading for the ``index``-th request (0-based), or None once the script is exhausted."""
        if index < len(self.steps):
            return self.clock_start_ms + self.steps[index].at_ms
        return None

    @classmethod
    def from_mapping(cls, data: Any, source: str = "<memory>") -> Scenario:
        """Build a scenario from parsed YAML, checking every field and naming the one that is wrong."""
        if not isinstance(data, dict):
            raise ContractError(f"{source}: a scenario is a mapping with at least a 'name'")
        known = {"name", "title", "description", "profile", "clock", "ids", "queueDelay", "user", "messages",
                 "steps", "events", "faults"}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ContractError(f"{source}: unknown scenario keys {', '.join(unknown)} "
                                f"(known: {', '.join(sorted(known))})")
        name = data.get("name")
        if not isinstance(name, str) or not _NAME.fullmatch(name):
            raise ContractError(f"{source}: 'name' must be a short name of letters, digits, '-', '_' or '.'")
        profile = data.get("profile", DEFAULT_PROFILE)
        if profile not in PROFILES:
            raise ContractError(f"{source}: profile {profile!r} is not one of {', '.join(PROFILES)}")
        clock = _mapping(data.get("clock", {}), f"{source}: clock")
        start = clock.get("start", 0)
        if isinstance(start, bool) or not isinstance(start, int) or start < 0:
            raise ContractError(f"{source}: clock.start must be epoch milliseconds (a non-negative integer)")
        after = clock.get("afterScript", "hold")
        tick = 0 if after == "hold" else _tick(after, source)
        ids = _mapping(data.get("ids", {}), f"{source}: ids")
        first = ids.get("first", 1)
        if isinstance(first, bool) or not isinstance(first, int) or first < 0:
            raise ContractError(f"{source}: ids.first must be a non-negative integer")
        user = data.get("user", "user")
        if not isinstance(user, str) or not user:
            raise ContractError(f"{source}: 'user' must be a non-empty username")
        messages = _mapping(data.get("messages", {}), f"{source}: messages")
        bad = sorted(set(messages) - set(Messages.__dataclass_fields__))
        if bad or not all(isinstance(v, str) for v in messages.values()):
            raise ContractError(f"{source}: messages takes strings for "
                                f"{', '.join(Messages.__dataclass_fields__)}")
        return cls(
            name=name,
            title=str(data.get("title", "")),
            description=str(data.get("description", "")),
            profile=profile,
            clock_start_ms=start,
            tick_after_script_ms=tick,
            first_id=first,
            queue_delay_ms=parse_duration_ms(data.get("queueDelay", 0), f"{source}: queueDelay"),
            user=user,
            messages=Messages(**messages),
            steps=tuple(_step(raw, f"{source}: steps[{i}]") for i, raw in enumerate(_list(data, "steps", source))),
            events=tuple(_event(raw, f"{source}: events[{i}]")
                         for i, raw in enumerate(_list(data, "events", source))),
            faults=tuple(_mapping(raw, f"{source}: faults[{i}]")
                         for i, raw in enumerate(_list(data, "faults", source))),
            source=source,
        )


def _bind(value: Any, created_ids: Sequence[str]) -> Any:
    if isinstance(value, str):
        def replace(match: re.Match[str]) -> str:
            ordinal = int(match.group(1))
            if not 1 <= ordinal <= len(created_ids):
                raise ContractError(f"{{job:{ordinal}}} names a job that was not created "
                                    f"({len(created_ids)} created so far)")
            return created_ids[ordinal - 1]
        return _JOB_REF.sub(replace, value)
    if isinstance(value, list):
        return [_bind(item, created_ids) for item in value]
    if isinstance(value, dict):
        return {key: _bind(item, created_ids) for key, item in value.items()}
    return value


def _mapping(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ContractError(f"{where} must be a mapping")
    return value


def _list(data: Mapping[str, Any], key: str, source: str) -> list[Any]:
    value = data.get(key, [])
    if not isinstance(value, list):
        raise ContractError(f"{source}: '{key}' must be a list")
    return value


def _tick(after: Any, source: str) -> int:
    if isinstance(after, dict) and set(after) == {"tick"}:
        return parse_duration_ms(after["tick"], f"{source}: clock.afterScript.tick")
    raise ContractError(f"{source}: clock.afterScript is 'hold' or {{tick: <duration>}}")


def _step(raw: Any, where: str) -> Step:
    raw = _mapping(raw, where)
    unknown = sorted(set(raw) - {"at", "call", "request", "user", "expect", "note"})
    if unknown:
        raise ContractError(f"{where}: unknown keys {', '.join(unknown)}")
    call = raw.get("call")
    if not isinstance(call, str) or not call.startswith("jobs."):
        raise ContractError(f"{where}: 'call' must name a Jobs call such as jobs.retrieve")
    expect = _mapping(raw.get("expect", {}), f"{where}: expect")
    status = expect.get("status", 200)
    if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
        raise ContractError(f"{where}: expect.status must be an HTTP status code")
    user = raw.get("user")
    if user is not None and (not isinstance(user, str) or not user):
        raise ContractError(f"{where}: 'user' must be a non-empty username")
    return Step(at_ms=parse_duration_ms(raw.get("at", 0), f"{where}: at"), call=call,
                request=raw.get("request"), user=user, expect_status=status, note=str(raw.get("note", "")))


def _event(raw: Any, where: str) -> ProviderEvent:
    raw = _mapping(raw, where)
    unknown = sorted(set(raw) - {"after", "job", "state", "status"})
    if unknown:
        raise ContractError(f"{where}: unknown keys {', '.join(unknown)}")
    job = raw.get("job", 1)
    if isinstance(job, bool) or not isinstance(job, int) or job < 1:
        raise ContractError(f"{where}: 'job' is the ordinal (1, 2, ...) of a job created in the scenario")
    state = raw.get("state")
    states = default_vocabulary().job_states
    if state is not None and state not in states:
        raise ContractError(f"{where}: state {state!r} is not one of {', '.join(states)}")
    status = raw.get("status")
    if status is not None and not isinstance(status, str):
        raise ContractError(f"{where}: 'status' must be a string")
    return ProviderEvent(after_ms=parse_duration_ms(raw.get("after", 0), f"{where}: after"), job=job,
                         state=state, status=status)


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
