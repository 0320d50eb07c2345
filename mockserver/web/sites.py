"""Which web sites may talk to the mock: the Host header must name it, foreign origins are kept out of the admin
API, and browsers may call the Jobs API only from the origins given with ``--cors``.

A mock left running on a laptop is reachable from every page the developer visits. A page can send "simple"
requests to 127.0.0.1 (no preflight), and a page on a name its author controls can re-point that name at
127.0.0.1 (DNS rebinding) and then read the answers as its own. The Host check stops the second: a rebinding
page's requests carry its own name. The Origin and Content-Type rules of the admin API stop the first.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable, Mapping
from urllib.parse import urlsplit

from mockserver.web.errors import ApiError
from mockserver.web.memo import Memo

__all__ = ["CORS_HEADERS", "CORS_MAX_AGE_S", "SitePolicy", "normalise_host", "normalise_origin", "split_host"]

#: The request headers UCloud's clients send, which a preflight may ask for.
CORS_HEADERS = ("Authorization", "Content-Type", "Project")
CORS_MAX_AGE_S = 600
_SHOWN = 100  # characters of a client's header value quoted back in an error


def split_host(value: str) -> tuple[str, int | None] | None:
    """The name (lower case, without brackets or a final dot) and port of a Host value; None if malformed."""
    value = value.strip().lower()
    if value.startswith("["):
        name, bracket, rest = value[1:].partition("]")
        if not bracket or (rest and not rest.startswith(":")):
            return None
        port = rest[1:] if rest else None
    else:
        name, colon, port_text = value.partition(":")
        port = port_text if colon else None
    if port is not None and not (port.isascii() and port.isdigit() and len(port) <= 5):
        return None
    name = name.removesuffix(".")
    if not name or not all(ch.isascii() and (ch.isalnum() or ch in "-._:") for ch in name):
        return None
    return name, None if port is None else int(port)


def normalise_host(name: str) -> str:
    """A name for ``--allowed-host`` as the Host check compares it; ``ValueError`` if it is not a host name."""
    ip = _address(name.strip().removeprefix("[").removesuffix("]"))
    if ip is not None:
        return str(ip)  # an IPv6 address with or without brackets, in its shortest spelling
    parsed = split_host(name)
    if parsed is None or parsed[1] is not None:
        raise ValueError(f"{name!r} is not a host name (give a name or an address, without a scheme or port)")
    return parsed[0]


def normalise_origin(origin: str) -> str:
    """An origin for ``--cors`` as browsers send it (``http://localhost:3000``); ``ValueError`` otherwise."""
    text = origin.strip().removesuffix("/")
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.path or parts.query or parts.fragment \
            or "@" in parts.netloc or split_host(parts.netloc) is None:
        raise ValueError(f"{origin!r} is not an origin such as http://localhost:3000 (a scheme, a host and maybe "
                         "a port; '*' is not accepted)")
    return f"{parts.scheme}://{parts.netloc}".lower()


def _address(name: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(name)
    except ValueError:
        return None


class SitePolicy:
    """The names the server answers to, the origins that are not foreign, and the origins CORS answers."""

    def __init__(self, allowed_hosts: Iterable[str] = (), cors_origins: Iterable[str] = ()) -> None:
        self.allowed_hosts = frozenset(normalise_host(name) for name in allowed_hosts)
        self.cors_origins = frozenset(normalise_origin(origin) for origin in cors_origins)
        self._bound: set[str] = set()
        self._any_address = False
        self._verdicts: Memo[str, bool] = Memo(entries=256, key_limit=_SHOWN, size=len)

    def bind(self, address: str) -> None:
        """Answer to the address the server listens on too; on a wildcard address, to every address."""
        ip = _address(address.strip("[]"))
        if ip is not None and ip.is_unspecified:
            self._any_address = True
        self._bound.add(address.strip("[]").lower())
        self._verdicts.clear()

    def names_the_server(self, name: str) -> bool:
        """Whether a host name (from ``split_host``) is one of the server's."""
        if name == "localhost" or name in self.allowed_hosts or name in self._bound:
            return True
        ip = _address(name)
        # An address cannot be re-pointed by DNS: on a wildcard address any address may reach the server.
        return ip is not None and (ip.is_loopback or self._any_address or str(ip) in self.allowed_hosts)

    def check_host(self, host: str | None) -> None:
        """403 for a Host header that does not name the server (none at all is no browser's: it passes)."""
        if not host or not host.strip():
            return
        if self._verdicts.get(host, lambda: self._host_ok(host)):
            return
        shown = host[:_SHOWN]
        raise ApiError(403, f"The Host header {shown!r} does not name this server: it answers to localhost, "
                            "127.0.0.1, [::1] and the address it listens on (start it with --allowed-host NAME to "
                            "answer to another name)")

    def _host_ok(self, host: str) -> bool:
        parsed = split_host(host)
        return parsed is not None and self.names_the_server(parsed[0])

    # ------------------------------------------------------------------ origins
    def is_foreign(self, origin: str, host: str | None) -> bool:
        """Whether a page of ``origin`` is not the server itself, nor a site it was told about."""
        try:
            normal = normalise_origin(origin)
        except ValueError:
            return True  # "null" (a sandboxed page, a file) and anything malformed
        if normal in self.cors_origins:
            return False
        parts = urlsplit(normal)
        name, port = split_host(parts.netloc) or ("", None)
        if name in self.allowed_hosts:
            return False
        own = split_host(host or "")
        if parts.scheme != "http" or own is None or not self.names_the_server(name):
            return True
        return (port or 80) != (own[1] or 80)

    def check_admin_origin(self, origin: str | None, host: str | None) -> None:
        """403 for a call of the admin API from a page of a foreign ``origin`` (the ``Host`` names the server)."""
        if origin is not None and self.is_foreign(origin, host):
            raise ApiError(403, f"The admin API refuses calls from web pages of another origin ({origin[:_SHOWN]!r}); "
                                "call it from a program, without an Origin header")

    def refuse_handshake(self, headers: Mapping[str, str], foreign: Callable[[str], str]) -> tuple[int, str] | None:
        """Why a WebSocket handshake is refused (403), or None: a ``Host`` that does not name the server, or a page
        of a foreign origin (a browser lets any page open a WebSocket), told by ``foreign(origin shown)``."""
        try:
            self.check_host(headers.get("host"))
        except ApiError as refused:
            return refused.code or 403, refused.why
        origin = headers.get("origin")
        if origin is not None and self.is_foreign(origin, headers.get("host")):
            return 403, foreign(repr(origin[:_SHOWN]))
        return None

    # ------------------------------------------------------------------ CORS for the Jobs API
    def cors_headers(self, origin: str | None) -> dict[str, str]:
        """The CORS headers of an answer of the Jobs API to a request from ``origin`` (none when CORS is off)."""
        if not self.cors_origins:
            return {}
        if origin is not None and origin.strip().lower() in self.cors_origins:
            return {"Access-Control-Allow-Origin": origin.strip(), "Vary": "Origin"}
        return {"Vary": "Origin"}

    def preflight(self, origin: str | None, methods: Iterable[str]) -> dict[str, str]:
        """The headers of the answer to a preflight; 403 for an origin CORS does not answer."""
        if origin is None or origin.strip().lower() not in self.cors_origins:
            shown = (origin or "")[:_SHOWN]
            raise ApiError(403, f"CORS: the origin {shown!r} may not call this mock from a browser (start it with "
                                f"--cors {shown or 'ORIGIN'} to allow that origin)", headers={"Vary": "Origin"})
        return {**self.cors_headers(origin), "Access-Control-Allow-Methods": ", ".join(methods),
                "Access-Control-Allow-Headers": ", ".join(CORS_HEADERS),
                "Access-Control-Max-Age": str(CORS_MAX_AGE_S)}
