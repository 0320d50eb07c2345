"""Which headers the proxy passes on: all of them but the hop-by-hop ones (RFC 9110 7.6.1), which belong to one
connection and not to the message, and the framing it redoes itself (Host, Content-Length)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["HOP_BY_HOP", "request_headers", "response_headers"]

#: Connection-specific headers, never passed on; a ``Connection`` header may name more.
HOP_BY_HOP = frozenset({"connection", "keep-alive", "proxy-connection", "proxy-authenticate", "proxy-authorization",
                        "te", "trailer", "transfer-encoding", "upgrade", "expect"})


def _named_in_connection(value: str | None) -> set[str]:
    return {name.strip().lower() for name in (value or "").split(",") if name.strip()}


def request_headers(environ: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The client's headers to pass on, from a WSGI environ: without Host, Content-Length and hop-by-hop ones."""
    dropped = HOP_BY_HOP | {"host", "content-length"} | _named_in_connection(environ.get("HTTP_CONNECTION"))
    headers = []
    if environ.get("CONTENT_TYPE"):
        headers.append(("Content-Type", str(environ["CONTENT_TYPE"])))
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            name = key[5:].replace("_", "-").title()
            if name.lower() not in dropped:
                headers.append((name, str(value)))
    return headers


def response_headers(headers: Iterable[tuple[str, str]], *, head: bool) -> list[tuple[str, str]]:
    """The upstream's headers to pass on: without hop-by-hop ones, and without Content-Length (the server writes
    it for the body it sends; a HEAD answer keeps the upstream's)."""
    pairs = list(headers)
    named = set().union(*(_named_in_connection(value) for name, value in pairs if name.lower() == "connection"))
    dropped = HOP_BY_HOP | named | (set() if head else {"content-length"})
    return [(name, value) for name, value in pairs if name.lower() not in dropped]
