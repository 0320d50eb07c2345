"""``HttpServer``: a WSGI app and a WebSocket app on one port, served by one asyncio loop in one thread.

The app runs in the loop's thread, one request at a time, so the state stays in one process and one thread
sees it; a request that would make every other client wait (one under a latency fault) is sent to a thread
pool instead (``offload``). The socket is bound in the constructor, so ``port`` and ``url`` are known before
``start``; ``stop`` closes the listening socket and every connection and returns when the loop has ended.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import sys
import threading
import traceback
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import IO, TYPE_CHECKING

from mockserver.server.access_log import AccessLog
from mockserver.server.connection import Connection
from mockserver.server.framing import Answer, error_answer, run_wsgi
from mockserver.server.limits import Limits
from mockserver.server.websocket import WebSocketApp

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication, WSGIEnvironment

__all__ = ["SWEEP_S", "HttpServer"]

SWEEP_S = 0.25  # how often deadlines are checked: one sweep costs less than a timer per request
BACKLOG = 1024


class HttpServer:
    """A WSGI app (and, at ``ws_path``, a WebSocket app) on a socket; port 0 picks a free port.

    ``start()`` serves from a background thread and returns once connections are accepted; ``serve_forever()``
    serves from the calling thread (``ucloud-jobs serve``). ``offload(environ)`` saying True sends that request
    to a pool of ``threads`` threads instead of the loop. ``access_log`` gets one line per request.
    """

    def __init__(self, app: WSGIApplication, host: str = "127.0.0.1", port: int = 0, *,
                 websocket: WebSocketApp | None = None, ws_path: str = "/api/jobs", limits: Limits | None = None,
                 offload: Callable[[WSGIEnvironment], bool] | None = None, threads: int = 4,
                 access_log: IO[str] | None = None, errors: IO[str] | None = None,
                 loop_factory: Callable[[], asyncio.AbstractEventLoop] = asyncio.new_event_loop) -> None:
        self.log = AccessLog(app, access_log) if access_log is not None else None
        self.app: WSGIApplication = self.log if self.log is not None else app
        self.websocket, self.ws_path, self.offload = websocket, ws_path, offload
        self.limits = limits or Limits()
        self.errors = errors
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self._socket = socket.create_server((host, port), family=family, backlog=BACKLOG)
        self._socket.setblocking(False)
        address = self._socket.getsockname()
        self.host: str = str(address[0])
        self.port: int = int(address[1])
        #: WebSocket clients dropped for leaving too many frames unread.
        self.dropped_readers = 0
        self._threads, self._loop_factory = max(1, threads), loop_factory
        self._executor: ThreadPoolExecutor | None = None
        self._connections: dict[Connection, None] = {}  # insertion order: the oldest first
        self._tasks: set[asyncio.Task[None]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._sweep_handle: asyncio.TimerHandle | None = None
        self._running = threading.Event()
        self._stop_requested = False
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The base URL, e.g. ``http://127.0.0.1:8080``."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def connections(self) -> int:
        """How many client connections are open."""
        return len(self._connections)

    # ------------------------------------------------------------------ lifetime
    def start(self) -> HttpServer:
        """Serve in a background thread; returns self once the loop accepts connections."""
        self._thread = threading.Thread(target=self.serve_forever, name="ucloud-jobs-mock", daemon=True)
        self._thread.start()
        self._running.wait()
        return self

    def serve_forever(self) -> None:
        """Serve in this thread until ``stop`` is called (from another thread) or the process is interrupted."""
        loop = self._loop = self._loop_factory()
        try:
            loop.run_until_complete(self._serve(loop))
        finally:
            loop.run_until_complete(self._shut_down())
            loop.close()
            self._socket.close()
            if self._executor is not None:
                self._executor.shutdown(wait=False, cancel_futures=True)
            self._running.set()  # a start() that waits for a loop that failed to come up returns too

    def stop_soon(self) -> None:
        """Ask the loop to stop, from any thread or from a signal handler; ``serve_forever`` returns soon after."""
        self._stop_requested = True
        loop, stopping = self._loop, self._stopping
        if loop is not None and stopping is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop closed in between
                loop.call_soon_threadsafe(stopping.set)

    def stop(self) -> None:
        """Close the listening socket and every connection, and wait for the loop to end; safe to repeat."""
        thread, self._thread = self._thread, None
        loop = self._loop
        self.stop_soon()
        if thread is not None:
            thread.join(timeout=10)
        elif loop is None:
            self._socket.close()

    def __enter__(self) -> HttpServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    async def _serve(self, loop: asyncio.AbstractEventLoop) -> None:
        self._stopping = asyncio.Event()
        if self._stop_requested:  # asked before the loop was there to hear it
            self._stopping.set()
        server = await loop.create_server(lambda: Connection(self, loop), sock=self._socket)
        self._running.set()
        self._sweep_handle = loop.call_later(SWEEP_S, self._sweep, loop)
        try:
            await self._stopping.wait()
        finally:
            if self._sweep_handle is not None:
                self._sweep_handle.cancel()
            server.close()

    def _sweep(self, loop: asyncio.AbstractEventLoop) -> None:
        """Close the connections whose deadline has passed."""
        now = loop.time()
        for connection in [each for each in self._connections if each.deadline is not None and each.deadline < now]:
            connection.abort()
        self._sweep_handle = loop.call_later(SWEEP_S, self._sweep, loop)

    async def _shut_down(self) -> None:
        for connection in list(self._connections):
            connection.abort()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.sleep(0)  # let the transports report their end

    # ------------------------------------------------------------------ for the connections
    def admit(self, connection: Connection) -> None:
        """Count a new connection; at the limit, drop the one idle longest (or, if none is, the new one)."""
        self._connections[connection] = None
        if len(self._connections) > self.limits.max_connections:
            victim = next((each for each in self._connections if each.idle()), connection)
            victim.abort()
            self._connections.pop(victim, None)

    def forget(self, connection: Connection) -> None:
        """A connection has ended."""
        self._connections.pop(connection, None)

    def track(self, task: asyncio.Task[None]) -> None:
        """Keep a task until it is done (and cancel it at shutdown)."""
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def executor(self) -> ThreadPoolExecutor:
        """The thread pool for offloaded requests, started on first use."""
        if self._executor is None:
            self._executor = ThreadPoolExecutor(self._threads, thread_name_prefix="ucloud-jobs-mock")
        return self._executor

    def call_app(self, environ: WSGIEnvironment) -> Answer:
        """Run the app to the end: status, headers, body; a failure of the app itself is a JSON 500."""
        try:
            return run_wsgi(self.app, environ)
        except Exception:  # the app answers its own errors; this is a bug below it
            self.report(f"{environ['REQUEST_METHOD']} {environ['PATH_INFO']} failed")
            return error_answer(500, "Internal Server Error")

    def logged(self, client: str, method: str, target: str, status: str, started: float) -> None:
        """One access-log line for what the server answered without the WSGI app (a WebSocket handshake)."""
        if self.log is not None:
            self.log.line(client, method, target, status=status, size=0, started=started)

    def say(self, what: str) -> None:
        """One line about the server's own doing, on the error stream."""
        print(f"ucloud-jobs mock: {what}", file=self.errors or sys.stderr, flush=True)

    def report(self, what: str) -> None:
        """A failure below the app, with its traceback, on the error stream."""
        self.say(f"{what}:\n{traceback.format_exc()}")

