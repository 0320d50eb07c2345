"""The admin API's read calls behind the page at ``/_mock/ui``: the jobs table, a job's timeline, what the clock
will bring, and the journal filtered and judged by the contract.

They read what no call of the Jobs API can show: every job of every user, without playing a step of the script
or leaving an entry in the journal. Each takes the ``Control`` and the request and returns the JSON payload; a
malformed parameter is a 400 in UCloud's error shape.
"""

from __future__ import annotations

from typing import Any

from mockserver.control import Control
from mockserver.web.encoding import encode
from mockserver.web.errors import ApiError
from mockserver.web.journal import NO_OPERATION, Entry
from mockserver.web.requests import ApiRequest

__all__ = ["MAX_ROWS", "job", "jobs", "journal", "timeline"]

#: The most rows of the jobs table, or events of the timeline, one call returns.
MAX_ROWS = 500
_DIGITS = 18  # more digits than any count here needs; int() refuses more than 4300


def _count(request: ApiRequest, name: str, default: int | None, high: int | None = None) -> int | None:
    """A non-negative integer query parameter (at most ``high``), or ``default`` when it is absent."""
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    if not (raw.isascii() and raw.isdigit()):  # int() takes "²", a Unicode digit
        raise ApiError(400, f"Bad Request: {name} must be a non-negative integer")
    value = int(raw) if len(raw) <= _DIGITS else 10 ** _DIGITS  # past any count the mock holds
    if high is not None and value > high:
        raise ApiError(400, f"Bad Request: {name} must be at most {high}")
    return value


def _text(request: ApiRequest, name: str) -> str | None:
    raw = request.args.get(name)
    return raw if raw else None


def jobs(control: Control, request: ApiRequest) -> Any:
    """GET /_mock/jobs[?state=&owner=&offset=&limit=]: every job, newest first, one page of rows.

    ``states`` counts the jobs by state and ``owners`` names their owners, for the filters.
    """
    state = _text(request, "state")
    known = control.engine.vocabulary.job_states
    if state is not None and state not in known:
        raise ApiError(400, f"Bad Request: unknown state {state[:100]!r}; known: {', '.join(known)}")
    offset = _count(request, "offset", 0) or 0
    limit = _count(request, "limit", 50, MAX_ROWS) or 0
    return control.engine.job_table(state=state, owner=_text(request, "owner"), offset=offset, limit=limit)


def job(control: Control, request: ApiRequest) -> Any:
    """GET /_mock/job?id=: a job's timeline (updates, what the clock will bring, ACL, permissions, log)."""
    job_id = request.args.get("id")
    if not job_id:
        raise ApiError(400, "Bad Request: id is required (GET /_mock/job?id=...)")
    return control.engine.job_detail(job_id)


def timeline(control: Control, request: ApiRequest) -> Any:
    """GET /_mock/timeline[?limit=n]: the clock, the next events it will bring, and the script's next step."""
    return control.engine.upcoming(_count(request, "limit", 10, MAX_ROWS) or 0)


def _statuses(raw: str | None) -> range | None:
    """A status filter: one status (``404``) or a class (``4xx``)."""
    if raw is None:
        return None
    if len(raw) == 3 and raw[0] in "12345" and raw[1:].lower() == "xx":
        first = int(raw[0]) * 100
        return range(first, first + 100)
    if len(raw) == 3 and raw.isascii() and raw.isdigit():
        return range(int(raw), int(raw) + 1)
    raise ApiError(400, "Bad Request: status must be a status such as 404, or a class such as 4xx")


def journal(control: Control, request: ApiRequest) -> Any:
    """GET /_mock/journal[?limit=n&operation=&status=&before=&verdicts=true]: the recent requests and answers,
    oldest first.

    ``operation`` keeps one operation's requests (``-``: requests of no operation), ``status`` one status or
    class (``4xx``), ``before`` the entries older than that ``seq``; ``matched`` counts the entries that pass
    the filters. With ``verdicts=true`` each entry has the contract's verdict on its request and answer.
    """
    limit = _count(request, "limit", None)
    operation = _text(request, "operation")
    if operation is not None and operation != NO_OPERATION and operation not in control.contract.spec.operations:
        raise ApiError(400, f"Bad Request: unknown operation {operation[:100]!r}; known: "
                            f"{', '.join(control.contract.spec.operations)} and {NO_OPERATION} (no operation)")
    found = control.journal.select(limit=limit, operation=operation, statuses=_statuses(_text(request, "status")),
                                   before=_count(request, "before", None))
    verdicts = request.args.get("verdicts") == "true"

    def shown(entry: Entry) -> bytes:
        item = entry.to_dict()
        return encode({**item, "verdict": control.verdicts.of(entry, item)} if verdicts else item)

    # Encoded an entry at a time: the bodies' JSON never sits in memory as objects all at once (a journal of
    # 4 MiB of entries, each a body of 1,300 empty objects, is a million dicts).
    head = encode({**found.counts(), "matched": found.matched})
    return b"".join([head[:-1], b',"entries":[', b",".join(shown(entry) for entry in found.entries), b"]}"])
