"""A stateful mock of the UCloud Jobs API on a deterministic clock.

``create_app(...)`` builds the WSGI application; ``MockServer`` serves it on a socket. Names load on first use,
so importing the package is cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mockserver.app import MockApp, create_app
    from mockserver.clock import SystemClock, VirtualClock
    from mockserver.server import MockServer

__all__ = ["MockApp", "MockServer", "SystemClock", "VirtualClock", "create_app"]

_HOMES = {
    "MockApp": "mockserver.app",
    "create_app": "mockserver.app",
    "SystemClock": "mockserver.clock",
    "VirtualClock": "mockserver.clock",
    "MockServer": "mockserver.server",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'mockserver' has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
