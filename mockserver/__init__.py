"""A stateful mock of the UCloud Jobs API on a deterministic clock.

``MockServer`` runs it on a socket for tests and tools (``with MockServer() as mock: ...``); ``create_app``
builds the WSGI application alone. Names load on first use, so importing the package is cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from contracts._lazy import lazy_attributes

if TYPE_CHECKING:
    from mockserver.api import MockServer
    from mockserver.domain.clock import SystemClock, VirtualClock
    from mockserver.web.app import MockApp, create_app

__all__ = ["MockApp", "MockServer", "SystemClock", "VirtualClock", "create_app"]

_HOMES = {
    "MockApp": "mockserver.web.app",
    "create_app": "mockserver.web.app",
    "SystemClock": "mockserver.domain.clock",
    "VirtualClock": "mockserver.domain.clock",
    "MockServer": "mockserver.api",
}


__getattr__, __dir__ = lazy_attributes("mockserver", _HOMES, globals())
