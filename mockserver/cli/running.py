"""Running a server in the foreground until Ctrl-C or SIGTERM, for serve and proxy alike."""

from __future__ import annotations

import signal
from types import FrameType
from typing import Any, Protocol

__all__ = ["run_in_foreground"]


class _Foreground(Protocol):
    def serve_forever(self) -> None: ...

    def stop_soon(self) -> None: ...


def run_in_foreground(server: _Foreground, banner: str) -> None:
    """Print ``banner`` and serve until Ctrl-C or SIGTERM, then put the signal handlers back.

    Both signals stop the server (SIGINT too when a shell started us in the background with it ignored). The
    handlers go in before the banner is printed: whoever reads its URL may stop us at once. They ask the loop to
    stop rather than raise in whatever code the signal interrupts.
    """

    def _stop(signum: int, frame: FrameType | None) -> None:
        server.stop_soon()

    previous: dict[signal.Signals, Any] = {}
    try:
        for stopping in (signal.SIGINT, signal.SIGTERM):
            previous[stopping] = signal.signal(stopping, _stop)
        print(banner, flush=True)
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
