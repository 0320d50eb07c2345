"""The reports of ``ucloud-jobs validate``: text, json, junit and github, each naming the schema, listing
violations in document order with line and column, and showing a file that cannot be checked as an error."""

from __future__ import annotations

import copy
import json
import os
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from contracts.cli.report import github_data, github_property
from mockserver.cli import main
from tests.contracts.cli_support import SEED_JOB, bad_job, bad_job_lines, spot, states, write

FALLBACK = "CommonErrorMessage (jobs.create response 201: undocumented, so the default response)"


# ---------------------------------------------------------------------------------------------- document order
def test_violations_come_in_document_order_not_the_schemas(here: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # The schema lists `specification` before `status`; this file has them the other way round.
    job = bad_job()
    reordered = {"status": job.pop("status"), **job}
    text = json.dumps(reordered, indent=2)
    (here / "job.json").write_text(text, encoding="utf-8")
    assert main(["validate", "--schema", "Job", "job.json"]) == 1
    expected = bad_job_lines("job.json", text)
    assert capsys.readouterr().out.splitlines() == [expected[0], expected[2], expected[1]]
    assert [line.split(": ")[0] for line in expected] == ["job.json:1:1", "job.json:57:18", "job.json:3:14"]


def test_a_missing_property_is_placed_at_the_object_that_lacks_it(here: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    job = copy.deepcopy(SEED_JOB)
    del job["specification"]["timeAllocation"]["seconds"]
    text = json.dumps(job, indent=2)
    (here / "job.json").write_text(text, encoding="utf-8")
    assert main(["validate", "--schema", "Job", "job.json"]) == 1
    where = spot(text, '"timeAllocation": ', "{")
    assert capsys.readouterr().out == (f"job.json:{where}: /specification/timeAllocation/seconds: required field "
                                       "is missing\n")
    assert where == "46:23"


# ---------------------------------------------------------------------------------------------- json
def test_json_report(here: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = write(here, "job.json", SEED_JOB)
    bad = write(here, "bad.json", bad_job())
    assert main(["validate", "--schema", "Job", "--format", "json", good, bad, "missing.json"]) == 1
    out, err = capsys.readouterr()
    report = json.loads(out)
    assert err == "Job: 3 files, 1 invalid, 1 error, 3 violations\n"
    assert {key: report[key] for key in ("schema", "operation", "status", "response", "target", "valid")} == {
        "schema": "Job", "operation": None, "status": None, "response": None, "target": "Job", "valid": False}
    assert report["summary"] == {"files": 3, "invalid": 1, "errors": 1, "violations": 3}
    assert [(entry["file"], entry["schema"], entry["status"], entry["valid"]) for entry in report["files"]] == [
        ("job.json", "Job", "valid", True), ("bad.json", "Job", "invalid", False),
        ("missing.json", "Job", "error", False)]
    assert report["files"][0]["violations"] == []
    assert report["files"][0]["error"] is None
    assert report["files"][2] == {"file": "missing.json", "schema": "Job", "status": "error", "valid": False,
                                  "error": {"message": "cannot read: No such file or directory", "line": None,
                                            "column": None},
                                  "violations": []}
    state = report["files"][1]["violations"][2]
    line, column = spot(json.dumps(bad_job()), '"state": ', '"RUNNIN"').split(":")
    assert state == {
        "pointer": "/status/state",
        "keyword": "enum",
        "expected": f"one of {states()}",
        "actual": "'RUNNIN'",
        "message": f"'RUNNIN' is not one of {states()}; did you mean RUNNING?",
        "schemaPath": state["schemaPath"],
        "line": int(line),
        "column": int(column),
    }
    assert [(v["pointer"], v["line"]) for v in report["files"][1]["violations"]] == [
        ("/id", 1), ("/specification/timeAllocation/minutes", 1), ("/status/state", 1)]


def test_json_report_when_all_are_valid(here: Path, capsys: pytest.CaptureFixture[str]) -> None:
    name = write(here, "j.json", SEED_JOB)
    assert main(["validate", "-q", "--schema", "Job", "--format", "json", name]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["valid"] is True
    assert err == ""


def test_json_report_names_the_fallback(here: Path, capsys: pytest.CaptureFixture[str]) -> None:
    name = write(here, "created.json", {"why": "no"})
    assert main(["validate", "--operation", "jobs.create", "--status", "201", "--format", "json", name]) == 0
    report = json.loads(capsys.readouterr().out)
    assert {key: report[key] for key in ("schema", "operation", "status", "response", "target")} == {
        "schema": "CommonErrorMessage", "operation": "jobs.create", "status": 201, "response": "default",
        "target": FALLBACK}


# ---------------------------------------------------------------------------------------------- junit
def test_junit_report(here: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = write(here, "job.json", SEED_JOB)
    bad = write(here, "bad.json", bad_job())
    assert main(["validate", "--schema", "Job", "--format", "junit", good, bad, "missing.json"]) == 1
    out, err = capsys.readouterr()
    assert err == "Job: 3 files, 1 invalid, 1 error, 3 violations\n"
    root = ET.fromstring(out)
    assert root.tag == "testsuites"
    (suite,) = root.findall("testsuite")
    assert suite.attrib == {"name": "ucloud-jobs validate", "tests": "3", "failures": "1", "errors": "1",
                            "skipped": "0"}
    assert [(item.get("name"), item.get("value")) for item in suite.findall("properties/property")] == [
        ("schema", "Job"), ("target", "Job")]
    cases = suite.findall("testcase")
    assert [(case.get("classname"), case.get("name")) for case in cases] == [
        ("Job", "job.json"), ("Job", "bad.json"), ("Job", "missing.json")]
    assert cases[0].find("failure") is None
    assert cases[0].find("error") is None
    failure = cases[1].find("failure")
    assert failure is not None
    assert failure.get("message") == "bad.json: 3 violations of Job"
    assert failure.get("type") == "ContractViolation"
    assert (failure.text or "").splitlines() == bad_job_lines("bad.json")
    error = cases[2].find("error")
    assert error is not None
    assert error.attrib == {"type": "FileError", "message": "missing.json: cannot read: No such file or directory"}
    assert cases[2].find("failure") is None


def test_junit_names_the_operation_and_the_fallback(here: Path, capsys: pytest.CaptureFixture[str]) -> None:
    name = write(here, "created.json", {"responses": []})
    assert main(["validate", "--operation", "jobs.create", "--status", "201", "--format", "junit", name]) == 1
    suite = ET.fromstring(capsys.readouterr().out).find("testsuite")
    assert suite is not None
    assert {item.get("name"): item.get("value") for item in suite.findall("properties/property")} == {
        "schema": "CommonErrorMessage", "operation": "jobs.create", "status": "201", "response": "default",
        "target": FALLBACK}
    failure = suite.find("testcase/failure")
    assert failure is not None
    assert failure.get("message") == f"created.json: 1 violation of {FALLBACK}"


def test_junit_escapes_what_xml_cannot_hold(here: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # A file name with markup, a control character and a byte that is not UTF-8 (a lone surrogate in Python).
    odd = os.fsdecode(b'a<&>"\x01\xff.json')
    job = copy.deepcopy(SEED_JOB)
    job["status"]["state"] = "<b>&amp;\u0007"
    text = json.dumps(job)
    (here / odd).write_text(text, encoding="utf-8")
    assert main(["validate", "--schema", "Job", "--format", "junit", odd]) == 1
    root = ET.fromstring(capsys.readouterr().out)
    case = root.find("testsuite/testcase")
    assert case is not None
    assert case.get("name") == 'a<&>"\\x01\\udcff.json'
    failure = case.find("failure")
    assert failure is not None
    where = spot(text, '"state": ', '"<b>')
    assert failure.text == (f"a<&>\"\\x01\\udcff.json:{where}: /status/state: '<b>&amp;\\x07' is not one of "
                            f"{states()}")


# ---------------------------------------------------------------------------------------------- github
def test_github_annotations(here: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = write(here, "job.json", SEED_JOB)
    bad = write(here, "bad.json", bad_job())
    (here / "broken.json").write_text('{\n  "id": "1",\n  oops\n}\n', encoding="utf-8")
    arguments = ["validate", "--schema", "Job", "--format", "github", good, bad, "missing.json", "broken.json"]
    assert main(arguments) == 1
    out, err = capsys.readouterr()
    text = json.dumps(bad_job())
    minutes = spot(text, '"minutes": ', "60").replace(":", ",col=")
    state = spot(text, '"state": ', '"RUNNIN"').replace(":", ",col=")
    assert out.splitlines() == [
        "::error file=bad.json,line=1,col=1,title=Job::/id: required field is missing",
        f"::error file=bad.json,line={minutes},title=Job::/specification/timeAllocation/minutes: 60 is greater "
        "than the maximum of 59",
        f"::error file=bad.json,line={state},title=Job::/status/state: 'RUNNIN' is not one of {states()}; did you "
        "mean RUNNING?",
        "::error file=missing.json,title=Job::cannot read: No such file or directory",
        "::error file=broken.json,line=3,col=3,title=Job::not JSON: Expecting property name enclosed in double "
        "quotes",
    ]
    assert err == "Job: 4 files, 1 invalid, 2 errors, 3 violations\n"


def test_github_escapes_properties_and_messages(here: Path, capsys: pytest.CaptureFixture[str]) -> None:
    job = copy.deepcopy(SEED_JOB)
    job["specification"]["name"] = "100%"                                   # a % in the message
    job["specification"]["parameters"] = {"a\nb": {"type": "boolean"}}      # a line break in a pointer
    name = write(here, "a,b:c.json", job)
    assert main(["validate", "--schema", "Job", "--format", "github", name]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert [line.split("::")[2] for line in lines] == [  # `name` comes before `parameters` in the file
        "/specification/name: '100%25' does not match ^[A-Za-z0-9_ ():-]+$",
        "/specification/parameters/a%0Ab/value: required field is missing",
    ]
    assert all(line.startswith("::error file=a%2Cb%3Ac.json,line=1,col=") for line in lines)


def test_github_title_names_the_fallback(here: Path, capsys: pytest.CaptureFixture[str]) -> None:
    name = write(here, "created.json", {"responses": []})
    assert main(["validate", "--operation", "jobs.create", "--status", "201", "--format", "github", name]) == 1
    assert capsys.readouterr().out == (
        "::error file=created.json,line=1,col=1,title=CommonErrorMessage (jobs.create response 201%3A "
        "undocumented%2C so the default response)::/why: required field is missing\n")


@pytest.mark.parametrize(("text", "data", "prop"), [
    ("50% done", "50%25 done", "50%25 done"),
    ("a\r\nb", "a%0D%0Ab", "a%0D%0Ab"),
    ("x: 1, y", "x: 1, y", "x%3A 1%2C y"),
    ("%0A", "%250A", "%250A"),  # an escape already in the text is not read back as one
])
def test_github_escaping_rules(text: str, data: str, prop: str) -> None:
    assert github_data(text) == data
    assert github_property(text) == prop


def test_github_with_nothing_wrong_writes_nothing(here: Path, capsys: pytest.CaptureFixture[str]) -> None:
    name = write(here, "job.json", SEED_JOB)
    assert main(["validate", "--schema", "Job", "--format", "github", name]) == 0
    assert capsys.readouterr() == ("", "Job: 1 file, 0 invalid, 0 errors, 0 violations\n")


# ---------------------------------------------------------------------------------------------- --output
@pytest.mark.parametrize("report_format", ["text", "json", "junit", "github"])
def test_output_writes_the_report_to_a_file(here: Path, capsys: pytest.CaptureFixture[str],
                                            report_format: str) -> None:
    bad = write(here, "bad.json", bad_job())
    assert main(["validate", "--schema", "Job", "--format", report_format, bad]) == 1  # to stdout first
    on_stdout = capsys.readouterr().out
    arguments = ["validate", "--schema", "Job", "--format", report_format]
    assert main([*arguments, "--output", "report.out", bad]) == 1
    assert capsys.readouterr() == ("", "Job: 1 file, 1 invalid, 0 errors, 3 violations\n")
    assert (here / "report.out").read_text(encoding="utf-8") == on_stdout
