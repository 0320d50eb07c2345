"""``ProxyServer``: the proxy on a socket, served by the project's one server (``mockserver.server``).

Each call to the upstream blocks its thread until the upstream answers, so every call but those of the admin
API is sent to the server's pool of ``threads`` threads (``offload``), as the mock sends a call under a latency
fault: a slow upstream delays its own calls and no one else's, and the loop goes on reading and answering.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import IO, TYPE_CHECKING

from mockserver.proxy.app import ProxyApp
from mockserver.server import HttpServer, Limits, WebSocket, WebSocketSession
from mockserver.web.admin import ADMIN_PREFIX

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment

__all__ = ["ProxyServer"]


class _NoWebSockets:
    """The WebSocket side of the proxy: jobs.follow is not passed on yet, and a client is told so.

    This is where a relay goes: ``open`` would connect to the upstream's ``/api/jobs`` and pass frames both
    ways, checking the client's envelopes and the upstream's frames as ``contracts.proxy`` checks calls.
    """

    def refuse(self, path: str, headers: Mapping[str, str]) -> tuple[int, str] | None:
        """Every handshake is refused with 501."""
        return 501, "Not Implemented: the proxy does not pass on WebSockets (jobs.follow) yet"

    def open(self, socket: WebSocket) -> WebSocketSession:  # pragma: no cover - refuse() admits no one
        """Never called."""
        raise NotImplementedError


def _upstream_bound(environ: WSGIEnvironment) -> bool:
    path = str(environ.get("PATH_INFO", ""))
    return not (path == ADMIN_PREFIX or path.startswith(ADMIN_PREFIX + "/"))


class ProxyServer:
    """The proxy app on ``host``:``port`` (127.0.0.1 and a free port unless told otherwise).

    The port is bound in the constructor; ``start`` serves from a background thread, ``serve_forever`` from
    the calling one (``ucloud-jobs proxy``); ``stop`` closes the socket and every connection.
    """

    def __init__(self, app: ProxyApp, host: str = "127.0.0.1", port: int = 0, *, threads: int = 8,
                 access_log: IO[str] | None = None, limits: Limits | None = None) -> None:
        self.app = app
        self._server = HttpServer(app, host, port, websocket=_NoWebSockets(), limits=limits, threads=threads,
                                  offload=_upstream_bound, access_log=access_log)
        app.sites.bind(self._server.host)  # the address it listens on names the proxy too
        self.host, self.port, self.url = self._server.host, self._server.port, self._server.url

    def start(self) -> ProxyServer:
        """Serve in a background thread; returns self."""
        self._server.start()
        return self

    def serve_forever(self) -> None:
        """Serve in this thread until ``stop_soon`` (a signal handler) or ``stop``."""
        self._server.serve_forever()

    def stop_soon(self) -> None:
        """Ask ``serve_forever`` to return; safe from a signal handler."""
        self._server.stop_soon()

    def stop(self) -> None:
        """Close the socket and every connection."""
        self._server.stop()
        self.app.upstream.close()

    def __enter__(self) -> ProxyServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
