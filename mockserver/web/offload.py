"""Which requests the socket server answers in its thread pool rather than in its one loop.

The server runs the app in its loop's thread, one request at a time: a request that takes long there makes
every other client wait, whatever the engine's lock allows. So these go to the pool, where the engine's lock is
what they share with the rest (and that they hold only for a snapshot, ``Engine.browse``):

- every call while a latency fault is set, so that the fault delays its own call and no other;
- browse and search, whose work (filtering, sorting and rendering a page) grows with the store;
- a request whose body is larger than ``LARGE_BODY_BYTES`` (or streamed): parsing and validating up to 1 MiB
  of JSON takes tens of milliseconds.

A retrieve, by far the most frequent call, stays in the loop: the pool costs it a hop between threads.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from contracts.spec import Spec
from mockserver.web.faults import Faults
from mockserver.web.requests import large_body

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment

__all__ = ["SCANS", "Offload"]

#: The operations whose work grows with the store.
SCANS = ("jobs.browse", "jobs.search")


class Offload:
    """The server's ``offload(environ)``: whether a request is answered in the thread pool."""

    def __init__(self, spec: Spec, faults: Faults, scans: Iterable[str] = SCANS) -> None:
        self.faults = faults
        self._paths: set[tuple[str, str]] = set()
        for operation_id in scans:
            operation = spec.operation(operation_id)
            method = operation.method.upper()
            self._paths.add((method, operation.path))
            if method == "GET":
                self._paths.add(("HEAD", operation.path))

    def __call__(self, environ: WSGIEnvironment) -> bool:
        return self.faults.delays or large_body(environ) or \
            (environ.get("REQUEST_METHOD", ""), environ.get("PATH_INFO", "")) in self._paths
