"""The ``ucloud-jobs`` command line through ``main([...])``: every exit status and the key messages.

Exit statuses: 0 when every file is valid; 1 when any breaks the contract or cannot be checked (unreadable,
not JSON), every file still being reported; 2 on a usage error. The report formats are in test_cli_reports.py.
"""

from __future__ import annotations

import argparse
import copy
import io
import json
import os
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest

from contracts import default_contract, default_spec
from mockserver.cli import build_parser, main
from tests.contracts.cli_support import (
    CREATE_REQUEST,
    EXTEND_REQUEST,
    PREFIX,
    SEED_JOB,
    bad_job,
    bad_job_lines,
    feed_stdin,
    write,
)

ROOT = Path(__file__).resolve().parents[2]


def _summary(files: int, invalid: int = 0, errors: int = 0, violations: int = 0, label: str = "Job") -> str:
    def count(number: int, noun: str) -> str:
        return f"{number} {noun}{'' if number == 1 else 's'}"

    return (f"{label}: {count(files, 'file')}, {invalid} invalid, {count(errors, 'error')}, "
            f"{count(violations, 'violation')}\n")


# -------------------------------------------------------------------------------------------- exit 0 and 1
def test_a_valid_file_exits_0(here: Path, capsys: pytest.CaptureFixture[str]) -> None:
    name = write(here, "job.json", SEED_JOB)
    assert main(["validate", "--schema", "Job", name]) == 0
    assert capsys.readouterr() == ("job.json: valid\n", "Job: 1 file, 0 invalid, 0 errors, 0 violations\n")


def test_an_invalid_file_exits_1_naming_file_position_pointer_expected_and_actual(
    here: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = write(here, "job.json", SEED_JOB)
    bad = write(here, "bad.json", bad_job())
    assert main(["validate", "--schema", "Job", good, bad]) == 1
    out, err = capsys.readouterr()
    assert out.splitlines() == ["job.json: valid", *bad_job_lines("bad.json")]
    assert err == _summary(2, invalid=1, violations=3)


def test_the_key_message_reads_exactly(here: Path, capsys: pytest.CaptureFixture[str]) -> None:
    job = copy.deepcopy(SEED_JOB)
    job["status"]["state"] = "RUNNIN"
    (here / "job.json").write_text(json.dumps(job, indent=2), encoding="utf-8")
    assert main(["validate", "--schema", "Job", "job.json"]) == 1
    out, err = capsys.readouterr()
    assert out == ("job.json:56:14: /status/state: 'RUNNIN' is not one of "
                   "IN_QUEUE, RUNNING, CANCELING, SUCCESS, FAILURE, EXPIRED, SUSPENDED; did you mean RUNNING?\n")
    assert err == "Job: 1 file, 1 invalid, 0 errors, 1 violation\n"


def test_quiet_reports_only_violations_and_errors(here: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = write(here, "job.json", SEED_JOB)
    bad = write(here, "bad.json", bad_job())
    assert main(["validate", "--quiet", "--schema", "Job", good, bad, "missing.json"]) == 1
    assert capsys.readouterr() == ("\n".join([*bad_job_lines("bad.json"), "missing.json: error: cannot read: "
                                              "No such file or directory"]) + "\n", "")
    assert main(["validate", "-q", "--schema", "Job", good]) == 0
    assert capsys.readouterr() == ("", "")


def test_stdin_is_read_for_a_dash_and_placed_by_line_and_column(
    here: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    text = json.dumps(bad_job(), indent=4)
    feed_stdin(monkeypatch, text.encode())
    good = write(here, "job.json", SEED_JOB)
    assert main(["validate", "--schema", "Job", "-", good]) == 1
    out, _ = capsys.readouterr()
    assert out.splitlines() == [*bad_job_lines("<stdin>", text), "job.json: valid"]
    assert out.splitlines()[2].startswith("<stdin>:55:18: /status/state: ")  # not on line 1: multi-line input


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
    assert capsys.readouterr() == ("e.json:1:11: /items: 0 items, fewer than the minimum of 1\n",
                                   _summary(1, invalid=1, violations=1, label="BulkRequest_JobSpecification"))


# ---------------------------------------------------------------------------------------------- operations
def test_an_operation_request_body(here: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = write(here, "extend.json", EXTEND_REQUEST)
    too_long = copy.deepcopy(EXTEND_REQUEST)
    too_long["items"][0]["requestedTime"]["seconds"] = 60
    bad = write(here, "bad.json", too_long)
    assert main(["validate", "--operation", "jobs.extend", "--request", good]) == 0
    label = "BulkRequest_JobsExtendRequestItem (jobs.extend request body)"
    assert capsys.readouterr() == ("extend.json: valid\n", _summary(1, label=label))
    assert main(["validate", "--operation", "jobs.extend", "--request", "--format", "json", good, bad]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["operation"] == "jobs.extend"
    assert report["schema"] == default_spec().operation("jobs.extend").request_schema
    assert [entry["valid"] for entry in report["files"]] == [True, False]
    assert [v["pointer"] for v in report["files"][1]["violations"]] == ["/items/0/requestedTime/seconds"]


def test_an_operation_response_body(here: Path, capsys: pytest.CaptureFixture[str]) -> None:
    job = write(here, "job.json", SEED_JOB)
    assert main(["validate", "--operation", "jobs.retrieve", "--status", "200", job]) == 0
    assert capsys.readouterr() == ("job.json: valid\n", _summary(1, label="Job (jobs.retrieve response 200)"))
    # A Job is not an error body: the 404 of retrieve is a CommonErrorMessage.
    assert main(["validate", "--operation", "jobs.retrieve", "--status", "404", "--format", "json", job]) == 1
    report = json.loads(capsys.readouterr().out)
    assert (report["schema"], report["status"], report["response"]) == ("CommonErrorMessage", 404, "404")
    assert report["files"][0]["violations"]


def test_an_undocumented_status_says_it_fell_back_to_the_default_response(
    here: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    created = write(here, "created.json", {"responses": [{"id": "62348"}]})
    assert "201" not in default_spec().operation("jobs.create").response_schemas
    assert main(["validate", "--operation", "jobs.create", "--status", "201", created]) == 1
    out, err = capsys.readouterr()
    assert err.splitlines()[0] == ("ucloud-jobs validate: note: jobs.create documents no response 201; checking "
                                   "against its default response, CommonErrorMessage")
    assert err.splitlines()[1] == ("CommonErrorMessage (jobs.create response 201: undocumented, so the default "
                                   "response): 1 file, 1 invalid, 0 errors, 1 violation")
    assert out == "created.json:1:1: /why: required field is missing\n"
    # Even when quiet: the verdict means something else than the command seems to ask.
    assert main(["validate", "-q", "--operation", "jobs.create", "--status", "201", created]) == 1
    assert capsys.readouterr().err == ("ucloud-jobs validate: note: jobs.create documents no response 201; "
                                       "checking against its default response, CommonErrorMessage\n")


def test_a_documented_status_gives_no_note(here: Path, capsys: pytest.CaptureFixture[str]) -> None:
    created = write(here, "created.json", {"responses": [{"id": "62348"}]})
    assert main(["validate", "--operation", "jobs.create", "--status", "200", created]) == 0
    assert capsys.readouterr() == ("created.json: valid\n",
                                   _summary(1, label="BulkResponse_FindByStringId (jobs.create response 200)"))


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--operation", "jobs.retrieve", "--request"],
         "jobs.retrieve (GET /api/jobs/retrieve) has no request body; its input is query parameters"),
        (["--operation", "jobs.extend"], "--operation jobs.extend needs --request or --status CODE"),
        (["--schema", "Job", "--status", "200"],
         "--request and --status go with --operation, not with --schema"),
        (["--operation", "jobs.nope", "--request"],
         "unknown operation 'jobs.nope'; known operations: jobs.browse, jobs.create, jobs.extend, jobs.init, "
         "jobs.openInteractiveSession, jobs.retrieve, jobs.retrieveProducts, jobs.retrieveUtilization, "
         "jobs.search, jobs.suspend, jobs.terminate, jobs.unsuspend, jobs.updateAcl"),
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


def test_an_unwritable_output_exits_2(here: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = write(here, "job.json", SEED_JOB)
    assert main(["validate", "--schema", "Job", "-o", "no/such/folder/report.xml", good]) == 2
    assert capsys.readouterr() == ("", f"{PREFIX}cannot write the report to no/such/folder/report.xml: "
                                       "No such file or directory\n")


# ---------------------------------------------------------------------------------- files that cannot be checked
def test_a_missing_file_is_an_error_of_the_run_exit_1(here: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "--schema", "Job", "missing.json"]) == 1
    assert capsys.readouterr() == ("missing.json: error: cannot read: No such file or directory\n",
                                   _summary(1, errors=1))


def test_a_folder_is_an_error(here: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (here / "folder").mkdir()
    assert main(["validate", "--schema", "Job", "folder"]) == 1
    assert capsys.readouterr() == ("folder: error: cannot read: Is a directory\n", _summary(1, errors=1))


def test_a_file_that_is_not_json_is_an_error_at_its_line_and_column(here: Path,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    (here / "broken.json").write_text('{\n  "id": "1",\n  oops\n}\n', encoding="utf-8")
    assert main(["validate", "--schema", "Job", "broken.json"]) == 1
    assert capsys.readouterr() == (
        "broken.json:3:3: error: not JSON: Expecting property name enclosed in double quotes\n",
        _summary(1, errors=1))


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", ": error: not JSON: it is empty"),
        (b"  \n", ": error: not JSON: it is empty"),
        (b'{"id": "\xff"}', ": error: not JSON: it is not UTF-8 text (invalid start byte at byte 8)"),
        (b'{"hours": NaN}', ": error: not JSON: NaN is not a JSON value"),
        (b"[1, Infinity]", ": error: not JSON: Infinity is not a JSON value"),
        (b'{"id": "1"} {}', ":1:13: error: not JSON: Extra data"),
    ],
)
def test_other_documents_that_are_not_json_are_errors(here: Path, capsys: pytest.CaptureFixture[str],
                                                      content: bytes, message: str) -> None:
    (here / "doc.json").write_bytes(content)
    assert main(["validate", "--schema", "Job", "doc.json"]) == 1
    assert capsys.readouterr() == (f"doc.json{message}\n", _summary(1, errors=1))


@pytest.mark.parametrize(("opening", "closing"), [("[", "]"), ('{"a":', "}")])
def test_a_document_nested_10000_deep_is_an_error_without_a_traceback(
    here: Path, capsys: pytest.CaptureFixture[str], opening: str, closing: str
) -> None:
    (here / "deep.json").write_text(opening * 10_000 + "1" + closing * 10_000, encoding="utf-8")
    with pytest.raises(RecursionError):  # the case is real: the standard parser gives up
        json.loads((here / "deep.json").read_text(encoding="utf-8"))
    assert main(["validate", "--schema", "Job", "deep.json"]) == 1
    assert capsys.readouterr() == ("deep.json: error: nested too deeply to read as JSON\n", _summary(1, errors=1))


def test_a_document_too_deep_to_validate_is_an_error(here: Path, capsys: pytest.CaptureFixture[str],
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    def recurse(instance: object, backend: str = "auto") -> bool:
        raise RecursionError

    monkeypatch.setattr(default_contract().validator("Job"), "is_valid", recurse)
    name = write(here, "job.json", SEED_JOB)
    assert main(["validate", "--schema", "Job", name]) == 1
    assert capsys.readouterr() == ("job.json: error: nested too deeply to validate\n", _summary(1, errors=1))


def test_every_file_is_reported_when_some_cannot_be_read(here: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = write(here, "job.json", SEED_JOB)
    bad = write(here, "bad.json", bad_job())
    (here / "empty.json").write_bytes(b"")
    assert main(["validate", "--schema", "Job", good, "missing.json", bad, "empty.json"]) == 1
    out, err = capsys.readouterr()
    assert out.splitlines() == ["job.json: valid", "missing.json: error: cannot read: No such file or directory",
                                *bad_job_lines("bad.json"), "empty.json: error: not JSON: it is empty"]
    assert err == "Job: 4 files, 1 invalid, 2 errors, 3 violations\n"


def test_unreadable_files_alone_still_fail_the_run(here: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = write(here, "job.json", SEED_JOB)
    assert main(["validate", "--schema", "Job", good, "missing.json"]) == 1
    assert capsys.readouterr().err == _summary(2, errors=1)


def test_closed_stdin_is_an_error(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    closed = io.TextIOWrapper(io.BytesIO(b"{}"), encoding="utf-8")
    closed.close()
    monkeypatch.setattr(sys, "stdin", closed)
    assert main(["validate", "--schema", "Job", "-"]) == 1
    assert capsys.readouterr() == ("<stdin>: error: cannot read: standard input is closed\n", _summary(1, errors=1))


def test_a_file_name_with_a_line_break_still_gives_one_line(here: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "--schema", "Job", "two\nlines.json"]) == 1
    assert capsys.readouterr().out == "two\\x0alines.json: error: cannot read: No such file or directory\n"


def test_text_escapes_control_characters_in_names(here: Path, capsys: pytest.CaptureFixture[str]) -> None:
    odd = os.fsdecode(b"line\nbreak\xff.json")
    (here / odd).write_text(json.dumps(SEED_JOB), encoding="utf-8")
    assert main(["validate", "--schema", "Job", odd]) == 0
    assert capsys.readouterr().out == "line\\x0abreak\\udcff.json: valid\n"


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
    assert by_name["JobState"].split(None, 1)[1] == "A value describing the current state of a Job."  # its type page
    assert by_name["SimpleDuration"].split(None, 1)[1] == "A duration."
    # The descriptions start in one column.
    width = max(map(len, names)) + 2
    described = [line for line in lines if len(line) > width]
    assert described
    assert all(line[width - 2: width] == "  " and line[width] != " " for line in described)


# ---------------------------------------------------------------------------------------------- the program
@pytest.mark.parametrize("arguments", [[], ["serve"], ["validate"], ["schemas"], ["scenarios"], ["spec"], ["verify"],
                                       ["proxy"]],
                         ids=["ucloud-jobs", "serve", "validate", "schemas", "scenarios", "spec", "verify", "proxy"])
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
    assert sorted(subparsers.choices) == ["proxy", "scenarios", "schemas", "serve", "spec", "validate",
                                          "verify"]


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
                                                           _summary(1).encode())
