"""The ``ucloud-jobs`` command line through ``main([...])``: every exit status, report format and message.

Exit statuses: 0 when every file is valid, 1 when any breaks the contract, 2 on a usage error. Documents are
built here, in code: the Job that the 2024 documentation retrieves in the extend-and-terminate example, and
mutations of it.
"""

from __future__ import annotations

import argparse
import copy
import io
import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest

from contracts import default_spec
from mockserver.cli import build_parser, main
from tests.contracts.corpus import payload

ROOT = Path(__file__).resolve().parents[2]
PREFIX = "ucloud-jobs validate: error: "

# The 2024 documentation's first retrieved Job, as scripts/extract_docs.py extracted it.
SEED_JOB: dict[str, Any] = payload("reference/jobs_extendAndCancel.md:curl:2:jobs.retrieve:response")

EXTEND_REQUEST: dict[str, Any] = {
    "items": [{"jobId": "62348", "requestedTime": {"hours": 1, "minutes": 0, "seconds": 0}}],
}
CREATE_REQUEST: dict[str, Any] = {"items": [SEED_JOB["specification"]]}


def _states() -> str:
    return ", ".join(default_spec().schemas["JobState"]["enum"])


def _bad_job() -> dict[str, Any]:
    """The seed Job with three faults: no id, 60 minutes, an unknown state."""
    job = copy.deepcopy(SEED_JOB)
    del job["id"]
    job["specification"]["timeAllocation"]["minutes"] = 60
    job["status"]["state"] = "RUNNIN"
    return job


def _bad_job_lines(name: str) -> list[str]:
    return [
        f"{name}: /id: required field is missing",
        f"{name}: /specification/timeAllocation/minutes: 60 is greater than the maximum of 59",
        f"{name}: /status/state: 'RUNNIN' is not one of {_states()}; did you mean RUNNING?",
    ]


@pytest.fixture
def here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A scratch folder that is also the working directory, so that reports show short relative names."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


def write(folder: Path, name: str, document: Any) -> str:
    """Write ``document`` as JSON to ``folder/name`` and return ``name``."""
    (folder / name).write_text(json.dumps(document), encoding="utf-8")
    return name


def feed_stdin(monkeypatch: pytest.MonkeyPatch, data: bytes) -> None:
    """Make ``data`` the process's standard input."""
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data), encoding="utf-8"))


# -------------------------------------------------------------------------------------------- exit 0 and 1
def test_a_valid_file_exits_0(here: Path, capsys: pytest.CaptureFixture[str]) -> None:
    name = write(here, "job.json", SEED_JOB)
    assert main(["validate", "--schema", "Job", name]) == 0
    out, err = capsys.readouterr()
    assert out == "job.json: valid\n"
    assert err == "1 file, 0 invalid, 0 violations\n"


def test_an_invalid_file_exits_1_naming_file_pointer_expected_and_actual(
    here: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = write(here, "job.json", SEED_JOB)
    bad = write(here, "bad.json", _bad_job())
    assert main(["validate", "--schema", "Job", good, bad]) == 1
    out, err = capsys.readouterr()
    assert out.splitlines() == ["job.json: valid", *_bad_job_lines("bad.json")]
    assert err == "2 files, 1 invalid, 3 violations\n"


def test_the_key_message_reads_exactly(here: Path, capsys: pytest.CaptureFixture[str]) -> None:
    job = copy.deepcopy(SEED_JOB)
    job["status"]["state"] = "RUNNIN"
    assert main(["validate", "--schema", "Job", write(here, "job.json", job)]) == 1
    out, err = capsys.readouterr()
    assert out == ("job.json: /status/state: 'RUNNIN' is not one of "
                   "IN_QUEUE, RUNNING, CANCELING, SUCCESS, FAILURE, EXPIRED, SUSPENDED; did you mean RUNNING?\n")
    assert err == "1 file, 1 invalid, 1 violation\n"


def test_quiet_reports_only_violations(here: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = write(here, "job.json", SEED_JOB)
    bad = write(here, "bad.json", _bad_job())
    assert main(["validate", "--quiet", "--schema", "Job", good, bad]) == 1
    assert capsys.readouterr() == ("\n".join(_bad_job_lines("bad.json")) + "\n", "")
    assert main(["validate", "-q", "--schema", "Job", good]) == 0
    assert capsys.readouterr() == ("", "")


def test_stdin_is_read_for_a_dash(here: Path, capsys: pytest.CaptureFixture[str],
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    feed_stdin(monkeypatch, json.dumps(_bad_job()).encode())
    good = write(here, "job.json", SEED_JOB)
    assert main(["validate", "--schema", "Job", "-", good]) == 1
    out, _ = capsys.readouterr()
    assert out.splitlines() == [*_bad_job_lines("<stdin>"), "job.json: valid"]


def test_stdin_valid_exits_0(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    feed_stdin(monkeypatch, b"\xef\xbb\xbf" + json.dumps(SEED_JOB).encode())  # a byte-order mark is tolerated
    assert main(["validate", "--schema", "Job", "-"]) == 0
    assert capsys.readouterr().out == "<stdin>: valid\n"


def test_ucloud_generic_spelling_of_a_schema_is_accepted(here: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    name = write(here, "create.json", CREATE_REQUEST)
    empty = write(here, "e.json", {"items": []})
    assert main(["validate", "--schema", "BulkRequest<JobSpecification>", "--format", "json", name]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["schema"] == "BulkRequest_JobSpecification"
    assert main(["validate", "--schema", "BulkRequest<JobSpecification>", empty]) == 1
    assert capsys.readouterr().out == "e.json: /items: 0 items, fewer than the minimum of 1\n"


# ---------------------------------------------------------------------------------------------- operations
def test_an_operation_request_body(here: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = write(here, "extend.json", EXTEND_REQUEST)
    too_long = copy.deepcopy(EXTEND_REQUEST)
    too_long["items"][0]["requestedTime"]["seconds"] = 60
    bad = write(here, "bad.json", too_long)
    assert main(["validate", "--operation", "jobs.extend", "--request", good]) == 0
    assert capsys.readouterr() == ("extend.json: valid\n", "1 file, 0 invalid, 0 violations\n")
    assert main(["validate", "--operation", "jobs.extend", "--request", "--format", "json", good, bad]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["operation"] == "jobs.extend"
    assert report["schema"] == default_spec().operation("jobs.extend").request_schema
    assert [entry["valid"] for entry in report["files"]] == [True, False]
    assert [v["pointer"] for v in report["files"][1]["violations"]] == ["/items/0/requestedTime/seconds"]


def test_an_operation_response_body(here: Path, capsys: pytest.CaptureFixture[str]) -> None:
    job = write(here, "job.json", SEED_JOB)
    assert main(["validate", "--operation", "jobs.retrieve", "--status", "200", job]) == 0
    assert capsys.readouterr().out == "job.json: valid\n"
    # A Job is not an error body: the 404 of retrieve is a CommonErrorMessage.
    assert main(["validate", "--operation", "jobs.retrieve", "--status", "404", "--format", "json", job]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["schema"] == "CommonErrorMessage"
    assert report["files"][0]["violations"]


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--operation", "jobs.retrieve", "--request"],
         "jobs.retrieve (GET /api/jobs/retrieve) has no request body; its input is query parameters"),
        (["--operation", "jobs.extend"], "--operation jobs.extend needs --request or --status CODE"),
        (["--schema", "Job", "--status", "200"],
         "--request and --status go with --operation, not with --schema"),
        (["--operation", "jobs.nope", "--request"],
         "unknown operation 'jobs.nope'; known operations: jobs.browse, jobs.create, jobs.extend, "
         "jobs.retrieve, jobs.search, jobs.suspend, jobs.terminate, jobs.unsuspend"),
    ],
)
def test_operation_usage_errors_exit_2(here: Path, capsys: pytest.CaptureFixture[str], arguments: list[str],
                                       message: str) -> None:
    name = write(here, "job.json", SEED_JOB)
    assert main(["validate", *arguments, name]) == 2
    assert capsys.readouterr() == ("", PREFIX + message + "\n")


# ---------------------------------------------------------------------------------------------- exit 2
@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--schema", "Jobb"], "unknown schema 'Jobb'; did you mean Job?"),
        (["--schema", "BulkRequest<JobSpecificaton>"],
         "unknown schema 'BulkRequest<JobSpecificaton>'; did you mean BulkRequest_JobSpecification?"),
        (["--operation", "jobs.retreive", "--status", "200"],
         "unknown operation 'jobs.retreive'; did you mean jobs.retrieve?"),
    ],
)
def test_a_mistyped_name_exits_2_naming_the_closest(here: Path, capsys: pytest.CaptureFixture[str],
                                                     arguments: list[str], message: str) -> None:
    name = write(here, "job.json", SEED_JOB)
    assert main(["validate", *arguments, name]) == 2
    assert capsys.readouterr() == ("", f"{PREFIX}{message}\n")


def test_an_unknown_schema_like_none_exits_2_listing_the_known_names(here: Path,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    name = write(here, "job.json", SEED_JOB)
    assert main(["validate", "--schema", "Xyzzy", name]) == 2
    known = ", ".join(default_spec().schema_names())
    assert capsys.readouterr() == ("", f"{PREFIX}unknown schema 'Xyzzy'; known schemas: {known}\n")


def test_unknown_schema_wins_over_a_missing_file(here: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "--schema", "Jbo", "missing.json"]) == 2
    assert capsys.readouterr() == ("", f"{PREFIX}unknown schema 'Jbo'; did you mean Job?\n")


def test_a_missing_file_exits_2(here: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "--schema", "Job", "missing.json"]) == 2
    assert capsys.readouterr() == ("", f"{PREFIX}cannot read missing.json: No such file or directory\n")


def test_a_folder_exits_2(here: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (here / "folder").mkdir()
    assert main(["validate", "--schema", "Job", "folder"]) == 2
    assert capsys.readouterr() == ("", f"{PREFIX}cannot read folder: Is a directory\n")


def test_a_file_that_is_not_json_exits_2_with_line_and_column(here: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    (here / "broken.json").write_text('{\n  "id": "1",\n  oops\n}\n', encoding="utf-8")
    assert main(["validate", "--schema", "Job", "broken.json"]) == 2
    assert capsys.readouterr() == ("", f"{PREFIX}broken.json is not JSON: Expecting property name enclosed "
                                       "in double quotes at line 3, column 3\n")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "is not JSON: it is empty"),
        (b"  \n", "is not JSON: it is empty"),
        (b'{"id": "\xff"}', "is not JSON: it is not UTF-8 text (invalid start byte at byte 8)"),
        (b'{"hours": NaN}', "is not JSON: NaN is not a JSON value"),
        (b"[1, Infinity]", "is not JSON: Infinity is not a JSON value"),
        (b'{"id": "1"} {}', "is not JSON: Extra data at line 1, column 13"),
    ],
)
def test_other_unreadable_documents_exit_2(here: Path, capsys: pytest.CaptureFixture[str], content: bytes,
                                           message: str) -> None:
    (here / "doc.json").write_bytes(content)
    assert main(["validate", "--schema", "Job", "doc.json"]) == 2
    assert capsys.readouterr() == ("", f"{PREFIX}doc.json {message}\n")


@pytest.mark.parametrize(("opening", "closing"), [("[", "]"), ('{"a":', "}")])
def test_a_document_nested_10000_deep_exits_2_without_a_traceback(
    here: Path, capsys: pytest.CaptureFixture[str], opening: str, closing: str
) -> None:
    (here / "deep.json").write_text(opening * 10_000 + "1" + closing * 10_000, encoding="utf-8")
    with pytest.raises(RecursionError):  # the case is real: the standard parser gives up
        json.loads((here / "deep.json").read_text(encoding="utf-8"))
    assert main(["validate", "--schema", "Job", "deep.json"]) == 2
    assert capsys.readouterr() == ("", f"{PREFIX}deep.json is nested too deeply to read as JSON\n")


def test_every_unreadable_file_is_reported_and_nothing_is_validated(
    here: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = write(here, "job.json", SEED_JOB)
    bad = write(here, "bad.json", _bad_job())
    (here / "empty.json").write_bytes(b"")
    assert main(["validate", "--schema", "Job", good, "missing.json", bad, "empty.json"]) == 2
    assert capsys.readouterr() == ("", f"{PREFIX}cannot read missing.json: No such file or directory\n"
                                       f"{PREFIX}empty.json is not JSON: it is empty\n")


def test_a_file_name_with_a_line_break_still_gives_one_line(here: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "--schema", "Job", "two\nlines.json"]) == 2
    assert capsys.readouterr() == ("", f"{PREFIX}cannot read two\\x0alines.json: No such file or directory\n")


def test_no_files_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "--schema", "Job"]) == 2
    assert capsys.readouterr() == ("", f"{PREFIX}no files to validate; give one or more FILE arguments, or - "
                                       "to read stdin\n")


def test_stdin_twice_exits_2(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    feed_stdin(monkeypatch, json.dumps(SEED_JOB).encode())
    assert main(["validate", "--schema", "Job", "-", "-"]) == 2
    assert capsys.readouterr() == ("", f"{PREFIX}stdin ('-') can be read only once\n")


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["validate", "job.json"],
         "ucloud-jobs validate: error: one of the arguments --schema --operation is required "
         "(see 'ucloud-jobs validate --help')"),
        (["validate", "--operation", "jobs.retrieve", "--status", "ok", "job.json"],
         "ucloud-jobs validate: error: argument --status: invalid int value: 'ok' "
         "(see 'ucloud-jobs validate --help')"),
    ],
)
def test_argument_errors_are_one_line_and_exit_2(capsys: pytest.CaptureFixture[str], arguments: list[str],
                                                 message: str) -> None:
    assert main(arguments) == 2
    assert capsys.readouterr() == ("", message + "\n")


@pytest.mark.parametrize(
    ("arguments", "prog", "word"),
    [
        (["validate", "--schema", "Job", "--format", "xml", "job.json"], "ucloud-jobs validate", "'xml'"),
        (["frobnicate"], "ucloud-jobs", "'frobnicate'"),
    ],
)
def test_invalid_choices_are_one_line_and_exit_2(capsys: pytest.CaptureFixture[str], arguments: list[str],
                                                 prog: str, word: str) -> None:
    # argparse words the list of choices differently across Python versions; the shape is ours.
    assert main(arguments) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.count("\n") == 1
    assert err.startswith(f"{prog}: error: argument ")
    assert f"invalid choice: {word} (choose from " in err
    assert err.endswith(f" (see '{prog} --help')\n")


def test_no_command_prints_help_and_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err == build_parser().format_help()
    assert "validate" in err
    assert "schemas" in err


# ---------------------------------------------------------------------------------------------- formats
def test_json_report(here: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = write(here, "job.json", SEED_JOB)
    bad = write(here, "bad.json", _bad_job())
    assert main(["validate", "--schema", "Job", "--format", "json", good, bad]) == 1
    out, err = capsys.readouterr()
    report = json.loads(out)
    assert err == "2 files, 1 invalid, 3 violations\n"
    assert report["schema"] == "Job"
    assert report["operation"] is None
    assert report["valid"] is False
    assert report["summary"] == {"files": 2, "invalid": 1, "violations": 3}
    assert [(entry["file"], entry["schema"], entry["valid"]) for entry in report["files"]] == [
        ("job.json", "Job", True), ("bad.json", "Job", False)]
    assert report["files"][0]["violations"] == []
    state = report["files"][1]["violations"][2]
    assert {key: state[key] for key in ("pointer", "keyword", "expected", "actual", "message")} == {
        "pointer": "/status/state",
        "keyword": "enum",
        "expected": f"one of {_states()}",
        "actual": "'RUNNIN'",
        "message": f"'RUNNIN' is not one of {_states()}; did you mean RUNNING?",
    }
    assert [v["pointer"] for v in report["files"][1]["violations"]] == [
        "/id", "/specification/timeAllocation/minutes", "/status/state"]


def test_json_report_when_all_are_valid(here: Path, capsys: pytest.CaptureFixture[str]) -> None:
    name = write(here, "j.json", SEED_JOB)
    assert main(["validate", "-q", "--schema", "Job", "--format", "json", name]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["valid"] is True
    assert err == ""


def test_junit_report(here: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = write(here, "job.json", SEED_JOB)
    bad = write(here, "bad.json", _bad_job())
    assert main(["validate", "--schema", "Job", "--format", "junit", good, bad]) == 1
    out, err = capsys.readouterr()
    assert err == "2 files, 1 invalid, 3 violations\n"
    root = ET.fromstring(out)
    assert root.tag == "testsuites"
    suites = root.findall("testsuite")
    assert len(suites) == 1
    suite = suites[0]
    assert suite.attrib == {"name": "ucloud-jobs validate", "tests": "2", "failures": "1", "errors": "0",
                            "skipped": "0"}
    cases = suite.findall("testcase")
    assert [(case.get("classname"), case.get("name")) for case in cases] == [("Job", "job.json"),
                                                                            ("Job", "bad.json")]
    assert cases[0].find("failure") is None
    failure = cases[1].find("failure")
    assert failure is not None
    assert failure.get("message") == "bad.json: 3 violations of Job"
    assert failure.get("type") == "ContractViolation"
    assert (failure.text or "").splitlines() == _bad_job_lines("bad.json")


def test_junit_escapes_what_xml_cannot_hold(here: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # A file name with markup, a control character and a byte that is not UTF-8 (a lone surrogate in Python).
    odd = os.fsdecode(b'a<&>"\x01\xff.json')
    job = copy.deepcopy(SEED_JOB)
    job["status"]["state"] = "<b>&amp;\u0007"
    (here / odd).write_text(json.dumps(job), encoding="utf-8")
    assert main(["validate", "--schema", "Job", "--format", "junit", odd]) == 1
    root = ET.fromstring(capsys.readouterr().out)
    case = root.find("testsuite/testcase")
    assert case is not None
    assert case.get("name") == 'a<&>"\\x01\\udcff.json'
    failure = case.find("failure")
    assert failure is not None
    assert failure.text == (f"a<&>\"\\x01\\udcff.json: /status/state: '<b>&amp;\\x07' is not one of "
                            f"{_states()}")


def test_text_escapes_control_characters_in_names(here: Path, capsys: pytest.CaptureFixture[str]) -> None:
    odd = os.fsdecode(b"line\nbreak\xff.json")
    (here / odd).write_text(json.dumps(SEED_JOB), encoding="utf-8")
    assert main(["validate", "--schema", "Job", odd]) == 0
    assert capsys.readouterr().out == "line\\x0abreak\\udcff.json: valid\n"


@pytest.mark.parametrize("report_format", ["text", "json", "junit"])
def test_output_writes_the_report_to_a_file(here: Path, capsys: pytest.CaptureFixture[str],
                                            report_format: str) -> None:
    bad = write(here, "bad.json", _bad_job())
    assert main(["validate", "--schema", "Job", "--format", report_format, bad]) == 1  # to stdout first
    on_stdout = capsys.readouterr().out
    arguments = ["validate", "--schema", "Job", "--format", report_format]
    assert main([*arguments, "--output", "report.out", bad]) == 1
    assert capsys.readouterr() == ("", "1 file, 1 invalid, 3 violations\n")
    assert (here / "report.out").read_text(encoding="utf-8") == on_stdout


def test_an_unwritable_output_exits_2(here: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = write(here, "job.json", SEED_JOB)
    assert main(["validate", "--schema", "Job", "-o", "no/such/folder/report.xml", good]) == 2
    assert capsys.readouterr() == ("", f"{PREFIX}cannot write the report to no/such/folder/report.xml: "
                                       "No such file or directory\n")


# ---------------------------------------------------------------------------------------------- schemas
def test_schemas_lists_every_name_one_per_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schemas"]) == 0
    out, err = capsys.readouterr()
    assert out.splitlines() == default_spec().schema_names()
    assert "Job" in out.splitlines()
    assert err == ""


def test_schemas_describe_adds_the_first_sentence(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schemas", "--describe"]) == 0
    lines = capsys.readouterr().out.splitlines()
    names = default_spec().schema_names()
    assert [line.split()[0] for line in lines] == names
    by_name = dict(zip(names, lines, strict=True))
    assert by_name["JobState"].split(None, 1)[1] == "The state of a job."
    assert by_name["SimpleDuration"].split(None, 1)[1] == "A duration."
    # The descriptions start in one column.
    width = max(map(len, names)) + 2
    described = [line for line in lines if len(line) > width]
    assert described
    assert all(line[width - 2: width] == "  " and line[width] != " " for line in described)


# ---------------------------------------------------------------------------------------------- the program
@pytest.mark.parametrize("arguments", [[], ["serve"], ["validate"], ["schemas"], ["verify"]],
                         ids=["ucloud-jobs", "serve", "validate", "schemas", "verify"])
def test_version_prints_the_distribution_version_on_every_command(
    capsys: pytest.CaptureFixture[str], arguments: list[str]
) -> None:
    # Before the command's required options are checked: `verify --version` needs no --url.
    assert main([*arguments, "--version"]) == 0
    assert capsys.readouterr() == (f"ucloud-jobs {metadata.version('ucloud-jobs-contract')}\n", "")


def test_every_command_is_asked_for_its_version() -> None:
    # A new command gets --version from build_parser; this keeps the list above complete.
    parser = build_parser()
    subparsers = next(action for action in parser._actions if isinstance(action, argparse._SubParsersAction))
    assert sorted(subparsers.choices) == ["schemas", "serve", "validate", "verify"]


def test_help_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: ucloud-jobs validate ")
    assert "exit status:" in out


def test_an_interrupt_is_one_line_without_a_traceback(capsys: pytest.CaptureFixture[str],
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    class Interrupted(io.StringIO):
        def read(self, size: int | None = -1) -> str:
            raise KeyboardInterrupt

    monkeypatch.setattr(sys, "stdin", Interrupted())
    assert main(["validate", "--schema", "Job", "-"]) == 130
    assert capsys.readouterr() == ("", "ucloud-jobs: interrupted\n")


def test_a_closed_output_pipe_ends_quietly(monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    class ClosedPipe(io.StringIO):
        def write(self, text: str) -> int:
            raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setattr(sys, "stdout", ClosedPipe())
    assert main(["schemas"]) == 141
    assert capsys.readouterr().err == ""


def test_a_real_closed_pipe_gives_no_traceback() -> None:
    reading, writing = os.pipe()
    os.close(reading)  # whoever reads has gone before the first byte is written
    try:
        done = subprocess.run([sys.executable, "-m", "mockserver", "schemas"], stdout=writing,
                              stderr=subprocess.PIPE, cwd=ROOT, timeout=60, check=False)
    finally:
        os.close(writing)
    assert done.stderr == b""
    assert done.returncode == 141


def test_python_dash_m_mockserver_runs_the_command() -> None:
    done = subprocess.run([sys.executable, "-m", "mockserver", "validate", "--schema", "Job", "-"],
                          input=json.dumps(SEED_JOB).encode(), capture_output=True, cwd=ROOT, timeout=60,
                          check=False)
    assert (done.returncode, done.stdout, done.stderr) == (0, b"<stdin>: valid\n",
                                                           b"1 file, 0 invalid, 0 violations\n")
