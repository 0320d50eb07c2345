"""A stateful mock of the UCloud Jobs API on a deterministic clock.

``create_app(...)`` builds the WSGI application; ``MockServer`` serves it on a socket. Names load on first use,
so importing the package is cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from contracts._lazy import lazy_attributes

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


__getattr__, __dir__ = lazy_attributes("mockserver", _HOMES, globals())
