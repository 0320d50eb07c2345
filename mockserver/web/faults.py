"""Faults injected on purpose, for consumers' resilience tests: latency and forced error answers."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from mockserver.web.errors import ApiError

__all__ = ["MAX_LATENCY_MS", "Fault", "FaultError", "Faults", "LatencyWaits", "parse_faults"]

MAX_LATENCY_MS = 60_000
_KEYS = ("operation", "status", "why", "latencyMs", "times")


class FaultError(ValueError):
    """A fault that cannot be set, with the reason in plain words."""


@dataclass
class Fault:
    """For ``operation`` (an operationId, or ``*`` for all): wait ``latency_ms``, then answer ``status``.

    ``status`` None means "answer normally after the delay". ``times`` None means until cleared.
    """

    operation: str = "*"
    status: int | None = None
    why: str | None = None
    latency_ms: int = 0
    times: int | None = None

    def describe(self) -> str:
        """A few words for the request log: ``status 503``, ``latency 200 ms``, ``status 503 after 200 ms``."""
        if self.status is None:
            return f"latency {self.latency_ms} ms"
        return f"status {self.status}" + (f" after {self.latency_ms} ms" if self.latency_ms else "")

    def to_dict(self) -> dict[str, Any]:
        """The fault as the admin API shows it."""
        return {"operation": self.operation, "status": self.status, "why": self.why,
                "latencyMs": self.latency_ms, "times": self.times}


def parse_faults(raw: Any, operations: Iterable[str]) -> list[Fault]:
    """Faults from their JSON or YAML form; ``FaultError`` naming the first mistake."""
    known = set(operations) | {"*"}
    if not isinstance(raw, list):
        raise FaultError("faults must be a list of {operation, status, why, latencyMs, times}")
    return [_fault(item, f"faults[{index}]", known) for index, item in enumerate(raw)]


def _fault(item: Any, where: str, known: set[str]) -> Fault:
    if not isinstance(item, Mapping):
        raise FaultError(f"{where} must be an object")
    unknown = sorted(set(item) - set(_KEYS))
    if unknown:
        raise FaultError(f"{where}: unknown keys {', '.join(unknown)}")
    operation = item.get("operation", "*")
    if not isinstance(operation, str) or operation not in known:
        raise FaultError(f"{where}: unknown operation {operation!r}; known: {', '.join(sorted(known))}")
    status = item.get("status")
    if status is not None and (not _is_int(status) or not 400 <= status <= 599):
        raise FaultError(f"{where}: status must be an error status between 400 and 599")
    latency = item.get("latencyMs", 0)
    if not _is_int(latency) or not 0 <= latency <= MAX_LATENCY_MS:
        raise FaultError(f"{where}: latencyMs must be between 0 and {MAX_LATENCY_MS}")
    times = item.get("times")
    if times is not None and (not _is_int(times) or times < 1):
        raise FaultError(f"{where}: times must be a positive integer (or absent: until cleared)")
    why = item.get("why")
    if why is not None and not isinstance(why, str):
        raise FaultError(f"{where}: why must be a string")
    return Fault(operation, status, why, latency, times)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


class Faults:
    """The active faults; the first that matches an operation applies, and counts down if limited."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._lock = threading.Lock()

    def replace(self, faults: Iterable[Fault]) -> None:
        """Make ``faults`` the active set."""
        with self._lock:
            self._faults = list(faults)

    def clear(self) -> None:
        """Remove every fault."""
        self.replace(())

    @property
    def delays(self) -> bool:
        """Whether a fault with a latency is set (read without the lock: the server asks on every request)."""
        return any(fault.latency_ms for fault in self._faults)

    def take(self, operation: str) -> Fault | None:
        """The fault to apply to this call of ``operation``, if any."""
        if not self._faults:
            return None
        with self._lock:
            for fault in self._faults:
                if fault.operation in ("*", operation):
                    if fault.times is not None:
                        fault.times -= 1
                        if fault.times == 0:
                            self._faults.remove(fault)
                    return Fault(fault.operation, fault.status, fault.why, fault.latency_ms, None)
        return None

    def snapshot(self) -> list[dict[str, Any]]:
        """The active faults as data."""
        with self._lock:
            return [fault.to_dict() for fault in self._faults]


class LatencyWaits:
    """Where latency faults wait: ``wake`` ends every wait at once, and skips those to come until ``resume`` (the
    server stops, and no thread may hold the process)."""

    def __init__(self) -> None:
        self._awake = threading.Event()

    def wait(self, seconds: float) -> None:
        """Wait out a latency fault; ``ApiError`` 503 if ``wake`` ends the wait (the server is stopping)."""
        if self._awake.wait(seconds):
            raise ApiError(503, "Service Unavailable: the mock is stopping")

    def wake(self) -> None:
        """End every wait now, and those to come until ``resume``."""
        self._awake.set()

    def resume(self) -> None:
        """Latency faults wait again (the server starts)."""
        self._awake.clear()
