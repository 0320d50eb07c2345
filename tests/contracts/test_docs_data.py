"""The documented payloads as data: the files match the docs, and every documented payload validates."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import contracts
from contracts.spec import canonical_schema_name, default_spec
from tests.contracts import corpus

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT.parent / "shared" / "ucloud" / "docs"
SCRIPT = ROOT / "scripts" / "extract_docs.py"
SPEC = ROOT / "openapi" / "jobs.yaml"

needs_docs = pytest.mark.skipif(
    not DOCS.is_dir(),
    reason=f"the UCloud documentation is not at {DOCS} (no ../shared here); the committed data files "
           "stand in for it",
)

T0 = 1633329776235  # createdAt of the seed's job, 2021-10-04T06:42:56.235Z
HOUR = 3_600_000


def _load_script() -> ModuleType:
    name = "extract_docs"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def extract_docs() -> ModuleType:
    return _load_script()


@pytest.fixture(scope="module")
def flow() -> dict[str, Any]:
    return corpus.seed_flow()


def _payloads(**match: str) -> list[corpus.Documented]:
    return [entry for entry in corpus.documented() if all(getattr(entry, k) == v for k, v in match.items())]


# ------------------------------------------------------------------------------------------ (a) no drift
@needs_docs
def test_data_files_equal_a_fresh_extraction(extract_docs: ModuleType) -> None:
    files = extract_docs.render(DOCS, SPEC)
    assert sorted(files) == ["flow_2024.json", "flow_history.json", "payloads.json", "seed_flow.json"]
    # type_pages.json is scripts/extract_type_pages.py's (tests/contracts/test_type_pages.py).
    committed_names = sorted(p.name for p in corpus.DATA_DIR.iterdir() if p.name != "type_pages.json")
    assert committed_names == sorted(files), "a stale or missing file in tests/data/docs"
    for name, text in files.items():
        committed = (corpus.DATA_DIR / name).read_bytes()
        assert committed == text.encode("utf-8"), \
            f"{name} differs from the docs; run python scripts/extract_docs.py"


@needs_docs
def test_check_mode_agrees_and_writing_reproduces_the_files(extract_docs: ModuleType, tmp_path: Path) -> None:
    assert extract_docs.main(["--docs", str(DOCS), "--out", str(corpus.DATA_DIR), "--check"]) == 0
    assert extract_docs.main(["--docs", str(DOCS), "--out", str(tmp_path), "--check"]) == 1
    assert extract_docs.main(["--docs", str(DOCS), "--out", str(tmp_path)]) == 0
    for name in ("flow_2024.json", "flow_history.json", "payloads.json", "seed_flow.json"):
        assert (tmp_path / name).read_bytes() == (corpus.DATA_DIR / name).read_bytes()


@needs_docs
def test_a_payload_the_contract_cannot_type_stops_the_extraction(extract_docs: ModuleType) -> None:
    without_job = set(default_spec().schema_names()) - {"Job"}
    with pytest.raises(ValueError, match=r"the response of jobs.retrieve \(Job\) has no schema in the contract"):
        extract_docs.extract(DOCS, without_job)


# ------------------------------------------------------------------------------------------ the typing rules
def test_calls_are_named_from_their_urls(extract_docs: ModuleType) -> None:
    name = extract_docs.call_from_url
    assert name("POST", "/api/jobs") == "jobs.create"
    assert name("GET", "/api/jobs/retrieve") == "jobs.retrieve"
    assert name("POST", "/api/jobs/extend") == "jobs.extend"
    assert name("POST", "/api/jobs/control/update") == "jobs.control.update"
    assert name("POST", "/ucloud/PROVIDERID/jobs") == "jobs.provider.PROVIDERID.create"
    assert name("POST", "/ucloud/PROVIDERID/jobs/verify") == "jobs.provider.PROVIDERID.verify"
    assert extract_docs.call_from_typescript("JobsApi", "terminate") == "jobs.terminate"
    with pytest.raises(ValueError, match="not a UCloud call"):
        name("GET", "/somewhere")


def test_declared_types_are_spelt_as_the_spec_spells_them(extract_docs: ModuleType) -> None:
    for declared in ("BulkRequest<JobSpecification>", "ResourceRetrieveRequest<JobIncludeFlags>", "Job",
                     "BulkResponse<ResourceUpdateAndId<JobUpdate>>"):
        assert extract_docs.schema_name(declared) == canonical_schema_name(declared)


def test_wrappers_are_unwrapped_to_the_types_the_contract_knows(extract_docs: ModuleType) -> None:
    parts = extract_docs.type_parts
    job_a, job_b = {"id": "1"}, {"id": "2"}
    assert list(parts("BulkRequest<Job>", {"items": [job_a, job_b]}, {"Job"})) == [
        ("Job", "/items/0", job_a), ("Job", "/items/1", job_b)]
    assert list(parts("BulkRequest<Job>", {"items": [job_a]}, {"Job", "BulkRequest_Job"})) == [
        ("BulkRequest_Job", "", {"items": [job_a]})]
    update = {"state": "RUNNING"}
    updates = {"items": [{"id": "1", "update": update}]}
    assert list(parts("BulkRequest<ResourceUpdateAndId<JobUpdate>>", updates, {"JobUpdate"})) == [
        ("JobUpdate", "/items/0/update", update)]
    answers = {"responses": [None, {"id": "7"}]}
    assert list(parts("BulkResponse<FindByStringId?>", answers, {"FindByStringId"})) == [
        ("FindByStringId", "/responses/1", {"id": "7"})]
    assert list(parts("BulkRequest<ResourceChargeCredits>", {"items": [{}]}, {"Job"})) == []


def test_a_curl_command_keeps_its_headers_verbatim(extract_docs: ModuleType) -> None:
    command = ('curl -XPOST -H "Authorization: Bearer $accessToken" -H "Content-Type: content-type: '
               'application/json; charset=utf-8" "$host/api/jobs/terminate" -d \'{\n  "items": []\n}\'')
    method, url, headers, body = extract_docs.parse_curl_command(command)
    assert (method, url, body) == ("POST", "$host/api/jobs/terminate", '{\n  "items": []\n}')
    assert headers == [("Authorization", "Bearer $accessToken"),
                       ("Content-Type", "content-type: application/json; charset=utf-8")]


# ------------------------------------------------------------------------------------------ (b) validation
@pytest.mark.parametrize("entry", corpus.documented(), ids=lambda entry: entry.id)
def test_documented_payload_validates(entry: corpus.Documented) -> None:
    contracts.validate(entry.payload, entry.schema)


def test_every_schema_named_in_the_data_exists() -> None:
    known = set(default_spec().schema_names())
    assert {entry.schema for entry in corpus.documented()} <= known


# ------------------------------------------------------------------------------------------ (c) sanity
def test_the_seed_flow_has_six_steps_in_order(flow: dict[str, Any]) -> None:
    steps = flow["steps"]
    assert flow["source"] == "seed-extend-and-terminate.md"
    assert flow["title"] == "Extending a Job and terminating it early"
    assert [(s["step"], s["call"], s["method"], s["path"]) for s in steps] == [
        (1, "jobs.create", "POST", "/api/jobs"),
        (2, "jobs.retrieve", "GET", "/api/jobs/retrieve"),
        (3, "jobs.extend", "POST", "/api/jobs/extend"),
        (4, "jobs.retrieve", "GET", "/api/jobs/retrieve"),
        (5, "jobs.terminate", "POST", "/api/jobs/terminate"),
        (6, "jobs.retrieve", "GET", "/api/jobs/retrieve"),
    ]
    assert {s["actor"] for s in steps} == {"user"}
    assert {s["status"] for s in steps} == {200}
    assert steps[0]["comment"].startswith("In this example we will show how a user can extend the duration")
    assert steps[5]["comment"] == "This termination is reflected in the status (and updates)"


def test_the_seed_commands_are_kept_as_written(flow: dict[str, Any]) -> None:
    auth = {"name": "Authorization", "value": "Bearer $accessToken"}
    malformed = {"name": "Content-Type", "value": "content-type: application/json; charset=utf-8"}
    for step in flow["steps"]:
        command = step["command"]
        assert command.startswith(f'curl -X{step["method"]} -H "Authorization: Bearer $accessToken" ')
        assert f'"{step["url"]}"' in command
        if step["method"] == "POST":
            assert step["headers"] == [auth, malformed]
            assert 'Content-Type: content-type: application/json; charset=utf-8' in command
            assert command.endswith(f"-d '{step['body']}'")
            assert json.loads(step["body"]) == step["request"]
            assert step["query"] == ""
        else:
            assert step["headers"] == [auth]
            assert step["body"] is None
            assert step["request"] is None
            assert step["query"] == ("includeProduct=false&includeOthers=false&includeUpdates=false"
                                     "&includeSupport=false&id=62348")


def test_the_seed_shows_the_documented_ids_and_times(flow: dict[str, Any]) -> None:
    create, first, extend, second, terminate, third = (s["response"] for s in flow["steps"])
    requests = [s["request"] for s in flow["steps"]]
    assert requests[0]["items"][0]["timeAllocation"] == {"hours": 5, "minutes": 0, "seconds": 0}
    assert create == {"responses": [{"id": "62348"}]}
    one_hour = {"hours": 1, "minutes": 0, "seconds": 0}
    assert requests[2] == {"items": [{"jobId": "62348", "requestedTime": one_hour}]}
    assert extend == terminate == {"responses": [{}]}
    assert requests[4] == {"items": [{"id": "62348"}]}

    for job in (first, second, third):
        assert job["id"] == "62348"
        assert job["createdAt"] == T0
        assert job["specification"]["timeAllocation"] == {"hours": 5, "minutes": 0, "seconds": 0}
        assert job["status"]["startedAt"] is None
    assert (first["status"]["state"], first["status"]["expiresAt"]) == ("RUNNING", 1633347776235)
    assert first["status"]["expiresAt"] == T0 + 5 * HOUR
    assert (second["status"]["state"], second["status"]["expiresAt"]) == ("RUNNING", 1633351376235)
    assert second["status"]["expiresAt"] == T0 + 6 * HOUR
    assert (third["status"]["state"], third["status"]["expiresAt"]) == ("SUCCESS", None)

    queued, running = first["updates"]
    assert (queued["state"], queued["timestamp"]) == ("IN_QUEUE", T0)
    assert (running["state"], running["timestamp"]) == ("RUNNING", T0 + 5_000)
    assert second["updates"] == first["updates"] == third["updates"][:2]
    cancelled = third["updates"][2]
    assert cancelled["state"] == "SUCCESS"
    assert cancelled["status"] == "Your job has been cancelled!"
    assert cancelled["timestamp"] == 1633336981235 == T0 + 5_000 + 2 * HOUR


def test_each_documented_era_has_its_own_shape() -> None:
    jobs = {entry.source: entry.payload for entry in _payloads(call="jobs.retrieve", role="response",
                                                              rendering="curl")}
    seed, latest = jobs["seed-extend-and-terminate.md"], jobs["reference/jobs_extendAndCancel.md"]
    assert seed["acl"] is None
    assert seed["billing"] == {}
    assert "allowRestart" not in seed["status"]
    assert "openedFile" not in seed["specification"]
    assert "newTimeAllocation" not in seed["updates"][0]
    assert "acl" not in latest
    assert "billing" not in latest
    assert latest["status"]["allowRestart"] is False
    assert {"openedFile", "restartOnExit", "sshEnabled"} <= set(latest["specification"])
    assert {"newTimeAllocation", "allowRestart", "newMounts"} <= set(latest["updates"][0])
    assert "providerGeneratedId" not in seed
    assert "providerGeneratedId" not in latest


def test_the_curl_and_typescript_renderings_agree() -> None:
    def by_step(rendering: str) -> dict[tuple[int, str], Any]:
        found = {}
        for entry in _payloads(source="seed-extend-and-terminate.md", rendering=rendering):
            step = int(entry.id.split(":")[2])
            found[(step, entry.role)] = entry.payload
        return found

    curl, typescript = by_step("curl"), by_step("typescript")
    assert len(curl) == 9  # a GET request is a query string, not a JSON payload
    assert len(typescript) == 12
    for key, value in curl.items():
        assert typescript[key] == value, key
    assert typescript[(2, "request")] == {"flags": {**typescript[(2, "request")]["flags"]}, "id": "62348"}


def test_the_payloads_cover_every_documented_flow() -> None:
    count: dict[tuple[str, str], int] = {}
    for entry in corpus.documented():
        count[(entry.source, entry.rendering)] = count.get((entry.source, entry.rendering), 0) + 1
    assert count == {
        ("reference/history/jobs_extendAndCancel.2021-10-04.9cb75f2110.md", "curl"): 9,
        ("reference/history/jobs_extendAndCancel.2021-10-04.9cb75f2110.md", "typescript"): 12,
        ("reference/history/jobs_extendAndCancel.2022-09-09.a045350a37.md", "curl"): 9,
        ("reference/history/jobs_extendAndCancel.2022-09-09.a045350a37.md", "typescript"): 12,
        ("reference/jobs.provider.PROVIDERID_accounting.md", "curl"): 1,
        ("reference/jobs.provider.PROVIDERID_createSimple.md", "curl"): 4,
        ("reference/jobs.provider.PROVIDERID_minimalSupport.md", "curl"): 2,
        ("reference/jobs.provider.PROVIDERID_support.md", "curl"): 2,
        ("reference/jobs.provider.PROVIDERID_verify.md", "curl"): 2,
        ("reference/jobs_extendAndCancel.md", "curl"): 9,
        ("seed-extend-and-terminate.md", "curl"): 9,
        ("seed-extend-and-terminate.md", "typescript"): 12,
    }


def test_the_provider_flows_yield_jobs_and_updates() -> None:
    jobs = _payloads(schema="Job", role="request")
    assert [(entry.call, entry.pointer) for entry in jobs] == [
        ("jobs.provider.PROVIDERID.create", "/items/0"), ("jobs.provider.PROVIDERID.verify", "/items/0")]
    created = jobs[0].payload
    assert created["id"] == "54112"
    assert created["status"]["state"] == "IN_QUEUE"
    assert created["specification"]["parameters"] == {"debug": {"type": "boolean", "value": True},
                                                      "value": {"type": "text", "value": "Hello, World!"}}
    updates = _payloads(schema="JobUpdate")
    assert [(entry.payload["state"], entry.payload["timestamp"]) for entry in updates] == [
        ("SUCCESS", 0), ("RUNNING", 0), ("SUCCESS", 0), ("FAILURE", 0)]
    assert all(entry.pointer == "/items/0/update" for entry in updates)
    refused = _payloads(call="jobs.provider.PROVIDERID.create", role="response")
    assert [entry.payload for entry in refused] == [{"responses": [None]}]
