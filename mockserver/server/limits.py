"""What one client may cost the server; past these limits it gets a JSON error or is disconnected."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Limits"]


@dataclass(frozen=True)
class Limits:
    """The server's bounds, per connection and in all; every one has a test in tests/mockserver/test_socket.py."""

    #: Connections at once; a new one past this drops the connection that has been idle longest (a kept-alive
    #: one, or one whose request line and headers are still arriving), or itself if none is idle.
    max_connections: int = 1000
    #: From a request's first byte to the end of its headers: a client that sends them slowly (slow-loris) is
    #: disconnected after this many seconds.
    header_timeout_s: float = 10.0
    #: A kept-alive connection with no request in progress is closed after this many seconds.
    idle_timeout_s: float = 60.0
    #: Request line and headers together; past it the answer is 431 in UCloud's JSON.
    max_header_bytes: int = 256 * 1024
    #: A body on the wire; past it 413 (the app itself refuses a body past 1 MiB, with the same answer).
    max_body_bytes: int = 64 * 1024 * 1024
    #: Requests parsed ahead of the one being answered before the server stops reading.
    max_pipelined: int = 16
    #: After an error answer to a request still arriving, the rest of it is read and dropped for at most this
    #: long, so that the client reads the answer instead of a reset (a "lingering close").
    linger_s: float = 5.0
    #: A WebSocket message from the client (an envelope); past it the connection is closed with 1009.
    max_message_bytes: int = 1024 * 1024
    #: Frames written to a WebSocket client and not yet read by it; past it the client is dropped (close code
    #: 1008), so a client that never reads cannot make the server hold frames without bound.
    max_unread_bytes: int = 1024 * 1024
