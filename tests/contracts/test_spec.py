"""The OpenAPI document itself: valid, faithful to UCloud's calls, consistent, and mirrored without drift.

Expected operations, paths and body types are UCloud's, copied from the reference (REFERENCE.md §1 and §2);
every other expectation is read from the spec.
"""

from __future__ import annotations

import copy
import errno
import importlib.util
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource

from contracts import ContractError, Spec, default_contract, default_spec
from contracts.spec import Operation
from tests.contracts.corpus import payload

ROOT = Path(__file__).resolve().parents[2]
SPEC_PATH = ROOT / "openapi" / "jobs.yaml"
SCHEMAS_DIR = ROOT / "openapi" / "schemas"

# REFERENCE.md §2: operationId -> (method, path, request body schema, 200 response schema).
OPERATIONS: dict[str, tuple[str, str, str | None, str]] = {
    "jobs.create": ("POST", "/api/jobs", "BulkRequest_JobSpecification", "BulkResponse_FindByStringId"),
    "jobs.retrieve": ("GET", "/api/jobs/retrieve", None, "Job"),
    "jobs.browse": ("GET", "/api/jobs/browse", None, "PageV2_Job"),
    "jobs.search": ("POST", "/api/jobs/search", "ResourceSearchRequest_JobIncludeFlags", "PageV2_Job"),
    "jobs.extend": ("POST", "/api/jobs/extend", "BulkRequest_JobsExtendRequestItem", "BulkResponse_Unit"),
    "jobs.terminate": ("POST", "/api/jobs/terminate", "BulkRequest_FindByStringId", "BulkResponse_Unit"),
    "jobs.suspend": ("POST", "/api/jobs/suspend", "BulkRequest_FindByStringId", "BulkResponse_Unit"),
    "jobs.unsuspend": ("POST", "/api/jobs/unsuspend", "BulkRequest_FindByStringId", "BulkResponse_Unit"),
    "jobs.openInteractiveSession": ("POST", "/api/jobs/interactiveSession",
                                    "BulkRequest_JobsOpenInteractiveSessionRequestItem",
                                    "BulkResponse_OpenSessionWithProvider"),
    "jobs.retrieveProducts": ("GET", "/api/jobs/retrieveProducts", None,
                              "SupportByProvider_Product.Compute_ComputeSupport"),
    "jobs.retrieveUtilization": ("GET", "/api/jobs/retrieveUtilization", None, "JobsRetrieveUtilizationResponse"),
    "jobs.updateAcl": ("POST", "/api/jobs/updateAcl", "BulkRequest_UpdatedAcl", "BulkResponse_Unit"),
    "jobs.init": ("POST", "/api/jobs/init", "Unit", "Unit"),
}

# REFERENCE.md §1: the request type of each GET call, whose `flags` object is flattened into the query.
GET_REQUEST_TYPES = {
    "jobs.retrieve": "ResourceRetrieveRequest_JobIncludeFlags",
    "jobs.browse": "ResourceBrowseRequest_JobIncludeFlags",
}
# ... and what follows the flags, in declaration order.
AFTER_FLAGS = {
    "jobs.retrieve": ["id"],
    "jobs.browse": ["itemsPerPage", "next", "consistency", "itemsToSkip", "sortBy", "sortDirection"],
}

# Issue 2 §3: the types the contract must name (UCloud's names; generics spelled with `_`).
REQUIRED_SCHEMAS = [
    "Job", "JobSpecification", "JobStatus", "JobState", "JobUpdate", "JobIncludeFlags", "JobOutput",
    "SimpleDuration", "NameAndVersion", "ProductReference", "ResourceOwner", "ResourcePermissions",
    "ResourceAclEntry", "AclEntity", "Permission", "AppParameterValue", "FindByStringId",
    "JobsExtendRequestItem",
    "BulkRequest_JobSpecification", "BulkRequest_JobsExtendRequestItem", "BulkRequest_FindByStringId",
    "BulkResponse_FindByStringId", "BulkResponse_Unit", "PageV2_Job", "CommonErrorMessage",
]

HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
ANNOTATIONS = {"description", "$comment", "title", "examples", "deprecated"}
NO_VALIDATOR = "openapi-spec-validator is not installed"


@pytest.fixture(scope="module")
def spec() -> Spec:
    """The bundled spec, as the library loads it."""
    return default_spec()


@pytest.fixture(scope="module")
def generator() -> ModuleType:
    """``scripts/generate_schemas.py``, imported from its file."""
    script = ROOT / "scripts" / "generate_schemas.py"
    module_spec = importlib.util.spec_from_file_location("generate_schemas", script)
    assert module_spec is not None
    assert module_spec.loader is not None
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[module_spec.name] = module
    module_spec.loader.exec_module(module)
    return module


def _walk(node: Any, pointer: str = "") -> Iterator[tuple[str, Any]]:
    yield pointer, node
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _walk(value, f"{pointer}/{str(key).replace('~', '~0').replace('/', '~1')}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _walk(value, f"{pointer}/{index}")


def _follow(document: Any, ref: str) -> Any:
    assert ref.startswith("#/"), f"{ref!r} is not a local reference"
    node = document
    for escaped in ref[2:].split("/"):
        part = escaped.replace("~1", "/").replace("~0", "~")
        node = node[int(part)] if isinstance(node, list) else node[part]
    return node


# ------------------------------------------------------------------------------------------- OpenAPI validity


def test_spec_passes_openapi_spec_validator(spec: Spec) -> None:
    validator = pytest.importorskip("openapi_spec_validator", reason=NO_VALIDATOR)
    validator.validate(spec.document)


def test_openapi_spec_validator_rejects_a_broken_copy(spec: Spec) -> None:
    validator = pytest.importorskip("openapi_spec_validator", reason=NO_VALIDATOR)
    broken = copy.deepcopy(spec.document)
    del broken["paths"]["/api/jobs"]["post"]["responses"]
    broken["components"]["schemas"]["Job"]["required"] = "id"
    with pytest.raises(Exception, match=r"responses|required"):
        validator.validate(broken)


def test_every_ref_resolves(spec: Spec) -> None:
    refs = [(pointer, node["$ref"]) for pointer, node in _walk(spec.document)
            if isinstance(node, dict) and isinstance(node.get("$ref"), str)]
    refs += [(pointer, target) for pointer, node in _walk(spec.document)
             if pointer.endswith("/discriminator") for target in node.get("mapping", {}).values()]
    assert len(refs) > 100
    broken = []
    for pointer, ref in refs:
        try:
            _follow(spec.document, ref)
        except (KeyError, IndexError, ValueError, AssertionError):
            broken.append(f"{pointer}: {ref}")
    assert broken == []


def test_required_schemas_exist(spec: Spec) -> None:
    assert [name for name in REQUIRED_SCHEMAS if name not in spec.schemas] == []


def test_every_schema_has_a_description(spec: Spec) -> None:
    # `ucloud-jobs schemas --describe` and the generated files show it; a schema without one says nothing.
    undescribed = [name for name, schema in spec.schemas.items()
                   if not isinstance(schema.get("description"), str) or not schema["description"].strip()]
    assert undescribed == []


@pytest.mark.parametrize("name", ["AppParameterValue", "AclEntity"])
def test_discriminated_unions_are_consistent(spec: Spec, name: str) -> None:
    union = spec.schema(name)
    variants = [branch["$ref"] for branch in union["oneOf"]]
    mapping = union["discriminator"]["mapping"]
    assert sorted(mapping.values()) == sorted(variants)
    for tag, ref in mapping.items():
        variant = _follow(spec.document, ref)
        assert variant["properties"]["type"] == {"const": tag}, ref
        assert "type" in variant["required"], ref


def test_bearer_security_applies_to_every_operation(spec: Spec) -> None:
    scheme = spec.document["components"]["securitySchemes"]["bearerAuth"]
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")
    assert spec.document["security"] == [{"bearerAuth": []}]
    overrides = [pointer for pointer, node in _walk(spec.document["paths"])
                 if isinstance(node, dict) and "operationId" in node and "security" in node]
    assert overrides == []


# ---------------------------------------------------------------------------------------------- operations


def test_operations_are_exactly_the_ucloud_calls(spec: Spec) -> None:
    assert sorted(spec.operations) == sorted(OPERATIONS), "update OPERATIONS when the mock serves a new call"


@pytest.mark.parametrize("operation_id", sorted(OPERATIONS))
def test_operation_method_path_and_bodies(spec: Spec, operation_id: str) -> None:
    method, path, request, response = OPERATIONS[operation_id]
    operation = spec.operation(operation_id)
    assert (operation.method, operation.path) == (method, path)
    assert operation.request_schema == request
    assert operation.response_schema(200) == response


def _non_null(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` without its null alternative and its annotations, to compare a field with a parameter."""
    schema = {k: v for k, v in schema.items() if k not in ANNOTATIONS}
    if "anyOf" in schema:
        branches = [b for b in schema["anyOf"] if b != {"type": "null"}]
        if len(branches) == 1 and len(branches) < len(schema["anyOf"]):
            rest = {k: v for k, v in schema.items() if k != "anyOf"}
            return _non_null({**rest, **branches[0]})
    if isinstance(schema.get("type"), list) and "null" in schema["type"]:
        types = [t for t in schema["type"] if t != "null"]
        schema["type"] = types[0] if len(types) == 1 else types
    return schema


def _settle(spec: Spec, schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` with references followed and the null alternative dropped, until nothing changes."""
    while True:
        settled = _non_null(spec.resolve(schema))
        if settled == schema:
            return settled
        schema = settled


def _flattened(spec: Spec, request_type: str) -> list[tuple[str, dict[str, Any], bool]]:
    """The query parameters a GET request type becomes: ``flags`` flattened in place, in declaration order."""
    request = spec.schema(request_type)
    flattened = []
    for name, field in request["properties"].items():
        if name == "flags":
            flags = spec.resolve(field)
            flattened += [(flag, _settle(spec, s), False) for flag, s in flags["properties"].items()]
        else:
            flattened.append((name, _settle(spec, field), name in request.get("required", [])))
    return flattened


@pytest.mark.parametrize("operation_id", sorted(GET_REQUEST_TYPES))
def test_get_parameters_are_the_flattened_request(spec: Spec, operation_id: str) -> None:
    operation = spec.operation(operation_id)
    flag_names = list(spec.schema("JobIncludeFlags")["properties"])
    names = [parameter.name for parameter in operation.parameters]
    assert names == flag_names + AFTER_FLAGS[operation_id]
    raw_parameters = spec.document["paths"][operation.path]["get"]["parameters"]
    assert all(spec.resolve(p)["in"] == "query" for p in raw_parameters)

    expected = _flattened(spec, GET_REQUEST_TYPES[operation_id])
    actual = [(p.name, _settle(spec, p.schema), p.required) for p in operation.parameters]
    assert actual == expected


def test_non_null_comparison_sees_a_changed_type() -> None:
    assert _non_null({"type": ["string", "null"], "description": "x"}) == {"type": "string"}
    assert _non_null({"anyOf": [{"$ref": "#/components/schemas/Long"}, {"type": "null"}]}) == \
        {"$ref": "#/components/schemas/Long"}
    assert _non_null({"type": ["integer", "null"]}) != _non_null({"type": "string"})


def _error_statuses(operation: Operation) -> list[str]:
    return [s for s in operation.documented_statuses if s == "default" or int(s) >= 400]


@pytest.mark.parametrize("operation_id", sorted(OPERATIONS))
def test_every_error_response_is_a_common_error_message(spec: Spec, operation_id: str) -> None:
    operation = spec.operation(operation_id)
    raw = spec.document["paths"][operation.path][operation.method.lower()]["responses"]
    # every documented status has a JSON body (a response without one would be missing from response_schemas)
    assert sorted(operation.response_schemas) == sorted(str(status) for status in raw)
    errors = _error_statuses(operation)
    assert {"401", "403", "default"} <= set(errors)
    if operation.parameters or operation.request_schema is not None:  # a request with an input can be malformed
        assert "400" in errors
    if operation.method == "POST":
        assert "413" in errors, "a POST body can be too large"
    if operation_id in {"jobs.retrieve", "jobs.extend", "jobs.terminate", "jobs.suspend", "jobs.unsuspend",
                        "jobs.openInteractiveSession", "jobs.retrieveUtilization", "jobs.updateAcl"}:
        assert "404" in errors, "a call naming a job answers 404 for an unknown one"
    assert {status: operation.response_schemas[status] for status in errors} == \
        dict.fromkeys(errors, "CommonErrorMessage")


# ---------------------------------------------------------------------------------------------- links


def _schema_at(spec: Spec, schema: dict[str, Any], pointer: str) -> dict[str, Any]:
    """The schema of the value at JSON ``pointer`` in a ``schema`` document (through $ref and nullables)."""
    node = _settle(spec, schema)
    for part in filter(None, pointer.split("/")):
        if part.isdigit():
            assert node.get("type") == "array", f"{pointer}: {part} indexes a non-array"
            node = _settle(spec, node["items"])
        else:
            assert part in node.get("properties", {}), f"{pointer}: no property {part!r}"
            node = _settle(spec, node["properties"][part])
    return node


def _links() -> list[tuple[str, str, str, dict[str, Any]]]:
    links = []
    for operation_id in sorted(OPERATIONS):
        operation = default_spec().operation(operation_id)
        raw = default_spec().document["paths"][operation.path][operation.method.lower()]
        for status, response in raw["responses"].items():
            for name, link in default_spec().resolve(response).get("links", {}).items():
                links.append((operation_id, str(status), name, link))
    return links


def test_create_links_to_the_calls_that_take_its_id() -> None:
    targets = {(source, link["operationId"]) for source, _, _, link in _links()}
    assert {("jobs.create", target) for target in
            ["jobs.retrieve", "jobs.extend", "jobs.terminate", "jobs.suspend", "jobs.unsuspend"]} <= targets


def _expressions(node: Any) -> Iterator[tuple[str, str]]:
    for pointer, value in _walk(node):
        if isinstance(value, str) and value.startswith("$"):
            yield pointer, value


@pytest.mark.parametrize(("source", "status", "name", "link"), _links(),
                         ids=[f"{s}-{st}-{n}" for s, st, n, _ in _links()])
def test_link_names_an_operation_and_points_into_the_response(
    spec: Spec, source: str, status: str, name: str, link: dict[str, Any]
) -> None:
    assert "operationId" in link, f"{source} link {name}: use operationId"
    target = spec.operation(link["operationId"])
    response_schema = spec.schema(spec.operation(source).response_schema(int(status)))

    def check(expression: str) -> None:
        prefix = "$response.body#"
        assert expression.startswith(prefix), f"{expression}: only response-body expressions are used"
        assert _schema_at(spec, response_schema, expression[len(prefix):]).get("type") == "string", \
            f"{expression} does not reach an id (a string)"

    parameter_names = {p.name for p in target.parameters}
    for key, expression in link.get("parameters", {}).items():
        assert key.split(".", 1)[-1] in parameter_names, f"{target.operation_id} has no parameter {key}"
        check(expression)

    if "requestBody" in link:
        body = link["requestBody"]
        found = list(_expressions(body))
        assert found, "a link body without an expression sends nothing from the response"
        for _, expression in found:
            check(expression)
        # the body, with each expression replaced by an id, is a valid request of the target
        filled = json.loads(json.dumps(body), object_hook=lambda o: {
            k: ("62348" if isinstance(v, str) and v.startswith("$") else v) for k, v in o.items()})
        assert target.request_schema is not None
        default_contract().validate(filled, target.request_schema)


# ---------------------------------------------------------------------------------------------- loading


def test_load_of_a_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "missing.yaml"
    with pytest.raises(ContractError) as raised:
        Spec.load(path)
    assert str(raised.value) == f"cannot read the OpenAPI document {path}: {os.strerror(errno.ENOENT)}"


def test_load_of_a_file_that_is_not_yaml(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("openapi: [3.1.0\npaths: {}\n", encoding="utf-8")
    with pytest.raises(ContractError, match=r"^the OpenAPI document .*broken\.yaml is not valid YAML: "):
        Spec.load(path)


@pytest.mark.parametrize("text", ["- a\n- list\n", "just: a mapping\n", "42\n", ""])
def test_load_of_a_file_that_is_not_openapi(tmp_path: Path, text: str) -> None:
    path = tmp_path / "other.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ContractError) as raised:
        Spec.load(path)
    assert str(raised.value) == f"{path} is not an OpenAPI document (it has no 'paths' and 'components')"


def test_spec_and_validators_are_cached() -> None:
    assert default_spec() is default_spec()
    assert default_contract() is default_contract()
    contract = default_contract()
    assert contract.validator("Job") is contract.validator("Job")
    assert contract.validator("PageV2<Job>") is contract.validator("PageV2_Job")


# ------------------------------------------------------------------------------------------ generated schemas


def test_generated_schema_files_match_the_spec(spec: Spec, generator: ModuleType) -> None:
    expected: dict[str, str] = generator.render_schema_files(spec.document)
    committed = {p.name: p.read_text(encoding="utf-8") for p in SCHEMAS_DIR.iterdir() if p.is_file()}
    hint = "run: python scripts/generate_schemas.py"
    assert sorted(committed) == sorted(expected), hint
    assert [name for name in expected if committed[name] != expected[name]] == [], hint
    assert sorted(expected) == sorted([f"{name}.json" for name in spec.schemas] + ["README.md"])


def test_generator_check_mode_reports_drift(generator: ModuleType, tmp_path: Path) -> None:
    assert generator.main(["--out", str(tmp_path)]) == 0
    assert generator.main(["--out", str(tmp_path), "--check"]) == 0
    (tmp_path / "Stale.json").write_text("{}\n", encoding="utf-8")
    (tmp_path / "Job.json").write_text("{}\n", encoding="utf-8")
    assert generator.main(["--out", str(tmp_path), "--check"]) == 1
    assert generator.main(["--out", str(tmp_path)]) == 0
    assert not (tmp_path / "Stale.json").exists()
    assert generator.main(["--out", str(tmp_path), "--check"]) == 0


def _schema_files() -> dict[str, dict[str, Any]]:
    return {p.stem: json.loads(p.read_text(encoding="utf-8")) for p in sorted(SCHEMAS_DIR.glob("*.json"))}


def test_generated_files_are_standalone_draft_2020_12() -> None:
    for name, schema in _schema_files().items():
        Draft202012Validator.check_schema(schema)
        assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema", name
        assert schema["$id"] == f"https://ucloud-jobs-contract.invalid/schemas/{name}.json", name
        assert schema["title"] == name
        refs = [node["$ref"] for _, node in _walk(schema) if isinstance(node, dict) and "$ref" in node]
        assert all(ref == "#" or ref.startswith("#/$defs/") for ref in refs), name
        for ref in refs:
            if ref != "#":
                _follow(schema, ref)


# The seed's first retrieved Job (the 2021 shape, with acl and billing), as scripts/extract_docs.py extracted it.
SEED_JOB: dict[str, Any] = payload("seed-extend-and-terminate.md:curl:2:jobs.retrieve:response")


def _with(document: dict[str, Any], pointer: str, value: Any) -> dict[str, Any]:
    changed = copy.deepcopy(document)
    *path, last = pointer.strip("/").split("/")
    node: Any = changed
    for part in path:
        node = node[int(part)] if isinstance(node, list) else node[part]
    if value is _DELETE:
        del node[last]
    elif isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
    return changed


_DELETE = object()

# (schema, document, valid?) — the verdict is asserted too, so two equally wrong validators still fail.
SAMPLES: list[tuple[str, Any, bool]] = [
    ("Job", SEED_JOB, True),
    ("Job", _with(SEED_JOB, "/status/state", "RUNNIN"), False),
    ("Job", _with(SEED_JOB, "/id", 62348), False),
    ("Job", _with(SEED_JOB, "/owner", _DELETE), False),
    ("Job", _with(SEED_JOB, "/specification/timeAllocation/minutes", 60), False),
    ("Job", _with(SEED_JOB, "/specification/replicas", 0), False),
    ("Job", _with(SEED_JOB, "/createdAt", "1633329776235"), False),
    ("Job", _with(SEED_JOB, "/unknownField", "ignored"), True),
    ("PageV2_Job", {"itemsPerPage": 50, "items": [SEED_JOB], "next": None}, True),
    ("PageV2_Job", {"itemsPerPage": 50, "items": [_with(SEED_JOB, "/updates/0/state", "DONE")]}, False),
    ("SimpleDuration", {"hours": 1, "minutes": 59, "seconds": 0}, True),
    ("SimpleDuration", {"hours": -1, "minutes": 0, "seconds": 0}, False),
    ("SimpleDuration", {"hours": 1, "minutes": 0}, False),
    ("JobSpecification", _with(SEED_JOB["specification"], "/name", "My job (1): test_run-2"), True),
    ("JobSpecification", _with(SEED_JOB["specification"], "/name", "bad/name"), False),
    ("JobSpecification", _with(SEED_JOB["specification"], "/name", "x" * 201), False),
    ("JobSpecification", _with(SEED_JOB["specification"], "/parameters",
                               {"a": {"type": "file", "path": "/home"}, "b": {"type": "peer", "hostname": "h",
                                                                              "jobId": "1"}}), True),
    ("JobSpecification", _with(SEED_JOB["specification"], "/parameters", {"a": {"type": "file"}}), False),
    ("AppParameterValue", {"type": "floating_point", "value": 1.5}, True),
    ("AppParameterValue", {"type": "nonsense", "value": 1}, False),
    ("AclEntity", {"type": "project_group", "projectId": "p", "group": "g"}, True),
    ("AclEntity", {"type": "user"}, False),
    ("BulkRequest_FindByStringId", {"items": [{"id": "62348"}]}, True),
    ("BulkRequest_FindByStringId", {"items": []}, False),
    ("BulkRequest_FindByStringId", {"items": [{"id": "1"}] * 1001}, False),
    ("BulkRequest_JobsExtendRequestItem",
     {"items": [{"jobId": "62348", "requestedTime": {"hours": 1, "minutes": 0, "seconds": 0}}]}, True),
    ("BulkRequest_JobsExtendRequestItem", {"items": [{"id": "62348"}]}, False),
    ("BulkResponse_Unit", {"responses": [{}]}, True),
    ("BulkResponse_FindByStringId", {"responses": [{"id": "62348"}, None]}, True),
    ("CommonErrorMessage", {"why": "Unknown job", "errorCode": None}, True),
    ("CommonErrorMessage", {"errorCode": "X"}, False),
    ("JobIncludeFlags", {"includeProduct": False, "filterState": "RUNNING"}, True),
    ("JobIncludeFlags", {"filterState": "running"}, False),
]
GENERIC_SAMPLES: list[Any] = [None, {}, [], "text", 0, -1, 1.5, True, {"type": "file", "path": "/"}]


def _sibling_registry(files: dict[str, dict[str, Any]]) -> Registry[Any]:
    return Registry().with_resources((s["$id"], Resource.from_contents(s)) for s in files.values())


def test_generated_files_give_the_spec_verdict_on_samples() -> None:
    files = _schema_files()
    registry = _sibling_registry(files)
    contract = default_contract()
    checked = 0
    for name, document, valid in SAMPLES:
        alone = Draft202012Validator(files[name]).is_valid(document)
        by_id = Draft202012Validator({"$ref": files[name]["$id"]}, registry=registry).is_valid(document)
        from_spec = contract.is_valid(document, name, backend="jsonschema")
        assert (alone, by_id, from_spec) == (valid, valid, valid), (name, document)
        checked += 1
    for name, schema in files.items():
        for document in GENERIC_SAMPLES:
            from_spec = contract.is_valid(document, name, backend="jsonschema")
            assert Draft202012Validator(schema).is_valid(document) == from_spec, (name, document)
            checked += 1
    assert checked == len(SAMPLES) + len(files) * len(GENERIC_SAMPLES)


PAYLOADS = ROOT / "tests" / "data" / "docs" / "payloads.json"


def test_generated_files_give_the_spec_verdict_on_every_documented_payload() -> None:
    if not PAYLOADS.is_file():
        pytest.skip(f"{PAYLOADS.relative_to(ROOT)} is not there (scripts/extract_docs.py writes it)")
    files = _schema_files()
    contract = default_contract()
    payloads = json.loads(PAYLOADS.read_text(encoding="utf-8"))["payloads"]
    assert payloads
    differ = [entry["id"] for entry in payloads
              if Draft202012Validator(files[entry["schema"]]).is_valid(entry["payload"])
              != contract.is_valid(entry["payload"], entry["schema"], backend="jsonschema")]
    assert differ == []


# ---------------------------------------------------------------------------------------------- other tools


def test_schemathesis_loads_every_operation_and_link() -> None:
    schemathesis = pytest.importorskip("schemathesis", reason="schemathesis is not installed")
    schema = schemathesis.openapi.from_path(str(SPEC_PATH))
    loaded = {}
    for result in schema.get_all_operations():
        operation = result.ok()  # raises on an operation Schemathesis cannot load
        loaded[operation.definition.raw["operationId"]] = (operation.method.upper(), operation.path)
    assert loaded == {operation_id: value[:2] for operation_id, value in OPERATIONS.items()}

    machine = schema.as_state_machine()
    rules = " ".join(name for name in dir(machine) if name.startswith(("POST_", "GET_")))
    for source, status, name, _ in _links():
        assert f"_{status}_{name}__" in rules, f"Schemathesis built no transition for {source}'s link {name}"


# ---------------------------------------------------------------------------------------------- AsyncAPI

ASYNCAPI_PATH = ROOT / "openapi" / "jobs.asyncapi.yaml"
FOLLOW_SCHEMAS = ["JobsFollowResponse", "JobsLog", "WSRequest_FindByStringId", "WSMessage.Message_JobsFollowResponse",
                  "WSMessage.Response_JobsFollowResponse", "WSMessage_JobsFollowResponse"]


@pytest.fixture(scope="module")
def asyncapi() -> dict[str, Any]:
    """The AsyncAPI document beside the spec."""
    import yaml  # noqa: PLC0415

    document: dict[str, Any] = yaml.safe_load(ASYNCAPI_PATH.read_text(encoding="utf-8"))
    return document


def test_the_asyncapi_document_is_asyncapi_3_and_names_jobs_follow(asyncapi: dict[str, Any]) -> None:
    assert asyncapi["asyncapi"].startswith("3.")
    assert asyncapi["channels"]["jobs"]["address"] == "/api/jobs"  # REFERENCE.md §1: the websocket of /api/jobs
    assert list(asyncapi["operations"]) == ["jobs.follow"]
    operation = asyncapi["operations"]["jobs.follow"]
    assert operation["action"] == "receive"
    assert operation["channel"] == {"$ref": "#/channels/jobs"}
    assert operation["reply"]["channel"] == {"$ref": "#/channels/jobs"}


def test_every_ref_of_the_asyncapi_document_resolves_and_nothing_is_typed_twice(spec: Spec,
                                                                                 asyncapi: dict[str, Any]) -> None:
    refs = [(pointer, node["$ref"]) for pointer, node in _walk(asyncapi)
            if isinstance(node, dict) and isinstance(node.get("$ref"), str)]
    into_spec = [ref.split("#", 1)[1] for _, ref in refs if ref.startswith("jobs.yaml#")]
    local = [ref for _, ref in refs if ref.startswith("#/")]
    assert len(into_spec) + len(local) == len(refs), refs
    for ref in local:
        _follow(asyncapi, ref)
    for pointer in into_spec:
        assert pointer.startswith("/components/schemas/")
        _follow(spec.document, "#" + pointer)
    # Every payload is a reference into jobs.yaml: no schema is written in the AsyncAPI document itself.
    payloads = [node for pointer, node in _walk(asyncapi) if pointer.endswith("/payload")]
    assert payloads
    assert all(set(payload) == {"schemaFormat", "schema"} and set(payload["schema"]) == {"$ref"}
               for payload in payloads), payloads
    assert not [pointer for pointer, node in _walk(asyncapi)
                if isinstance(node, dict) and ("properties" in node or ("type" in node and "$ref" not in node))]


def test_the_stream_calls_are_read_from_the_asyncapi_document() -> None:
    from contracts.streams import default_streams  # noqa: PLC0415

    follow = default_streams()["jobs.follow"]
    assert (follow.address, follow.request_schema) == ("/api/jobs", "WSRequest_FindByStringId")
    assert follow.reply_schemas == ("WSMessage.Message_JobsFollowResponse", "WSMessage.Response_JobsFollowResponse")
    assert follow.frame_schema({"type": "response"}) == "WSMessage.Response_JobsFollowResponse"
    assert follow.frame_schema({"type": "message"}) == "WSMessage.Message_JobsFollowResponse"


@pytest.mark.parametrize(("schema", "document", "valid"), [
    ("JobsFollowResponse", {"updates": [], "log": [], "newStatus": None}, True),
    ("JobsFollowResponse", {}, True),  # every field is nullable in the documented type
    ("JobsFollowResponse", {"log": [{"rank": "0"}]}, False),
    ("JobsLog", {"rank": 0, "stdout": "hello\n", "stderr": None}, True),
    ("JobsLog", {"stdout": "hello\n"}, False),
    ("WSRequest_FindByStringId", {"call": "jobs.follow", "streamId": "0", "payload": {"id": "123"},
                                  "bearer": "token", "project": None, "causedBy": None, "signedIntent": None}, True),
    ("WSRequest_FindByStringId", {"call": "jobs.follow", "streamId": 0, "payload": {"id": "123"}}, False),
    ("WSRequest_FindByStringId", {"call": "jobs.follow", "streamId": "0", "payload": {}}, False),
    ("WSMessage_JobsFollowResponse", {"type": "message", "streamId": "0",
                                      "payload": {"updates": [], "log": [], "newStatus": None}}, True),
    ("WSMessage_JobsFollowResponse", {"type": "response", "streamId": "0", "payload": {}, "status": 200}, True),
    ("WSMessage_JobsFollowResponse", {"type": "response", "streamId": "0",
                                      "payload": {"why": "Unknown job", "errorCode": None}, "status": 404}, True),
    ("WSMessage_JobsFollowResponse", {"type": "response", "streamId": "0", "payload": {}, "status": 404}, False),
    ("WSMessage_JobsFollowResponse", {"type": "response", "streamId": "0", "payload": {}}, False),
    ("WSMessage_JobsFollowResponse", {"type": "other", "streamId": "0", "payload": {}}, False),
])
def test_the_frames_of_jobs_follow_validate_like_any_document(schema: str, document: Any, valid: bool) -> None:
    assert schema in FOLLOW_SCHEMAS
    assert default_contract().is_valid(document, schema) is valid
    assert default_contract().is_valid(document, schema, backend="jsonschema") is valid


def test_ucloud_jobs_validate_takes_frames(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from mockserver.cli import main  # noqa: PLC0415

    good, bad = tmp_path / "frame.json", tmp_path / "broken.json"
    good.write_text(json.dumps({"type": "response", "streamId": "0", "payload": {}, "status": 200}), encoding="utf-8")
    bad.write_text(json.dumps({"type": "message", "streamId": "0", "payload": {"log": [{"rank": -1.5}]}}),
                   encoding="utf-8")
    assert main(["validate", "--schema", "WSMessage_JobsFollowResponse", str(good)]) == 0
    assert main(["validate", "--schema", "WSMessage_JobsFollowResponse", str(bad)]) == 1
    assert "rank" in capsys.readouterr().out


def _recorded_stream() -> list[dict[str, Any]]:
    """Every frame of jobs.follow for a job that is created, runs, is extended and cancelled (ucloud profile)."""
    from mockserver.web.app import create_app  # noqa: PLC0415
    from tests.mockserver.support import QUEUE_DELAY_MS, UNSCRIPTED, ApiClient  # noqa: PLC0415

    app = create_app(scenario=UNSCRIPTED, profile="ucloud")
    client = ApiClient(app)
    job_id = client.create_job()
    stream = app.follow(job_id)
    taken = list(stream)
    app.control.advance(QUEUE_DELAY_MS)
    client.extend(job_id, hours=1)
    client.act("terminate", job_id)
    taken += list(stream)
    assert [frame["type"] for frame in taken][-1] == "response"
    return taken


def test_ucloud_jobs_validate_takes_a_recorded_stream_one_frame_per_line(tmp_path: Path,
                                                                          capsys: pytest.CaptureFixture[str]) -> None:
    from mockserver.cli import main  # noqa: PLC0415

    frames = _recorded_stream()
    assert len(frames) >= 3
    assert "initialJob" in frames[0]["payload"]
    recorded = tmp_path / "frames.jsonl"
    recorded.write_text("".join(json.dumps(frame) + "\n" for frame in frames) + "\n", encoding="utf-8")
    assert main(["validate", "--schema", "WSMessage_JobsFollowResponse", "--lines", str(recorded)]) == 0
    assert capsys.readouterr().out == f"{recorded}: valid\n"
    # Without --lines, the file is one document, and it is not one.
    assert main(["validate", "--schema", "WSMessage_JobsFollowResponse", str(recorded)]) == 1
    assert f"{recorded}:2:1: error: not JSON: Extra data" in capsys.readouterr().out


def test_a_broken_frame_is_reported_at_its_line_and_a_line_that_is_not_json_as_an_error(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from mockserver.cli import main  # noqa: PLC0415

    good = json.dumps({"type": "message", "streamId": "0", "payload": {"updates": [], "log": []}})
    bad = json.dumps({"type": "message", "streamId": "0", "payload": {"log": [{"rank": "0"}]}})
    end = json.dumps({"type": "response", "streamId": "0", "payload": {}})  # no status
    frames, broken, empty = tmp_path / "frames.jsonl", tmp_path / "broken.jsonl", tmp_path / "empty.jsonl"
    frames.write_text(f"{good}\r\n\r\n{bad}\r\n{end}", encoding="utf-8")
    broken.write_text(f'{good}\n{{"type": }}\n{bad}\n', encoding="utf-8")
    empty.write_text("\n \n", encoding="utf-8")
    arguments = ["validate", "--schema", "WSMessage_JobsFollowResponse", "--lines"]
    assert main([*arguments, str(frames), str(broken), str(empty), str(tmp_path / "missing.jsonl")]) == 1
    lines = capsys.readouterr().out.splitlines()
    rank = bad.rindex('"0"') + 1
    assert lines[0] == f"{frames}:3:{rank}: /payload/log/0/rank: '0' is not of type integer"
    assert lines[1].startswith(f"{frames}:4:1: /: ")  # the frame that ends the stream has no status
    assert lines[2:] == [f"{broken}:2:10: error: not JSON: Expecting value",
                         f"{empty}: error: not JSON Lines: it holds no document",
                         f"{tmp_path / 'missing.jsonl'}: error: cannot read: No such file or directory"]


def test_the_library_s_own_functions_take_frames() -> None:
    import contracts  # noqa: PLC0415

    contracts.validate({"updates": [], "log": [{"rank": 0, "stdout": "hi\n", "stderr": None}], "newStatus": None},
                       "JobsFollowResponse")
    with pytest.raises(contracts.ContractViolation, match=r"/log/0/rank: '0' is not of type integer"):
        contracts.validate({"log": [{"rank": "0"}]}, "JobsFollowResponse")
    with pytest.raises(contracts.ContractViolation, match=r"^WSMessage_JobsFollowResponse breaks the contract"):
        contracts.validate({"type": "response", "streamId": "0", "payload": {}},  # the end without its status
                           "WSMessage_JobsFollowResponse")
