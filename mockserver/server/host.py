"""What a connection needs of the server that accepted it (``HttpServer`` is one): a protocol, so the parts of
the server import each other in one direction only."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Protocol

from mockserver.server.framing import Answer
from mockserver.server.limits import Limits

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment

__all__ = ["Host"]


class Host(Protocol):
    """The server as its connections see it."""

    host: str
    port: int
    limits: Limits
    websocket: Any  # a WebSocketApp, or None
    ws_path: str
    offload: Callable[[WSGIEnvironment], bool] | None
    dropped_readers: int

    def admit(self, connection: Any) -> None:
        """A new connection."""

    def forget(self, connection: Any) -> None:
        """A connection has ended."""

    def track(self, task: asyncio.Task[None]) -> None:
        """Keep a task until it is done."""

    def executor(self) -> ThreadPoolExecutor:
        """The pool for offloaded requests."""

    def call_app(self, environ: WSGIEnvironment) -> Answer:
        """Run the WSGI app."""

    def logged(self, client: str, method: str, target: str, status: str, started: float) -> None:
        """An access-log line."""

    def say(self, what: str) -> None:
        """A line on the error stream."""

    def report(self, what: str) -> None:
        """A failure with its traceback on the error stream."""
