"""How much the engine keeps: its limits, a specification as it is stored, and the size of a job.

A job's specification is stored as the client sent it (unknown keys already dropped), except its
``parameters`` and ``resources``: the mock never reads them, only hands them back, so they are kept as compact
JSON text (``Raw``) and decoded when a job is rendered. Text costs a byte per character, where the same values
as Python objects cost ten times their JSON; so a job's size as counted here is close to what it costs.

The size of a job (``job_bytes``) is what a client controls: the compact JSON of its specification with
non-ASCII characters escaped, the names of its creator and project, and its ACL entries (each its names and
``ACL_ENTRY_BYTES``). Python keeps a string that is not all ASCII at up to four bytes a character, so such a
string (outside the JSON text) counts four bytes a character. What every job costs besides (its state, at most
the newest ``max_updates`` updates) is bounded by the number of jobs.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mockserver.domain.jobs import Job

__all__ = ["ACL_ENTRY_BYTES", "DEFAULT_MAX_JOBS", "DEFAULT_MAX_JOB_BYTES", "Limits", "Raw", "job_bytes", "stored",
           "text_bytes", "value_of"]

#: Jobs kept by default: with the largest jobs and their whole history, about 60 MB.
DEFAULT_MAX_JOBS = 2000
#: The largest job by default, as ``job_bytes`` counts it.
DEFAULT_MAX_JOB_BYTES = 16 * 1024
#: What an ACL entry counts besides its names (the entry, its permissions, its place in the job).
ACL_ENTRY_BYTES = 64
#: The parts of a specification kept as JSON text.
KEPT_AS_TEXT = ("parameters", "resources")


@dataclass(frozen=True)
class Limits:
    """The engine's bounds: how many jobs it keeps, and how large one may be (``job_bytes``)."""

    max_jobs: int = DEFAULT_MAX_JOBS
    max_job_bytes: int = DEFAULT_MAX_JOB_BYTES

    def __post_init__(self) -> None:
        if self.max_jobs < 1 or self.max_job_bytes < 1:
            raise ValueError("the mock keeps at least one job of at least one byte")


class Raw(str):
    """A JSON value kept as compact text; ``value_of`` decodes it."""

    __slots__ = ()


def _compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=True)


def text_bytes(text: str) -> int:
    """What a string costs as Python keeps it, at most: a byte a character if ASCII, four otherwise."""
    return len(text) if text.isascii() else 4 * len(text)


def _wide(value: Any) -> int:
    """What the strings in ``value`` cost beyond their escaped JSON (keys and values, at any depth)."""
    if isinstance(value, str):
        return 0 if value.isascii() else 3 * len(value)
    if isinstance(value, Mapping):
        return sum(_wide(key) + _wide(item) for key, item in value.items())
    if isinstance(value, list):
        return sum(_wide(item) for item in value)
    return 0


def stored(item: Mapping[str, Any]) -> tuple[dict[str, Any], int]:
    """The specification as the engine keeps it, and its size (its compact JSON, non-ASCII escaped)."""
    kept = dict(item)
    size = 2 + max(0, len(kept) - 1)  # the braces and commas of the object
    for key, value in item.items():
        text = _compact(value)
        size += len(_compact(key)) + 1 + len(text) + _wide(key)
        if key in KEPT_AS_TEXT and value is not None:
            kept[key] = Raw(text)
        else:
            size += _wide(value)
    return kept, size


def value_of(kept: Any) -> Any:
    """A value of a stored specification as JSON values: ``Raw`` text decoded, anything else as it is."""
    return json.loads(kept) if isinstance(kept, Raw) else kept


def job_bytes(job: Job) -> int:
    """The size of ``job``: its specification's, its creator's and project's names, and its ACL entries."""
    size = job.specification_bytes + text_bytes(job.created_by) + text_bytes(job.project or "")
    for entry in job.acl:
        size += ACL_ENTRY_BYTES + sum(text_bytes(name or "") for name in entry.entity)
    return size
