"""One record per request for the people watching a mock: what was asked, by whom, what it answered and why.

The app (``web.app``) hands a ``RequestRecord`` to its request-log sink after every request it answers: the Jobs
API, the admin API, the index and the spec, and refusals such as a foreign Host. ``ucloud-jobs serve`` passes a
``StreamLog``, which writes each record as one line of text or of JSON (``--log-format``) to stderr.

A record holds, besides the request line and the status:

- ``wall_ms`` and ``clock_ms``: the wall clock and the mock's (virtual) clock when the answer was ready;
- ``client``: the peer's address; ``user``: who the bearer token named (None before that, or for other calls);
- ``operation``: the operationId, ``admin.<call>`` for the admin API, ``page.<name>`` for the index and the
  spec, ``preflight`` for a CORS preflight; None for a path that names nothing;
- ``duration_ms`` and ``response_bytes``;
- ``why``: the ``why`` of every error answer; ``fault``: the injected fault that shaped the answer, if any;
- ``script``: how the request met the scenario's script (``step 2 of 6``, ``off script: ...``).

Text lines quote nothing a client sent as is: control characters (a path or a JWT ``sub`` with an escape
sequence or a line break) are written as ``\\x1b`` escapes, so one request is always one line.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import IO, Any

__all__ = ["LOG_FORMATS", "RequestRecord", "RequestSink", "StreamLog", "iso_ms", "json_line", "text_line"]

LOG_FORMATS = ("text", "json")
_WHY_LIMIT = 1000  # characters of a why in a log line; the journal and the answer have it whole


def iso_ms(epoch_ms: int) -> str:
    """An epoch-milliseconds time as UTC ISO 8601 with milliseconds (``2021-10-04T06:42:56.235Z``)."""
    try:
        moment = datetime.fromtimestamp(epoch_ms / 1000, tz=timezone.utc)
    except (OverflowError, OSError, ValueError):  # outside what datetime can show
        return str(epoch_ms)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True, slots=True)
class RequestRecord:
    """One request and its answer, as the request log sees it (the fields are in the module's docstring)."""

    wall_ms: int
    clock_ms: int
    client: str
    method: str
    path: str
    query: str
    operation: str | None
    user: str | None
    status: int
    duration_ms: float
    response_bytes: int
    why: str | None = None
    fault: str | None = None
    script: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The record as a JSON object: every field, always present (null when it does not apply)."""
        return {"wallTime": iso_ms(self.wall_ms), "clockMs": self.clock_ms, "clockTime": iso_ms(self.clock_ms),
                "client": self.client, "user": self.user, "method": self.method, "path": self.path,
                "query": self.query, "operation": self.operation, "status": self.status,
                "durationMs": round(self.duration_ms, 3), "responseBytes": self.response_bytes,
                "script": self.script, "fault": self.fault, "why": self.why}


RequestSink = Callable[[RequestRecord], None]


def _printable(text: str) -> str:
    """``text`` with every non-printable character escaped, so that it stays on its line and out of the terminal."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in text)


def text_line(record: RequestRecord) -> str:
    """``WALL [clock CLOCK] CLIENT USER "METHOD TARGET" STATUS OPERATION BYTES DURATION | script | why``."""
    target = record.path + (f"?{record.query}" if record.query else "")
    status = str(record.status) + (f" (injected fault: {record.fault})" if record.fault else "")
    line = (f"{iso_ms(record.wall_ms)} [clock {iso_ms(record.clock_ms)}] {_printable(record.client)} "
            f'{_printable(record.user or "-")} "{_printable(record.method)} {_printable(target)}" {status} '
            f"{record.operation or '-'} {record.response_bytes}B {record.duration_ms:.1f}ms")
    if record.script:
        line += f" | {record.script}"
    if record.why is not None:
        why = record.why if len(record.why) <= _WHY_LIMIT else record.why[:_WHY_LIMIT] + "..."
        line += f" | why: {_printable(why)}"
    return line


def json_line(record: RequestRecord) -> str:
    """The record as one line of JSON (non-ASCII and control characters escaped)."""
    return json.dumps(record.to_dict(), separators=(",", ":"))


class StreamLog:
    """A request-log sink writing one line per record to a stream, in ``text`` or ``json``."""

    def __init__(self, stream: IO[str], fmt: str = "text") -> None:
        if fmt not in LOG_FORMATS:
            raise ValueError(f"unknown log format {fmt!r}; known: {', '.join(LOG_FORMATS)}")
        self.stream = stream
        self._render = json_line if fmt == "json" else text_line
        self._lock = threading.Lock()

    def __call__(self, record: RequestRecord) -> None:
        """Write the record's line; a log that cannot be written is given up, the mock serves on."""
        line = self._render(record) + "\n"
        # A closed pipe or stream is no reason to stop answering requests. stderr is line-buffered (Python 3.9+).
        with self._lock, contextlib.suppress(OSError, ValueError):
            self.stream.write(line)
