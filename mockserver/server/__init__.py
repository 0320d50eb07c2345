"""The one real-socket server: the Werkzeug app and the WebSocket of ``jobs.follow`` on one port, one asyncio loop.

HTTP/1.1 is parsed by httptools (llhttp); WebSocket frames by the sans-I/O protocol of ``websockets``; the app
runs in the loop's thread (benchmarks/STACK.md says why this stack won). Every answer the server gives itself is
UCloud's JSON error; ``Limits`` bounds what one client may cost.

- ``loop``: ``HttpServer``, its lifetime, the connection cap and the deadlines' sweep;
- ``connection``: one client connection, HTTP/1.1 in order, the upgrade;
- ``websocket``: the handshake, messages in, frames out with a bound on what is unread;
- ``framing``: a parsed request, its WSGI environ, the bytes of an answer;
- ``limits`` and ``access_log``.
"""

from __future__ import annotations

from mockserver.server.access_log import AccessLog
from mockserver.server.limits import Limits
from mockserver.server.loop import HttpServer
from mockserver.server.websocket import CLOSE_UNREAD, WebSocket, WebSocketApp, WebSocketSession

__all__ = ["CLOSE_UNREAD", "AccessLog", "HttpServer", "Limits", "WebSocket", "WebSocketApp", "WebSocketSession"]
