"""Mutated payloads are rejected at the right pointer with the right words; both engines agree on all."""

from __future__ import annotations

import json

import pytest

import contracts
from contracts import Contract, ContractError, ContractViolation
from contracts.spec import default_spec
from tests.contracts import corpus
from tests.contracts.corpus import set_at

MUTATIONS = corpus.mutations()
ACCEPTED = corpus.accepted()
# Spelt out, not built from the spec: the exact words a user sees for the commonest typo.
UNKNOWN_STATE = ("'RUNNIN' is not one of IN_QUEUE, RUNNING, CANCELING, SUCCESS, FAILURE, EXPIRED, "
                 "SUSPENDED; did you mean RUNNING?")


@pytest.fixture(scope="module")
def contract() -> Contract:
    return Contract()


def test_the_corpus_is_well_formed() -> None:
    ids = [case_id for case_id, _, _ in corpus.all_documents()]
    assert len(ids) == len(set(ids)), "two corpus documents share an id"
    for case in [*MUTATIONS, *ACCEPTED]:
        # Compared as JSON text: 1633329776235.0 == 1633329776235 in Python, but not on the wire.
        base = corpus.payload(case.base)
        assert json.dumps(case.document) != json.dumps(base), f"{case.id} changes nothing"
        assert contracts.is_valid(base, case.schema), f"{case.id} starts from an invalid base"


@pytest.mark.parametrize("mutation", MUTATIONS, ids=lambda case: case.id)
def test_mutation_is_rejected_at_its_pointer(mutation: corpus.Mutation) -> None:
    violations = list(contracts.iter_violations(mutation.document, mutation.schema))
    assert [(v.pointer, v.message) for v in violations] == [(mutation.pointer, mutation.message)]
    with pytest.raises(ContractViolation) as raised:
        contracts.validate(mutation.document, mutation.schema)
    assert raised.value.violations == tuple(violations)
    assert f"  {mutation.pointer}: {mutation.message}" in str(raised.value)


@pytest.mark.parametrize("case", ACCEPTED, ids=lambda case: case.id)
def test_a_document_at_the_edge_of_a_rule_validates(case: corpus.Case) -> None:
    contracts.validate(case.document, case.schema)


def test_an_unknown_state_is_named_with_every_known_state() -> None:
    job = set_at(corpus.payload(corpus.JOB_2021), "/status/state", "RUNNIN")
    with pytest.raises(ContractViolation) as raised:
        contracts.validate(job, "Job")
    (violation,) = raised.value.violations
    assert violation.pointer == "/status/state"
    assert violation.keyword == "enum"
    assert violation.actual == "'RUNNIN'"
    assert violation.message == UNKNOWN_STATE
    assert str(raised.value) == f"Job breaks the contract (1 violation):\n  /status/state: {UNKNOWN_STATE}"


def test_every_offending_field_is_listed() -> None:
    job = corpus.payload(corpus.JOB_2021)
    set_at(job, "/id", 62348)
    set_at(job, "/status/state", "RUNNIN")
    set_at(job, "/specification/timeAllocation/minutes", 60)
    set_at(job, "/updates/1/timestamp", "1633329781235")
    del job["owner"]
    with pytest.raises(ContractViolation) as raised:
        contracts.validate(job, "Job")
    found = {(v.pointer, v.message) for v in raised.value.violations}
    assert found == {
        ("/id", "62348 is not of type string"),
        ("/status/state", UNKNOWN_STATE),
        ("/specification/timeAllocation/minutes", "60 is greater than the maximum of 59"),
        ("/updates/1/timestamp", "'1633329781235' is not of type integer or null"),
        ("/owner", "required field is missing"),
    }
    text = str(raised.value)
    assert text.startswith("Job breaks the contract (5 violations):\n")
    for pointer, message in found:
        assert f"\n  {pointer}: {message}" in text
    assert isinstance(raised.value, AssertionError)


def test_an_unknown_schema_is_a_usage_error_naming_the_closest_name() -> None:
    with pytest.raises(ContractError) as raised:
        contracts.validate({}, "Jobb")
    assert not isinstance(raised.value, AssertionError)
    assert str(raised.value) == "unknown schema 'Jobb'; did you mean Job?"


@pytest.mark.parametrize(("name", "closest"), [
    ("jobstate", "JobState"),                                           # case is ignored
    ("BulkRequest<JobSpecificaton>", "BulkRequest_JobSpecification"),  # UCloud's spelling, mistyped
    ("SimpleDurations", "SimpleDuration"),
])
def test_a_mistyped_schema_name_is_answered_with_the_closest(name: str, closest: str) -> None:
    with pytest.raises(ContractError) as raised:
        default_spec().schema(name)
    assert str(raised.value) == f"unknown schema {name!r}; did you mean {closest}?"


def test_an_unknown_schema_like_none_lists_the_known_names() -> None:
    with pytest.raises(ContractError) as raised:
        contracts.validate({}, "Xyzzy")
    message = str(raised.value)
    assert message.startswith("unknown schema 'Xyzzy'; known schemas: ")
    listed = message.split("known schemas: ", 1)[1].split(", ")
    assert listed == default_spec().schema_names()
    assert "BulkRequest_JobSpecification" in listed


@pytest.mark.parametrize(("name", "message"), [
    ("jobs.retreive", "unknown operation 'jobs.retreive'; did you mean jobs.retrieve?"),
    ("jobs.Extend", "unknown operation 'jobs.Extend'; did you mean jobs.extend?"),
    # `jobs.` is shared by every operation, so it makes nothing close: all are listed.
    ("jobs.nope", "unknown operation 'jobs.nope'; known operations: jobs.browse, jobs.create, jobs.extend, "
                  "jobs.init, jobs.openInteractiveSession, jobs.retrieve, jobs.retrieveProducts, "
                  "jobs.retrieveUtilization, jobs.search, jobs.suspend, jobs.terminate, jobs.unsuspend, "
                  "jobs.updateAcl"),
])
def test_an_unknown_operation_names_the_closest_or_lists_them(name: str, message: str) -> None:
    with pytest.raises(ContractError) as raised:
        contracts.validate_request(name, {})
    assert str(raised.value) == message


@pytest.mark.parametrize(("value", "hint"), [
    ("RUNNIN", "; did you mean RUNNING?"),
    ("running", "; did you mean RUNNING?"),   # the case differs
    ("SUSPEND", "; did you mean SUSPENDED?"),
    ("DONE", ""),                             # close to nothing: no guess
])
def test_an_enum_violation_suggests_the_closest_value(value: str, hint: str) -> None:
    job = set_at(corpus.payload(corpus.JOB_2021), "/status/state", value)
    (violation,) = contracts.iter_violations(job, "Job")
    assert violation.message == f"{value!r} is not one of {corpus.STATES}{hint}"
    assert violation.expected == f"one of {corpus.STATES}"


@pytest.mark.parametrize(("generic", "canonical"), [
    ("BulkRequest<JobSpecification>", "BulkRequest_JobSpecification"),
    ("BulkResponse<FindByStringId>", "BulkResponse_FindByStringId"),
    ("ResourceRetrieveRequest<JobIncludeFlags>", "ResourceRetrieveRequest_JobIncludeFlags"),
])
def test_ucloud_generic_spelling_is_accepted(generic: str, canonical: str) -> None:
    documents = [entry.payload for entry in corpus.documented() if entry.schema == canonical]
    assert documents
    for document in documents:
        contracts.validate(document, generic)
    for mutation in (m for m in MUTATIONS if m.schema == canonical):
        assert not contracts.is_valid(mutation.document, generic)
        violations = contracts.iter_violations(mutation.document, generic)
        assert [v.pointer for v in violations] == [mutation.pointer]


def test_the_generic_spelling_names_the_same_validator(contract: Contract) -> None:
    generic = contract.validator("BulkRequest<JobSpecification>")
    assert generic is contract.validator("BulkRequest_JobSpecification")


@pytest.mark.parametrize(("case_id", "schema", "document"), corpus.all_documents(),
                         ids=[case_id for case_id, _, _ in corpus.all_documents()])
def test_both_engines_give_the_same_verdict(contract: Contract, case_id: str, schema: str,
                                            document: object) -> None:
    pytest.importorskip("jsonschema_rs")
    reference = contract.is_valid(document, schema, backend="jsonschema")
    compiled = contract.is_valid(document, schema, backend="rust")
    assert reference == compiled
    expected_valid = not any(m.id == case_id for m in MUTATIONS)
    assert reference is expected_valid
