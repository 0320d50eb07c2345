"""``jobs.follow`` in a verification: follow a job on the target, collect its frames, check them.

Over HTTP the stream is a WebSocket at the contract's address (``jobs.asyncapi.yaml``), opened with the
``websockets`` client library; in process a mock may hand its own stream over. ``stream_checks`` checks what
a stream gave.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any, Protocol

from contracts.errors import ContractViolation, Violation
from contracts.streams import default_streams

__all__ = ["FOLLOW", "Follow", "Following", "InProcessFollowing", "SocketFollowing", "envelope"]

FOLLOW = "jobs.follow"
Frame = dict[str, Any]


class Following(Protocol):
    """One open stream of a target."""

    def take(self, wait: float) -> list[Frame]:
        """The frames that have arrived, waiting up to ``wait`` seconds for the first; [] when none came."""
        ...

    def close(self) -> None:
        """Stop following."""
        ...


def envelope(job_id: str, token: str, project: str | None, stream_id: str) -> str:
    """UCloud's WSRequest for jobs.follow."""
    return json.dumps({"call": FOLLOW, "streamId": stream_id, "payload": {"id": job_id}, "bearer": token,
                       "project": project, "causedBy": None, "signedIntent": None})


class SocketFollowing:
    """A stream over a WebSocket to ``base_url`` (http becomes ws, https wss) at jobs.follow's address."""

    def __init__(self, base_url: str, token: str, job_id: str, *, project: str | None = None,
                 stream_id: str = "verify", timeout: float = 30.0) -> None:
        from websockets.exceptions import WebSocketException  # noqa: PLC0415 - only where a target is followed
        from websockets.sync.client import connect  # noqa: PLC0415

        address = default_streams()[FOLLOW].address
        url = base_url.replace("https://", "wss://", 1).replace("http://", "ws://", 1).rstrip("/") + address
        try:
            # Entered as a context manager, as websockets 17.1+ asks (else it warns on first use); close() exits it.
            self._socket = connect(url, open_timeout=timeout, max_size=None).__enter__()
        except (OSError, WebSocketException) as error:
            raise ContractViolation(f"WebSocket {address}", [Violation(
                "", "handshake", "a WebSocket for jobs.follow", type(error).__name__,
                f"the target did not open a WebSocket at {address}: {error}")]) from None
        self._socket.send(envelope(job_id, token, project, stream_id))
        self.ended = False

    def take(self, wait: float) -> list[Frame]:
        """Frames until the stream ends or none arrives within ``wait`` seconds (then the next a moment later)."""
        frames: list[Frame] = []
        while not self.ended:
            try:
                frame = json.loads(self._socket.recv(wait if not frames else min(wait, 0.5)))
            except TimeoutError:
                break
            frames.append(frame)
            self.ended = frame.get("type") == "response"
        return frames

    def close(self) -> None:
        """Close the connection."""
        self._socket.close()


class InProcessFollowing:
    """A mock's own stream (an iterator of the frames due, as ``MockServer.follow`` gives it)."""

    def __init__(self, frames: Iterator[Frame]) -> None:
        self._frames = frames

    def take(self, wait: float) -> list[Frame]:
        """The frames due now (an in-process stream never needs to wait)."""
        return list(self._frames)

    def close(self) -> None:
        """Stop following."""
        getattr(self._frames, "close", lambda: None)()


#: Opens a stream: (job id, user, project) -> Following.
Follow = Callable[[str, str | None, str | None], Following]
