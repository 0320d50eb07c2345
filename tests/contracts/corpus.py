"""The corpus: the documented payloads, documents at the edge of a rule, and mutations that break one rule.

The documented payloads come from ``tests/data/docs/payloads.json`` (written by ``scripts/extract_docs.py``).
The other documents are built here from them, so every mutation differs from a real, valid payload in one
place only, and carries the pointer and the exact message of the violation it must cause. The CLI tests and
the benchmark reuse this module (``from tests.contracts import corpus``).
"""

from __future__ import annotations

import copy
import functools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "DATA_DIR",
    "STATES",
    "STATE_TYPO",
    "Case",
    "Documented",
    "Mutation",
    "accepted",
    "all_documents",
    "documented",
    "mutations",
    "payload",
    "seed_flow",
    "set_at",
]

DATA_DIR = Path(__file__).resolve().parent.parent / "data" / "docs"

# The documented payloads the mutations start from, by their id in payloads.json.
SEED = "seed-extend-and-terminate.md"
JOB_2021 = f"{SEED}:curl:2:jobs.retrieve:response"
JOB_2024 = "reference/jobs_extendAndCancel.md:curl:2:jobs.retrieve:response"
JOB_PROVIDER = ("reference/jobs.provider.PROVIDERID_createSimple.md:curl:1:jobs.provider.PROVIDERID.create:"
                "request/items/0")
CREATE = f"{SEED}:curl:1:jobs.create:request"
CREATED = f"{SEED}:curl:1:jobs.create:response"
RETRIEVE = f"{SEED}:typescript:2:jobs.retrieve:request"
EXTEND = f"{SEED}:curl:3:jobs.extend:request"
EXTENDED = f"{SEED}:curl:3:jobs.extend:response"
TERMINATE = f"{SEED}:curl:5:jobs.terminate:request"
UPDATE = ("reference/jobs.provider.PROVIDERID_createSimple.md:curl:2:jobs.control.update:"
          "request/items/0/update")
SUPPORT = ("reference/jobs.provider.PROVIDERID_support.md:curl:1:jobs.provider.PROVIDERID.retrieveProducts:"
           "response/responses/0")

STATES = "IN_QUEUE, RUNNING, CANCELING, SUCCESS, FAILURE, EXPIRED, SUSPENDED"
# The commonest typo, and the suggestion it gets.
STATE_TYPO = f"'RUNNIN' is not one of {STATES}; did you mean RUNNING?"
PARAMETER_TYPES = ("file, boolean, text, textarea, integer, floating_point, peer, license_server, "
                   "block_storage, network, ingress, workflow, modules")
LONG_MAX = 2**63 - 1
INT_MAX = 2**31 - 1


@dataclass(frozen=True)
class Documented:
    """A payload as the documentation shows it, with the schema of its type."""

    id: str
    source: str
    rendering: str
    call: str
    role: str
    schema: str
    pointer: str
    payload: Any


@dataclass(frozen=True)
class Case:
    """A document built from a documented one, with the schema it is checked against."""

    id: str
    base: str
    schema: str
    document: Any


@dataclass(frozen=True)
class Mutation(Case):
    """A document that breaks one rule: ``pointer`` and ``message`` of the one violation it must cause."""

    pointer: str = ""
    message: str = ""


# ----------------------------------------------------------------------------------------------- data files
@functools.cache
def _payload_file() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((DATA_DIR / "payloads.json").read_text(encoding="utf-8"))
    return data


def seed_flow() -> dict[str, Any]:
    """The seed's curl flow (``seed_flow.json``): six steps with commands, requests and documented answers."""
    data: dict[str, Any] = json.loads((DATA_DIR / "seed_flow.json").read_text(encoding="utf-8"))
    return data


def documented() -> list[Documented]:
    """Every documented payload, in the order of ``payloads.json``."""
    return [Documented(id=entry["id"], source=entry["source"], rendering=entry["rendering"],
                       call=entry["call"], role=entry["role"], schema=entry["schema"],
                       pointer=entry["pointer"], payload=copy.deepcopy(entry["payload"]))
            for entry in _payload_file()["payloads"]]


def payload(payload_id: str) -> Any:
    """A fresh copy of the documented payload with this id."""
    for entry in _payload_file()["payloads"]:
        if entry["id"] == payload_id:
            return copy.deepcopy(entry["payload"])
    raise KeyError(f"no documented payload {payload_id!r}")


def _schema_of(payload_id: str) -> str:
    for entry in _payload_file()["payloads"]:
        if entry["id"] == payload_id:
            return str(entry["schema"])
    raise KeyError(f"no documented payload {payload_id!r}")


# ----------------------------------------------------------------------------------------------- building
_DELETE = object()


def _parts(pointer: str) -> list[str]:
    if pointer and not pointer.startswith("/"):
        raise ValueError(f"not a JSON pointer: {pointer!r}")
    return [part.replace("~1", "/").replace("~0", "~") for part in pointer.split("/")[1:]]


def set_at(document: Any, pointer: str, value: Any) -> Any:
    """``document`` with the value at ``pointer`` replaced (or removed, for the module's delete marker)."""
    parts = _parts(pointer)
    if not parts:
        return value
    parent = document
    for part in parts[:-1]:
        parent = parent[int(part)] if isinstance(parent, list) else parent[part]
    last = parts[-1]
    key: int | str = int(last) if isinstance(parent, list) else last
    if value is _DELETE:
        del parent[key]
    else:
        parent[key] = value
    return document


def _case(case_id: str, base: str, pointer: str, value: Any) -> Case:
    document = set_at(payload(base), pointer, value)
    return Case(id=case_id, base=base, schema=_schema_of(base), document=document)


def _break(case_id: str, base: str, pointer: str, value: Any, message: str, *,
           where: str | None = None) -> Mutation:
    """A mutation setting ``pointer`` of ``base`` to ``value``; the violation is at ``where`` (or there)."""
    document = set_at(payload(base), pointer, value)
    return Mutation(id=case_id, base=base, schema=_schema_of(base), document=document,
                    pointer=pointer if where is None else where, message=message)


def _missing(case_id: str, base: str, pointer: str) -> Mutation:
    return _break(case_id, base, pointer, _DELETE, "required field is missing")


def _items(base: str, count: int) -> dict[str, Any]:
    """``base`` (a bulk request) with its first item repeated ``count`` times."""
    document = payload(base)
    document["items"] = [copy.deepcopy(document["items"][0]) for _ in range(count)]
    return dict(document)


def _bulk(case_id: str, base: str, count: int, message: str) -> Mutation:
    document = _items(base, count)
    return Mutation(id=case_id, base=base, schema=_schema_of(base), document=document, pointer="/items",
                    message=message)


def _not_type(value: Any, expected: str) -> str:
    shown = repr(value) if isinstance(value, str) else json.dumps(value)
    return f"{shown} is not of type {expected}"


# ----------------------------------------------------------------------------------------------- the corpus
def mutations() -> list[Mutation]:
    """Documents that break exactly one rule each, with the pointer and message of the violation."""
    spec = "/specification"
    item = "/items/0"
    name_rule = "^[A-Za-z0-9_ ():-]+$"
    cases = [
        # Job, as the seed retrieved it (2021 era)
        _break("job: id given as a number", JOB_2021, "/id", 62348, "62348 is not of type string"),
        _missing("job: id missing", JOB_2021, "/id"),
        _missing("job: owner missing", JOB_2021, "/owner"),
        _missing("job: createdBy missing", JOB_2021, "/owner/createdBy"),
        _missing("job: status.state missing", JOB_2021, "/status/state"),
        _break("job: unknown state", JOB_2021, "/status/state", "RUNNIN", STATE_TYPO),
        _break("job: state in lower case", JOB_2021, "/status/state", "running",
               f"'running' is not one of {STATES}; did you mean RUNNING?"),
        _break("job: unknown state in an update", JOB_2021, "/updates/1/state", "RUNNIN",
               STATE_TYPO),
        _break("job: updates not an array", JOB_2021, "/updates", {}, "an object is not of type array"),
        _break("job: createdAt as a string", JOB_2021, "/createdAt", "1633329776235",
               _not_type("1633329776235", "integer")),
        _break("job: createdAt 2**63", JOB_2021, "/createdAt", LONG_MAX + 1,
               f"{LONG_MAX + 1} is greater than the maximum of {LONG_MAX}"),
        _break("job: createdAt a fraction", JOB_2021, "/createdAt", 1633329776235.5,
               "1633329776235.5 is not of type integer"),
        _break("job: createdAt a boolean", JOB_2021, "/createdAt", True, "true is not of type integer"),
        _break("job: expiresAt as a string", JOB_2021, "/status/expiresAt", "1633347776235",
               _not_type("1633347776235", "integer or null")),
        _break("job: expiresAt 2**63", JOB_2021, "/status/expiresAt", LONG_MAX + 1,
               f"{LONG_MAX + 1} is greater than the maximum of {LONG_MAX}"),
        _break("job: update timestamp as a string", JOB_2021, "/updates/0/timestamp", "1633329776235",
               _not_type("1633329776235", "integer or null")),
        _break("job: minutes = 60", JOB_2021, f"{spec}/timeAllocation/minutes", 60,
               "60 is greater than the maximum of 59"),
        _break("job: seconds = 60", JOB_2021, f"{spec}/timeAllocation/seconds", 60,
               "60 is greater than the maximum of 59"),
        _break("job: negative hours", JOB_2021, f"{spec}/timeAllocation/hours", -1,
               "-1 is less than the minimum of 0"),
        _break("job: replicas 0", JOB_2021, f"{spec}/replicas", 0, "0 is less than the minimum of 1"),
        _break("job: name with a bad character", JOB_2021, f"{spec}/name", "my job!",
               f"'my job!' does not match {name_rule}"),
        _break("job: application version missing", JOB_2021, f"{spec}/application/version", _DELETE,
               "required field is missing"),
        _break("job: unknown permission", JOB_2021, "/permissions", {"myself": ["WRITE"], "others": None},
               "'WRITE' is not one of READ, EDIT, ADMIN, PROVIDER", where="/permissions/myself/0"),
        _break("job: project as a number", JOB_2021, "/owner/project", 1, "1 is not of type string or null"),
        _break("job: billing as a string", JOB_2021, "/billing", "free", "'free' is not of type object"),
        # Job, 2024 era
        _break("job 2024: allowRestart as a string", JOB_2024, "/status/allowRestart", "false",
               _not_type("false", "boolean or null")),
        _break("job 2024: newTimeAllocation as a string", JOB_2024, "/updates/0/newTimeAllocation", "3600000",
               _not_type("3600000", "integer or null")),
        _break("job 2024: a mount given as a number", JOB_2024, "/updates/0/newMounts", [1],
               "1 is not of type string", where="/updates/0/newMounts/0"),
        _break("job 2024: sshEnabled as a string", JOB_2024, f"{spec}/sshEnabled", "yes",
               _not_type("yes", "boolean or null")),
        # Job, as UCloud sends it to the provider (parameters, resolved product and support)
        _break("provider job: unknown AppParameterValue type", JOB_PROVIDER, f"{spec}/parameters/debug/type",
               "bool", f"'bool' is not one of {PARAMETER_TYPES}; did you mean boolean?"),
        # Found by Schemathesis: a discriminator that is not a string once crashed the explanation.
        _break("provider job: AppParameterValue type given as an object", JOB_PROVIDER,
               f"{spec}/parameters/debug/type", {"a": 1}, f"an object is not one of {PARAMETER_TYPES}"),
        _missing("provider job: AppParameterValue type missing", JOB_PROVIDER,
                 f"{spec}/parameters/debug/type"),
        _missing("provider job: AppParameterValue value missing", JOB_PROVIDER,
                 f"{spec}/parameters/debug/value"),
        _break("provider job: boolean parameter given as text", JOB_PROVIDER,
               f"{spec}/parameters/debug/value", "true", _not_type("true", "boolean")),
        _break("provider job: unknown resource type", JOB_PROVIDER, f"{spec}/resources",
               [{"type": "disk", "id": "1"}], f"'disk' is not one of {PARAMETER_TYPES}",
               where=f"{spec}/resources/0/type"),
        _break("provider job: product type in lower case", JOB_PROVIDER,
               "/status/resolvedProduct/productType", "compute",
               "'compute' is not one of STORAGE, COMPUTE, INGRESS, LICENSE, NETWORK_IP; did you mean COMPUTE?"),
        _break("provider job: docker support flag as a string", JOB_PROVIDER,
               "/status/resolvedSupport/support/docker/enabled", "yes", _not_type("yes", "boolean or null")),
        # jobs.create request
        _bulk("create: 0 items", CREATE, 0, "0 items, fewer than the minimum of 1"),
        _bulk("create: 1001 items", CREATE, 1001, "1001 items, more than the maximum of 1000"),
        _missing("create: items missing", CREATE, "/items"),
        _missing("create: application missing", CREATE, f"{item}/application"),
        _missing("create: product provider missing", CREATE, f"{item}/product/provider"),
        _break("create: product id as a number", CREATE, f"{item}/product/id", 1, "1 is not of type string"),
        _break("create: name with a bad character", CREATE, f"{item}/name", "job #1",
               f"'job #1' does not match {name_rule}"),
        _break("create: name of 201 characters", CREATE, f"{item}/name", "a" * 201,
               "201 characters, more than the maximum of 200"),
        _break("create: name with a trailing newline", CREATE, f"{item}/name", "my job\n",
               "'my job\\n' must not contain a line break"),
        _break("create: name with a non-ASCII letter", CREATE, f"{item}/name", "jøb",
               f"'jøb' does not match {name_rule}"),
        _break("create: replicas 0", CREATE, f"{item}/replicas", 0, "0 is less than the minimum of 1"),
        _break("create: replicas as a string", CREATE, f"{item}/replicas", "1",
               _not_type("1", "integer or null")),
        _break("create: replicas above Int", CREATE, f"{item}/replicas", INT_MAX + 1,
               f"{INT_MAX + 1} is greater than the maximum of {INT_MAX}"),
        _break("create: minutes = 60", CREATE, f"{item}/timeAllocation/minutes", 60,
               "60 is greater than the maximum of 59"),
        _break("create: seconds = 60", CREATE, f"{item}/timeAllocation/seconds", 60,
               "60 is greater than the maximum of 59"),
        _break("create: negative hours", CREATE, f"{item}/timeAllocation/hours", -5,
               "-5 is less than the minimum of 0"),
        _break("create: hours above Int", CREATE, f"{item}/timeAllocation/hours", INT_MAX + 1,
               f"{INT_MAX + 1} is greater than the maximum of {INT_MAX}"),
        _missing("create: seconds missing", CREATE, f"{item}/timeAllocation/seconds"),
        _break("create: allowDuplicateJob as a string", CREATE, f"{item}/allowDuplicateJob", "false",
               _not_type("false", "boolean or null")),
        _break("create: parameters as an array", CREATE, f"{item}/parameters", [],
               "an array of 0 items is not of type object or null"),
        # jobs.create response
        _break("created: id given as a number", CREATED, "/responses/0/id", 62348,
               "62348 is not of type string"),
        _missing("created: responses missing", CREATED, "/responses"),
        # jobs.retrieve request (as the TypeScript rendering shows it)
        _break("retrieve: id given as a number", RETRIEVE, "/id", 62348, "62348 is not of type string"),
        _missing("retrieve: id missing", RETRIEVE, "/id"),
        _break("retrieve: flag as the string 'false'", RETRIEVE, "/flags/includeProduct", "false",
               _not_type("false", "boolean or null")),
        _break("retrieve: unknown filterState", RETRIEVE, "/flags/filterState", "RUNNIN",
               STATE_TYPO),
        _break("retrieve: filterCreatedAfter as a string", RETRIEVE, "/flags/filterCreatedAfter",
               "1633329776235", _not_type("1633329776235", "integer or null")),
        # jobs.extend request and response
        _bulk("extend: 0 items", EXTEND, 0, "0 items, fewer than the minimum of 1"),
        _bulk("extend: 1001 items", EXTEND, 1001, "1001 items, more than the maximum of 1000"),
        _break("extend: jobId given as a number", EXTEND, f"{item}/jobId", 62348,
               "62348 is not of type string"),
        _break("extend: id instead of jobId", EXTEND, item,
               {"id": "62348", "requestedTime": {"hours": 1, "minutes": 0, "seconds": 0}},
               "required field is missing", where=f"{item}/jobId"),
        _missing("extend: requestedTime missing", EXTEND, f"{item}/requestedTime"),
        _break("extend: minutes = 60", EXTEND, f"{item}/requestedTime/minutes", 60,
               "60 is greater than the maximum of 59"),
        _break("extend: seconds = 60", EXTEND, f"{item}/requestedTime/seconds", 60,
               "60 is greater than the maximum of 59"),
        _break("extend: negative hours", EXTEND, f"{item}/requestedTime/hours", -1,
               "-1 is less than the minimum of 0"),
        _break("extend: negative minutes", EXTEND, f"{item}/requestedTime/minutes", -1,
               "-1 is less than the minimum of 0"),
        _break("extend: hours as a string", EXTEND, f"{item}/requestedTime/hours", "1",
               _not_type("1", "integer")),
        _break("extend: minutes a fraction", EXTEND, f"{item}/requestedTime/minutes", 0.5,
               "0.5 is not of type integer"),
        _break("extended: a response entry that is not an object", EXTENDED, "/responses/0", 1,
               "1 is not of type object or null"),
        # jobs.terminate request (the same body as suspend and unsuspend)
        _bulk("terminate: 0 items", TERMINATE, 0, "0 items, fewer than the minimum of 1"),
        _bulk("terminate: 1001 items", TERMINATE, 1001, "1001 items, more than the maximum of 1000"),
        _break("terminate: id given as a number", TERMINATE, f"{item}/id", 62348,
               "62348 is not of type string"),
        _missing("terminate: id missing", TERMINATE, f"{item}/id"),
        _break("terminate: items not an array", TERMINATE, "/items", {"id": "62348"},
               "an object is not of type array"),
        # JobUpdate (jobs.control.update) and ComputeSupport (retrieveProducts)
        _break("update: unknown state", UPDATE, "/state", "RUNNIN", STATE_TYPO),
        _break("update: timestamp as a string", UPDATE, "/timestamp", "0", _not_type("0", "integer or null")),
        _break("update: expectedDifferentState as a string", UPDATE, "/expectedDifferentState", "true",
               _not_type("true", "boolean or null")),
        _missing("support: product missing", SUPPORT, "/product"),
        _break("support: timeExtension as a string", SUPPORT, "/docker/timeExtension", "yes",
               _not_type("yes", "boolean or null")),
    ]
    return cases


def accepted() -> list[Case]:
    """Documents at the edge of a rule, on the allowed side: each must validate."""
    item = "/items/0"
    return [
        _case("create: name of 200 characters", CREATE, f"{item}/name", "a" * 200),
        _case("create: name of every allowed character", CREATE, f"{item}/name", "Az09_ ():-"),
        _case("create: minutes and seconds 59", CREATE, f"{item}/timeAllocation",
              {"hours": 0, "minutes": 59, "seconds": 59}),
        _case("create: hours at the top of Int", CREATE, f"{item}/timeAllocation/hours", INT_MAX),
        _case("create: no time allocation", CREATE, f"{item}/timeAllocation", None),
        _case("create: replicas 1000", CREATE, f"{item}/replicas", 1000),
        _case("create: only application and product", CREATE, item,
              {"application": {"name": "acme-web-application", "version": "1.0.0"},
               "product": {"id": "example-compute", "category": "example-compute", "provider": "example"}}),
        _case("create: an unknown key (UCloud ignores it)", CREATE, f"{item}/colour", "blue"),
        Case(id="create: 1000 items", base=CREATE, schema=_schema_of(CREATE),
             document=_items(CREATE, 1000)),
        Case(id="terminate: 1000 items", base=TERMINATE, schema=_schema_of(TERMINATE),
             document=_items(TERMINATE, 1000)),
        _case("extend: zero time", EXTEND, f"{item}/requestedTime", {"hours": 0, "minutes": 0, "seconds": 0}),
        _case("job: createdAt at the top of Long", JOB_2021, "/createdAt", LONG_MAX),
        _case("job: createdAt with a zero fraction (JSON Schema counts it as an integer)", JOB_2021,
              "/createdAt", 1633329776235.0),
        _case("job: every state", JOB_2021, "/updates",
              [{"state": state, "timestamp": 1633329776235} for state in STATES.split(", ")]),
        _case("job: an empty update (every field is optional)", JOB_2021, "/updates", [{}]),
        _case("job: permissions of the owner, as K24 fills them", JOB_2021, "/permissions",
              {"myself": ["ADMIN", "READ", "EDIT"], "others": None}),
        _case("created: a refused job (null entry)", CREATED, "/responses", [{"id": "62348"}, None]),
    ]


def all_documents() -> list[tuple[str, str, Any]]:
    """``(id, schema, document)`` of the whole corpus: documented, accepted and mutated documents."""
    return ([(entry.id, entry.schema, entry.payload) for entry in documented()]
            + [(case.id, case.schema, case.document) for case in accepted()]
            + [(case.id, case.schema, case.document) for case in mutations()])
