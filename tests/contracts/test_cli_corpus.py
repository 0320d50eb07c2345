"""The issue's acceptance, through the command line: `ucloud-jobs validate --schema Job` accepts every documented
Job and rejects every mutated one, naming the pointer."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

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


@pytest.mark.parametrize("mutation", BROKEN_JOBS, ids=[mutation.id for mutation in BROKEN_JOBS])
def test_every_mutated_job_is_rejected_at_its_pointer(mutation: Mutation, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(tmp_path, "job.json", mutation.document)
    assert main(["validate", "--schema", "Job", str(path)]) == 1
    out = capsys.readouterr().out
    assert f"{path}: {mutation.pointer}: {mutation.message}" in out.splitlines()
