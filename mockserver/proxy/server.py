"""``ProxyServer``: the proxy on a socket, served by the project's one server (``mockserver.server``).

Each call to the upstream blocks its thread until the upstream answers, so every call but those of the admin
API is sent to the server's pool of ``threads`` threads (``offload``), as the mock sends a call under a latency
fault: a slow upstream delays its own calls and no one else's, and the loop goes on reading and answering.
"""

from __future__ import annotations

from typing import IO, TYPE_CHECKING

from mockserver.proxy.app import ProxyApp
from mockserver.proxy.relay import Relay
from mockserver.server import HttpServer, Limits
from mockserver.web.admin import ADMIN_PREFIX

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment

__all__ = ["ProxyServer"]


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
        #: The WebSocket side: jobs.follow passed on.
        self.relay = Relay(app)
        self._server = HttpServer(app, host, port, websocket=self.relay, limits=limits, threads=threads,
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
