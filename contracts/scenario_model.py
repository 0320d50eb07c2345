"""The scenario format: the dataclasses of a scenario and how a parsed YAML document becomes one.

The format's contract is ``openapi/scenario.schema.json`` (version 1): every document is validated against it
first, so a mistake is reported with its JSON pointer; defaults (the documentation's example products, how
interactive sessions look) are the schema's ``default`` values, not typed here.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from contracts.errors import ContractError
from contracts.paths import SCENARIO_SCHEMA, contract_file
from contracts.profiles import DEFAULT_ERA, DEFAULT_PROFILE

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
    "parse_duration_ms",
    "scenario_schema",
    "scenario_violations",
]

_DURATION_PART = re.compile(r"\s*(\d+)\s*(ms|h|min|m|s)\s*")
_JOB_REF = re.compile(r"\{job:(\d+)\}")
_SHOWN_VIOLATIONS = 5


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


@functools.cache
def scenario_schema() -> dict[str, Any]:
    """The scenario format's JSON Schema."""
    schema: dict[str, Any] = json.loads(contract_file(SCENARIO_SCHEMA).read_text(encoding="utf-8"))
    return schema


@functools.cache
def _validator() -> Any:
    from jsonschema import Draft202012Validator  # noqa: PLC0415 - only when a scenario is read

    from contracts.validation import default_contract  # noqa: PLC0415 - the spec's registry, for JobState

    return Draft202012Validator(scenario_schema(), registry=default_contract().registry())


def scenario_violations(document: Any) -> list[str]:
    """Every way ``document`` breaks the scenario format, as ``POINTER: message``, in document order.

    Beyond the schema, each step's call must be a call of the contract, and a POST step's request must be a
    valid request body of that call (``{job:N}`` placeholders stand where ids go, so they pass as ids).
    """
    from contracts.explain import explain  # noqa: PLC0415 - with the validator

    errors = sorted(_validator().iter_errors(document), key=lambda error: [str(part) for part in error.path])
    found = [str(violation) for violation in explain(errors)]
    if not found and isinstance(document, dict):
        for index, step in enumerate(document.get("steps", ())):
            found += _step_violations(step, f"/steps/{index}")
    return found


def _step_violations(step: Mapping[str, Any], where: str) -> list[str]:
    from contracts.streams import default_streams, payload_schema  # noqa: PLC0415 - with the validator
    from contracts.validation import default_contract  # noqa: PLC0415 - with the validator

    spec = default_contract().spec
    streams = default_streams()
    call = step["call"]
    if call in streams:  # a WebSocket call (jobs.follow): its request is the envelope's payload
        schema: str | None = payload_schema(streams[call], spec)
    elif call in spec.operations:
        operation = spec.operation(call)
        schema = operation.request_schema if operation.method == "POST" else None
    else:
        known = ", ".join(sorted([*spec.operations, *streams]))
        return [f"{where}/call: {call!r} is not a call of the Jobs API (known: {known})"]
    if schema is None or step.get("request") is None:
        return []
    return [f"{where}/request{violation.pointer}: {violation.message}"
            for violation in default_contract().iter_violations(step["request"], schema)]


def _default(*path: str) -> Any:
    node: Any = scenario_schema()
    for part in path:
        node = node[part]
    return node["default"]


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
    stands for the id of the N-th job created in this run of the scenario. ``ids`` are the ids a create gives.
    """

    at_ms: int
    call: str
    request: Any = None
    user: str | None = None
    project: str | None = None
    ids: tuple[str, ...] = ()
    expect_status: int = 200
    note: str = ""

    def bind(self, created_ids: Sequence[str]) -> Any:
        """The request with every ``{job:N}`` replaced by the id of the N-th created job."""
        return _bind(self.request, created_ids)


@dataclass(frozen=True)
class ProviderEvent:
    """A scripted change by the provider, ``after_ms`` after the job's creation (or the start, for a preset job).

    ``job`` is the ordinal of a job created in the run (1, 2, ...) or the id of a job as text.
    """

    after_ms: int
    job: int | str
    state: str | None = None
    status: str | None = None
    output_folder: str | None = None
    log: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class Offer:
    """A compute product of the catalogue (as Product.Compute fields) and its provider's support per backend."""

    id: str
    category: str
    provider: str
    description: str
    cpu: int
    memory_in_gigs: int
    gpu: int
    price_per_unit: int
    free_to_use: bool
    support: Mapping[str, Mapping[str, bool | None]]


@dataclass(frozen=True)
class Project:
    """A project's people: the PI and admins administer every job in it; members get what the ACL grants."""

    id: str
    pi: str
    title: str = ""
    admins: tuple[str, ...] = ()
    members: tuple[str, ...] = ()
    groups: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class Sessions:
    """How interactive sessions look; ``{job}``, ``{rank}`` and ``{n}`` are filled in."""

    provider_domain: str
    web: str
    vnc: str
    password: str | None
    shell: str


@dataclass(frozen=True)
class Cluster:
    """The capacity of each provider's cluster."""

    cpu: float
    memory_in_gigs: int


@dataclass(frozen=True)
class PresetUpdate:
    """One update of a preset job's history, ``after_ms`` after its creation."""

    after_ms: int
    state: str | None = None
    status: str | None = None
    output_folder: str | None = None


@dataclass(frozen=True)
class PresetJob:
    """A job that exists before the flow starts."""

    id: str
    user: str
    project: str | None
    created_at: int
    specification: Mapping[str, Any]
    updates: tuple[PresetUpdate, ...] = ()
    acl: tuple[Mapping[str, Any], ...] = ()


@dataclass(frozen=True)
class Scenario:
    """A documented flow as data: who acts, the clock, the ids, products, projects, steps and events."""

    name: str
    clock_start_ms: int = 0
    title: str = ""
    description: str = ""
    profile: str = DEFAULT_PROFILE
    era: str = DEFAULT_ERA
    tick_after_script_ms: int = 0
    first_id: int = 1
    id_sequence: tuple[str, ...] = ()
    queue_delay_ms: int = 0
    user: str = "user"
    messages: Messages = field(default_factory=Messages)
    products: tuple[Offer, ...] = field(default_factory=lambda: _offers(_default("properties", "products")))
    projects: Mapping[str, Project] = field(default_factory=dict)
    sessions: Sessions = field(default_factory=lambda: _sessions({}))
    cluster: Cluster = field(default_factory=lambda: _cluster({}))
    jobs: tuple[PresetJob, ...] = ()
    steps: tuple[Step, ...] = ()
    events: tuple[ProviderEvent, ...] = ()
    faults: tuple[Mapping[str, Any], ...] = ()
    source: str = "<memory>"

    def step_time(self, index: int) -> int | None:
        """The clock reading for the ``index``-th step (0-based), or None past the last."""
        if index < len(self.steps):
            return self.clock_start_ms + self.steps[index].at_ms
        return None

    @classmethod
    def from_mapping(cls, data: Any, source: str = "<memory>") -> Scenario:
        """Build a scenario from parsed YAML; ``ContractError`` naming each offending key by its pointer."""
        if isinstance(data, dict) and isinstance(data.get("era"), int) and not isinstance(data["era"], bool):
            data = {**data, "era": str(data["era"])}  # YAML reads `era: 2024` as a number
        problems = scenario_violations(data)
        if problems:
            shown = "; ".join(problems[:_SHOWN_VIOLATIONS])
            more = len(problems) - _SHOWN_VIOLATIONS
            raise ContractError(f"{source}: {shown}" + (f" (and {more} more)" if more > 0 else ""))
        return _build(cls, data, source)


def _build(cls: type[Scenario], data: dict[str, Any], source: str) -> Scenario:
    clock = data.get("clock", {})
    after = clock.get("afterScript", "hold")
    ids = data.get("ids", {})
    user = data.get("user", "user")
    return cls(
        name=data["name"],
        title=data.get("title", ""),
        description=data.get("description", ""),
        profile=data.get("profile", DEFAULT_PROFILE),
        era=data.get("era", DEFAULT_ERA),
        clock_start_ms=clock.get("start", 0),
        tick_after_script_ms=0 if after == "hold" else parse_duration_ms(after["tick"], f"{source}: /clock"),
        first_id=ids.get("first", 1),
        id_sequence=tuple(str(value) for value in ids.get("sequence", ())),
        queue_delay_ms=parse_duration_ms(data.get("queueDelay", 0), f"{source}: /queueDelay"),
        user=user,
        messages=Messages(**data.get("messages", {})),
        products=_offers(data.get("products", _default("properties", "products"))),
        projects={key: _project(key, value) for key, value in data.get("projects", {}).items()},
        sessions=_sessions(data.get("sessions", {})),
        cluster=_cluster(data.get("cluster", {})),
        jobs=tuple(_preset(raw, user, clock.get("start", 0), source) for raw in data.get("jobs", ())),
        steps=tuple(_step(raw, f"{source}: /steps/{i}") for i, raw in enumerate(data.get("steps", ()))),
        events=tuple(_event(raw, f"{source}: /events/{i}") for i, raw in enumerate(data.get("events", ()))),
        faults=tuple(data.get("faults", ())),
        source=source,
    )


def _offers(raw: Sequence[Mapping[str, Any]]) -> tuple[Offer, ...]:
    fields = scenario_schema()["$defs"]["product"]["properties"]
    offers = []
    for entry in raw:
        given = {key: entry.get(key, fields[key].get("default")) for key in fields}
        offers.append(Offer(id=given["id"], category=given["category"], provider=given["provider"],
                            description=given["description"], cpu=given["cpu"], memory_in_gigs=given["memoryInGigs"],
                            gpu=given["gpu"], price_per_unit=given["pricePerUnit"], free_to_use=given["freeToUse"],
                            support=dict(given["support"] or {})))
    return tuple(offers)


def _project(key: str, raw: Mapping[str, Any]) -> Project:
    return Project(id=key, pi=raw["pi"], title=raw.get("title", ""), admins=tuple(raw.get("admins", ())),
                   members=tuple(raw.get("members", ())),
                   groups={name: tuple(people) for name, people in raw.get("groups", {}).items()})


def _sessions(raw: Mapping[str, Any]) -> Sessions:
    fields = scenario_schema()["$defs"]["sessions"]["properties"]
    given = {key: raw.get(key, fields[key]["default"]) for key in fields}
    return Sessions(provider_domain=given["providerDomain"], web=given["web"], vnc=given["vnc"],
                    password=given["password"], shell=given["shell"])


def _cluster(raw: Mapping[str, Any]) -> Cluster:
    fields = scenario_schema()["properties"]["cluster"]["properties"]
    return Cluster(cpu=raw.get("cpu", fields["cpu"]["default"]),
                   memory_in_gigs=raw.get("memoryInGigs", fields["memoryInGigs"]["default"]))


def _preset(raw: Mapping[str, Any], user: str, start: int, source: str) -> PresetJob:
    where = f"{source}: /jobs/{raw['id']}"
    return PresetJob(
        id=str(raw["id"]), user=raw.get("user", user), project=raw.get("project"),
        created_at=raw.get("createdAt", start), specification=raw["specification"],
        updates=tuple(PresetUpdate(parse_duration_ms(update.get("after", 0), where), update.get("state"),
                                   update.get("status"), update.get("outputFolder"))
                      for update in raw.get("updates", ())),
        acl=tuple(raw.get("acl", ())))


def _step(raw: Mapping[str, Any], where: str) -> Step:
    return Step(at_ms=parse_duration_ms(raw.get("at", 0), f"{where}/at"), call=raw["call"],
                request=raw.get("request"), user=raw.get("user"), project=raw.get("project"),
                ids=tuple(str(value) for value in raw.get("ids", ())),
                expect_status=raw.get("expect", {}).get("status", 200), note=raw.get("note", ""))


def _event(raw: Mapping[str, Any], where: str) -> ProviderEvent:
    job = raw.get("job", 1)
    return ProviderEvent(after_ms=parse_duration_ms(raw["after"], f"{where}/after"), job=job,
                         state=raw.get("state"), status=raw.get("status"), output_folder=raw.get("outputFolder"),
                         log=raw.get("log"))


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
