"""The issue's acceptance, through the command line: `ucloud-jobs validate --schema Job` accepts every documented
Job and rejects every mutated one, naming the pointer."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from contracts.positions import parse_pointer
from mockserver.cli import main
from tests.contracts.corpus import Mutation, documented, mutations

JOBS = [entry for entry in documented() if entry.schema == "Job"]
BROKEN_JOBS = [mutation for mutation in mutations() if mutation.schema == "Job"]


def _write(folder: Path, name: str, document: object) -> Path:
    path = folder / name
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def test_every_documented_job_is_valid(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert len(JOBS) >= 10, "the documentation has Jobs in four renderings of the flow and in the provider flows"
    files = [str(_write(tmp_path, f"job-{index}.json", entry.payload)) for index, entry in enumerate(JOBS)]
    assert main(["validate", "--schema", "Job", *files]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out == [f"{name}: valid" for name in files]


def _at(document: Any, pointer: str) -> Any:
    """The value at ``pointer``, or at its nearest ancestor that is there (a missing member: its parent)."""
    for part in parse_pointer(pointer):
        key: Any = int(part) if isinstance(document, list) else part
        try:
            document = document[key]
        except (KeyError, IndexError):
            break
    return document


@pytest.mark.parametrize("mutation", BROKEN_JOBS, ids=[mutation.id for mutation in BROKEN_JOBS])
def test_every_mutated_job_is_rejected_at_its_pointer_line_and_column(mutation: Mutation, tmp_path: Path,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "job.json"
    text = json.dumps(mutation.document, indent=2)
    path.write_text(text, encoding="utf-8")
    assert main(["validate", "--schema", "Job", str(path)]) == 1
    lines = capsys.readouterr().out.splitlines()
    (line,) = [line for line in lines if line.endswith(f": {mutation.pointer}: {mutation.message}")]
    where = re.fullmatch(rf"{re.escape(str(path))}:(\d+):(\d+): .*", line)
    assert where is not None, line
    row, column = int(where[1]), int(where[2])
    offset = sum(len(text_line) + 1 for text_line in text.split("\n")[: row - 1]) + column - 1
    # What starts there is the offending value (for a missing member, the object that lacks it).
    assert json.JSONDecoder().raw_decode(text, offset)[0] == _at(mutation.document, mutation.pointer)
