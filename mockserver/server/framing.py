"""HTTP/1.1 around the parser: a parsed request, its WSGI environ, the app's answer, and the bytes of a response.

httptools (llhttp, the parser of Node.js) reads the bytes; what it hands over is kept in a ``Request``. The
server's own answers (a malformed request, a header or body past its limits, a failed handshake) are UCloud's
JSON error, as the app's are.
"""

from __future__ import annotations

import io
import re
import sys
from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote_to_bytes

from mockserver.web.encoding import JSON_TYPE
from mockserver.web.errors import error_body

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication, WSGIEnvironment

__all__ = ["Answer", "ClientError", "Request", "error_answer", "response_bytes", "run_wsgi", "split_target",
           "unknown_method", "wsgi_environ"]

#: An answer: status line (``200 OK``), headers and body.
Answer = tuple[str, list[tuple[str, str]], bytes]

_TOKEN = re.compile(rb"[!#$%&'*+.^_`|~0-9A-Za-z-]+")  # RFC 9110 token: what a method may be


class ClientError(Exception):
    """A request the server answers itself, with ``status`` and UCloud's ``why``; the connection closes after."""

    def __init__(self, status: int, why: str) -> None:
        super().__init__(why)
        self.status = status
        self.why = why


class Request:
    """One request as the parser handed it over."""

    __slots__ = ("body", "headers", "keep_alive", "method", "upgrade", "url", "version")

    def __init__(self) -> None:
        self.url = b""
        self.headers: list[tuple[bytes, bytes]] = []
        self.body = bytearray()
        self.method = "GET"
        self.upgrade = False
        self.keep_alive = True
        self.version = "1.1"

    def header(self, name: bytes) -> bytes | None:
        """The first value of the header ``name`` (lower case), if any."""
        return next((value for key, value in self.headers if key.lower() == name), None)


def split_target(url: bytes) -> tuple[bytes, bytes]:
    """The path and query of a request target (origin or absolute form), without a fragment.

    Done by hand: httptools' URL parser refuses targets past 64 KiB, which the app answers.
    """
    if not url.startswith(b"/") and b"://" in url:
        authority_and_path = url.split(b"://", 1)[1]
        slash = authority_and_path.find(b"/")
        url = authority_and_path[slash:] if slash >= 0 else b"/"
    path, _, query = url.split(b"#", 1)[0].partition(b"?")
    return path, query


def unknown_method(head: bytes) -> Request | None:
    """A request whose method llhttp does not know (``BREW``), read from its first bytes; None if it is not one.

    llhttp knows only registered methods; the app answers any other token (405 with ``Allow``).
    """
    lines = head.split(b"\r\n\r\n", 1)[0].split(b"\r\n")
    parts = lines[0].split(b" ")
    if len(parts) != 3 or not _TOKEN.fullmatch(parts[0]) or not parts[1].startswith(b"/") or parts[2] not in (
            b"HTTP/1.0", b"HTTP/1.1"):
        return None
    request = Request()
    request.method, request.url, request.version = parts[0].decode("ascii"), parts[1], parts[2][5:].decode()
    request.headers = [(name.strip(), value.strip()) for name, _, value in (line.partition(b":") for line in lines[1:])]
    request.keep_alive = False  # the parser cannot go on after it
    return request


def wsgi_environ(request: Request, server_name: str, port: int, client: str) -> WSGIEnvironment:
    """The WSGI environ of a parsed request (PEP 3333: the path percent-decoded, as latin-1)."""
    raw_path, query = split_target(request.url)
    path = raw_path if b"%" not in raw_path else unquote_to_bytes(raw_path)
    environ: WSGIEnvironment = {
        "REQUEST_METHOD": request.method, "SCRIPT_NAME": "", "PATH_INFO": path.decode("latin-1"),
        "QUERY_STRING": query.decode("latin-1"), "SERVER_NAME": server_name, "SERVER_PORT": str(port),
        "SERVER_PROTOCOL": f"HTTP/{request.version}", "REMOTE_ADDR": client, "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(request.body), "wsgi.errors": sys.stderr,
        "wsgi.multithread": True, "wsgi.multiprocess": False, "wsgi.run_once": False,
        "wsgi.input_terminated": True,
    }
    for raw_name, raw_value in request.headers:
        name, value = raw_name.decode("latin-1").upper().replace("-", "_"), raw_value.decode("latin-1")
        key = name if name in ("CONTENT_TYPE", "CONTENT_LENGTH") else f"HTTP_{name}"
        environ[key] = f"{environ[key]},{value}" if key in environ else value
    return environ


def run_wsgi(app: WSGIApplication, environ: WSGIEnvironment) -> Answer:
    """Call a WSGI app in this thread and collect its answer: status line, headers, body."""
    started: list[Any] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable[[bytes], object]:
        started[:] = [status, headers]
        return lambda data: None

    chunks: Iterable[bytes] = app(environ, start_response)
    try:
        body = b"".join(chunks)
    finally:
        getattr(chunks, "close", lambda: None)()
    return started[0], started[1], body


def error_answer(status: int, why: str) -> Answer:
    """The server's own answer: UCloud's ``CommonErrorMessage`` with ``status``."""
    return f"{status} {HTTPStatus(status).phrase}", [("Content-Type", JSON_TYPE)], error_body(why)


def response_bytes(version: str, answer: Answer, *, head_only: bool, close: bool) -> bytes:
    """The bytes of a response: status line, headers (Content-Length added, Connection: close when closing)."""
    status, headers, body = answer
    lines = [f"HTTP/{version} {status}\r\n"]
    lines += [f"{name}: {value}\r\n" for name, value in headers]
    bodiless = status.startswith(("1", "204", "304"))
    if not bodiless and not any(name.lower() == "content-length" for name, _ in headers):
        lines.append(f"Content-Length: {len(body)}\r\n")
    if close:
        lines.append("Connection: close\r\n")
    lines.append("\r\n")
    return "".join(lines).encode("latin-1") + (b"" if head_only or bodiless else body)
