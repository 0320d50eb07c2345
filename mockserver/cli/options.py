"""What ``serve`` and ``proxy`` share on the command line: option types, and what listening may go wrong with."""

from __future__ import annotations

import argparse
import ipaddress
import socket
from collections.abc import Callable

__all__ = ["checked", "is_loopback", "listen_error", "whole"]

#: The errnos of a failed name lookup: socket.create_server re-raises one as a plain OSError.
_LOOKUP_FAILED = {getattr(socket, name) for name in ("EAI_NONAME", "EAI_NODATA", "EAI_FAIL", "EAI_ADDRFAMILY")
                  if hasattr(socket, name)}


def whole(minimum: int, meaning: str) -> Callable[[str], int]:
    """An option type: a whole number of at least ``minimum`` (below it, the number "is ``meaning``")."""
    def check(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{value} is {meaning}")
        return value
    return check


def checked(normalise: Callable[[str], object]) -> Callable[[str], str]:
    """An option type: the text as ``normalise`` spells it; its ``ValueError`` is the usage error."""
    def check(text: str) -> str:
        try:
            return str(normalise(text))
        except ValueError as error:
            raise argparse.ArgumentTypeError(str(error)) from None
    return check


def is_loopback(host: str) -> bool:
    """Whether listening on ``host`` keeps other machines out."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def listen_error(host: str, port: int, error: OSError | None = None) -> str | None:
    """Why the server cannot listen on ``host``:``port`` (``error`` from binding, or None before trying)."""
    where = f"cannot listen on {host}:{port}"
    if not host.strip():  # the socket would take "" as every interface
        return f"{where}: {host!r} is not an address or a name of this machine"
    if error is None:
        return None
    if isinstance(error, socket.gaierror) or error.errno in _LOOKUP_FAILED or (error.errno or 0) < 0:
        return f"{where}: {host!r} is not an address or a name of this machine"
    return f"{where}: {error.strerror}"
