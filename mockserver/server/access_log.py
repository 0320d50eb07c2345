"""One line per request: client, method, target, status, bytes and milliseconds (``serve`` without ``-q``)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

__all__ = ["AccessLog"]

MAX_TARGET = 200  # characters of the request target a line shows


class AccessLog:
    """WSGI middleware writing one line per request; ``line`` writes one for what the server answers itself."""

    def __init__(self, app: WSGIApplication, stream: IO[str]) -> None:
        self.app = app
        self.stream = stream
        self._lock = threading.Lock()

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        started = time.perf_counter()
        seen: list[str] = []

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            seen.append(status)
            return start_response(status, headers, exc_info)

        body = list(self.app(environ, capture))
        query = environ.get("QUERY_STRING")
        target = environ.get("PATH_INFO", "") + (f"?{query}" if query else "")
        self.line(environ.get("REMOTE_ADDR", "-"), environ.get("REQUEST_METHOD", ""), target,
                  status=seen[0].split(" ", 1)[0] if seen else "-", size=sum(map(len, body)), started=started)
        return body

    def line(self, client: str, method: str, target: str, *, status: str, size: int, started: float) -> None:
        """Write one line; ``started`` is the request's ``time.perf_counter()``."""
        elapsed = (time.perf_counter() - started) * 1000
        text = f'{client or "-"} "{method} {target[:MAX_TARGET]}" {status} {size} {elapsed:.1f}ms\n'
        with self._lock:
            self.stream.write(text)
