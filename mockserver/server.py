"""The one real-socket server: the app on waitress, bound before it starts, stopped without delay.

Waitress keeps connections alive and serves several times the requests per second of Werkzeug's development
server on this kind of machine; the app stays plain Werkzeug. Errors waitress raises before the app is called
(a malformed request line, headers or body past its limits) are answered as UCloud's JSON error too.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable
from typing import IO, TYPE_CHECKING, Any

from waitress.channel import HTTPChannel
from waitress.server import create_server
from waitress.task import ErrorTask

from mockserver.web.encoding import JSON_TYPE
from mockserver.web.errors import error_body

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

__all__ = ["AccessLog", "HttpServer"]

MAX_BODY_ON_THE_WIRE = 64 * 1024 * 1024  # bodies past 1 MiB still reach the app, which answers 413 in JSON


class _JsonErrorTask(ErrorTask):  # type: ignore[misc]
    """Waitress's own error answers (400, 413, 431 ...) in UCloud's error shape instead of plain text."""

    def execute(self) -> None:
        error = self.request.error
        # The app says "Payload Too Large" for a body past 1 MiB; say the same for one past waitress's limit.
        body = error_body("Payload Too Large" if error.code == 413 else str(error.reason))
        self.status = f"{error.code} {error.reason}"
        self.response_headers.append(("Content-Type", JSON_TYPE))
        self.set_close_on_finish()
        self.content_length = len(body)
        self.write(body)


class _JsonErrorChannel(HTTPChannel):  # type: ignore[misc]
    error_task_class = _JsonErrorTask


class AccessLog:
    """WSGI middleware writing one line per request: client, method, path, status, bytes, milliseconds."""

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
        elapsed = (time.perf_counter() - started) * 1000
        query = environ.get("QUERY_STRING")
        target = environ.get("PATH_INFO", "") + (f"?{query}" if query else "")
        line = (f'{environ.get("REMOTE_ADDR", "-")} "{environ.get("REQUEST_METHOD", "")} {target[:200]}" '
                f"{seen[0].split(' ', 1)[0] if seen else '-'} {sum(map(len, body))} {elapsed:.1f}ms\n")
        with self._lock:
            self.stream.write(line)
        return body


class HttpServer:
    """A WSGI app on a socket. The port is bound in the constructor, so ``url`` is known before ``start``."""

    def __init__(self, app: WSGIApplication, host: str = "127.0.0.1", port: int = 0, *, threads: int = 4,
                 access_log: IO[str] | None = None) -> None:
        application: WSGIApplication = AccessLog(app, access_log) if access_log is not None else app
        logging.getLogger("waitress.queue").setLevel(logging.ERROR)  # "task queue depth" under load is expected
        self._server: Any = create_server(
            application, host=host, port=port, threads=threads, ident="ucloud-jobs-mock",
            clear_untrusted_proxy_headers=False, max_request_body_size=MAX_BODY_ON_THE_WIRE,
            connection_limit=1000, channel_timeout=60,
        )
        self._server.channel_class = _JsonErrorChannel
        self.host: str = str(self._server.effective_host)
        self.port: int = int(self._server.effective_port)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The base URL, e.g. ``http://127.0.0.1:8080``."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def serve_forever(self) -> None:
        """Serve in this thread until ``stop`` is called (from another thread) or the process is interrupted."""
        try:
            self._server.run()
        finally:
            # waitress returns from a KeyboardInterrupt with its sockets still open: close them here too.
            self._close_everything()
            self._server.task_dispatcher.shutdown(timeout=5)

    def start(self) -> HttpServer:
        """Serve in a background thread; returns self."""
        self._thread = threading.Thread(target=self.serve_forever, name="ucloud-jobs-mock", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Close the listening socket and every connection, and wait for the server thread to end."""
        thread, self._thread = self._thread, None
        if thread is not None and thread.is_alive():
            self._server.trigger.pull_trigger(self._close_everything)
            thread.join(timeout=10)
        else:  # never started, or already stopped: no loop is running to close the sockets
            self._close_everything()
            self._server.task_dispatcher.shutdown(timeout=5)

    def _close_everything(self) -> None:
        # Runs inside the server's loop: once its socket map is empty, the loop returns.
        for channel in list(self._server._map.values()):
            if channel is not self._server and channel is not self._server.trigger:
                channel.close()
        self._server.close()

    def __enter__(self) -> HttpServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

