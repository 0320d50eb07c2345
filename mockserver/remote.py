"""The control plane of a mock over HTTP: ``contracts.testing.control.MockControl`` for a URL.

``ucloud-jobs verify`` and the HTTP transport use it when the target is a mock; the admin API's paths come
from its route table, so nothing here types a URL of its own.
"""

from __future__ import annotations

import http.client
import json
from typing import Any
from urllib.parse import urlsplit

from contracts.testing.control import Stage
from mockserver.web.admin import ADMIN_PATHS

__all__ = ["AdminCallFailed", "HttpControl"]


class AdminCallFailed(RuntimeError):
    """The mock refused an admin call; the message carries its answer."""


class HttpControl:
    """The admin API of the mock at ``base_url``."""

    def __init__(self, base_url: str, *, timeout: float = 30.0, headers: dict[str, str] | None = None) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"{base_url!r} is not an http(s) URL")
        self._https = parts.scheme == "https"
        self._host = parts.hostname
        self._port = parts.port
        self._prefix = parts.path.rstrip("/")
        self._timeout = timeout
        self._headers = dict(headers or {})

    @classmethod
    def probe(cls, base_url: str, *, timeout: float = 30.0) -> HttpControl | None:
        """A control of ``base_url`` if it is a mock (its admin API answers), else None.

        ``OSError`` when nothing answers at all: the caller says it cannot reach the URL.
        """
        control = cls(base_url, timeout=timeout)
        try:
            status, _ = control.call("health")
        except http.client.HTTPException:
            return None
        return control if status == 200 else None

    def call(self, name: str, document: Any = None) -> tuple[int, Any]:
        """Send the admin call ``name`` (a handler of ``web.admin``) and return status and parsed body."""
        method, path = ADMIN_PATHS[name]
        kind = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
        connection = kind(self._host, self._port, timeout=self._timeout)
        try:
            body = None if document is None else json.dumps(document).encode()
            connection.request(method, self._prefix + path, body=body,
                               headers={"Content-Type": "application/json", **self._headers})
            response = connection.getresponse()
            raw = response.read()
        finally:
            connection.close()
        try:
            return response.status, json.loads(raw)
        except ValueError:
            return response.status, None

    def _ok(self, name: str, document: Any = None) -> Any:
        status, body = self.call(name, document)
        if status != 200:
            why = body.get("why") if isinstance(body, dict) else body
            raise AdminCallFailed(f"the mock refused {name}: {status} {why}")
        return body

    def reset(self) -> None:
        """Forget every job and restart the current scenario."""
        self._ok("reset")

    def advance(self, ms: int) -> int:
        """Move the clock forward by ``ms``."""
        return int(self._ok("move_clock", {"advanceMs": ms})["nowMs"])

    def now_ms(self) -> int:
        """The clock."""
        return int(self._ok("get_clock")["nowMs"])

    def stage(self) -> Stage:
        """The scenario and profile being played."""
        state = self._ok("get_scenario")
        return Stage(str(state["scenario"]), str(state["profile"]), str(state["era"]))

    def load_scenario(self, name: str, profile: str | None = None, era: str | None = None) -> None:
        """Start a scenario by name; ``LookupError`` if the mock has no such scenario."""
        status, body = self.call("load_scenario", {"name": name, "profile": profile, "era": era})
        if status == 404:
            raise LookupError(body.get("why") if isinstance(body, dict) else f"unknown scenario {name!r}")
        if status != 200:
            raise AdminCallFailed(f"the mock refused load_scenario: {status} {body}")
