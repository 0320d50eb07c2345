"""What the command-line tests share: the documents they check, how they write them, and where a value sits.

Documents are built here, in code: the Job that the 2024 documentation retrieves in the extend-and-terminate
example, and mutations of it. Expected lines and columns are found by searching the written text, not by the
scanner under test.
"""

from __future__ import annotations

import copy
import io
import json
import sys
from pathlib import Path
from typing import Any

import pytest

from contracts import default_spec
from tests.contracts.corpus import payload

__all__ = ["CREATE_REQUEST", "EXTEND_REQUEST", "PREFIX", "SEED_JOB", "bad_job", "bad_job_lines", "feed_stdin",
           "spot", "states", "write"]

PREFIX = "ucloud-jobs validate: error: "

# The 2024 documentation's first retrieved Job, as scripts/extract_docs.py extracted it.
SEED_JOB: dict[str, Any] = payload("reference/jobs_extendAndCancel.md:curl:2:jobs.retrieve:response")

EXTEND_REQUEST: dict[str, Any] = {
    "items": [{"jobId": "62348", "requestedTime": {"hours": 1, "minutes": 0, "seconds": 0}}],
}
CREATE_REQUEST: dict[str, Any] = {"items": [SEED_JOB["specification"]]}


def states() -> str:
    """The JobState values, as a message lists them."""
    return ", ".join(default_spec().schemas["JobState"]["enum"])


def bad_job() -> dict[str, Any]:
    """The seed Job with three faults: no id, 60 minutes, an unknown state."""
    job = copy.deepcopy(SEED_JOB)
    del job["id"]
    job["specification"]["timeAllocation"]["minutes"] = 60
    job["status"]["state"] = "RUNNIN"
    return job


def spot(text: str, before: str, value: str) -> str:
    """``LINE:COLUMN`` of ``value`` where it follows ``before`` (once only) in ``text``."""
    assert text.count(before + value) == 1, f"{before + value!r} is not unique"
    offset = text.index(before + value) + len(before)
    line = text.count("\n", 0, offset) + 1
    return f"{line}:{offset - (text.rfind(chr(10), 0, offset) + 1) + 1}"


def bad_job_lines(name: str, text: str | None = None) -> list[str]:
    """The text report's lines for ``bad_job()`` written as ``text`` (by default on one line)."""
    text = json.dumps(bad_job()) if text is None else text
    minutes = spot(text, '"minutes": ', "60")
    state = spot(text, '"state": ', '"RUNNIN"')
    return [
        f"{name}:1:1: /id: required field is missing",  # missing: placed at the object that lacks it
        f"{name}:{minutes}: /specification/timeAllocation/minutes: 60 is greater than the maximum of 59",
        f"{name}:{state}: /status/state: 'RUNNIN' is not one of {states()}; did you mean RUNNING?",
    ]


def write(folder: Path, name: str, document: Any, indent: int | None = None) -> str:
    """Write ``document`` as JSON to ``folder/name`` and return ``name``."""
    (folder / name).write_text(json.dumps(document, indent=indent), encoding="utf-8")
    return name


def feed_stdin(monkeypatch: pytest.MonkeyPatch, data: bytes) -> None:
    """Make ``data`` the process's standard input."""
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data), encoding="utf-8"))
