"""Clocks in epoch milliseconds: a virtual one that moves only when told, and the system clock."""

from __future__ import annotations

import threading
import time
from typing import Protocol

__all__ = ["Clock", "SystemClock", "VirtualClock"]


class Clock(Protocol):
    """What the engine needs of a clock."""

    def now_ms(self) -> int:
        """The current time, in epoch milliseconds."""
        ...


class VirtualClock:
    """A clock that never reads wall time: it moves forward only through ``advance`` and ``set``."""

    def __init__(self, start_ms: int) -> None:
        self._now = start_ms
        self._lock = threading.Lock()

    def now_ms(self) -> int:
        """The current virtual time."""
        return self._now

    def advance(self, ms: int) -> int:
        """Move forward by ``ms`` (non-negative) and return the new time."""
        if ms < 0:
            raise ValueError("the clock only moves forward: advanceMs must not be negative")
        with self._lock:
            self._now += ms
            return self._now

    def set(self, ms: int) -> int:
        """Move to ``ms``, which must not be in the past, and return it."""
        with self._lock:
            if ms < self._now:
                raise ValueError(f"the clock only moves forward: {ms} is before {self._now}")
            self._now = ms
            return self._now

    def reset(self, ms: int) -> None:
        """Put the clock back to ``ms`` (only for a full reset of the server)."""
        with self._lock:
            self._now = ms


class SystemClock:
    """Wall time, for people who want jobs to progress on their own."""

    def now_ms(self) -> int:
        """The wall clock, in epoch milliseconds."""
        return time.time_ns() // 1_000_000
