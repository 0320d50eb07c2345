"""The WebSocket at ``/api/jobs``: UCloud's envelope in, ``jobs.follow`` streams out, every refusal as UCloud's.

A client sends ``{"call": "jobs.follow", "streamId": "0", "payload": {"id": ...}, "bearer": ..., "project": ...}``.
The bearer token is authenticated as an ``Authorization`` header is, the project checked as a ``Project``
header is, and the job needs READ. Every refusal is a ``response`` frame on the message's stream with UCloud's
status and a ``CommonErrorMessage``, and the connection stays open for other streams (jobs.asyncapi.yaml lists
them). When the client goes, its streams go with it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from contracts.errors import ContractViolation
from contracts.streams import default_streams
from contracts.validation import Contract
from mockserver.domain.access import Caller
from mockserver.domain.engine import Engine
from mockserver.domain.errors import DomainError
from mockserver.web.auth import Authenticator
from mockserver.web.encoding import encode
from mockserver.web.errors import ApiError, from_domain
from mockserver.web.follow import Followers, SocketStream, response_frame
from mockserver.web.journal import Journal
from mockserver.web.sites import SitePolicy

__all__ = ["MAX_STREAMS", "FollowApp", "FollowSession", "FollowSocket"]

MAX_STREAMS = 100  # open streams on one connection; past it a new one is refused with 400
FOLLOW = "jobs.follow"


class FollowApp(Protocol):
    """What a session needs of the mock's app (``MockApp`` has it all)."""

    engine: Engine
    contract: Contract
    journal: Journal
    authenticator: Authenticator
    followers: Followers
    sites: SitePolicy
    wall_ms: Callable[[], int]


class FollowSocket:
    """The WebSocket app of the mock (``mockserver.server.WebSocketApp``): a session per connection."""

    def __init__(self, app: FollowApp) -> None:
        self.app = app

    def refuse(self, path: str, headers: Mapping[str, str]) -> tuple[int, str] | None:
        """403 for a Host that does not name the server, and for a web page of a foreign origin: a browser lets
        any page open a WebSocket, and the mock takes any token, so only pages allowed by --cors may."""
        return self.app.sites.refuse_handshake(headers, lambda origin: (
            f"A web page of another origin ({origin}) may not follow jobs here; start the server with --cors ORIGIN "
            "to let its pages"))

    def open(self, socket: Any) -> FollowSession:
        """A new connection."""
        return FollowSession(self.app, socket)


class FollowSession:
    """One WebSocket connection: its messages are calls, each starting a stream or refused on its stream."""

    def __init__(self, app: FollowApp, socket: Any) -> None:
        self.app = app
        self.socket = socket
        self.streams: dict[str, SocketStream] = {}

    def received(self, message: str | bytes) -> None:
        """One message of the client: a call, answered on its stream."""
        stream_id = ""
        user: str | None = None
        request = b""
        try:
            envelope = self._envelope(message)
            stream_id = envelope["streamId"]
            request = encode(envelope.get("payload"))
            caller = self._call(envelope)
            user = caller.username
            self._follow(caller, envelope)
            status, answer = 200, b""
        except (ApiError, DomainError) as error:
            refused = error if isinstance(error, ApiError) else from_domain(error)
            status, answer = refused.code or 500, refused.body()
            self.socket.send(encode(response_frame(stream_id, status, json.loads(answer))).decode("utf-8"))
        self.app.journal.record(clock_ms=self.app.engine.clock.now_ms(), wall_ms=self.app.wall_ms(), method="GET",
                                path=self.socket.path,
                                query=self.socket.query, operation=FOLLOW, user=user, status=status,
                                request=request, response=answer, script=self._cue())

    @staticmethod
    def _envelope(message: str | bytes) -> dict[str, Any]:
        """The parsed envelope; 400 for anything that is not a JSON object with a string ``streamId``."""
        if not isinstance(message, str):
            raise ApiError(400, "Bad Request: a message must be a text frame holding a JSON object")
        try:
            envelope = json.loads(message)
        except (ValueError, RecursionError):
            raise ApiError(400, "Bad Request: the message is not JSON") from None
        if not isinstance(envelope, dict):
            raise ApiError(400, "Bad Request: the message must be a JSON object (UCloud's WSRequest)")
        if not isinstance(envelope.get("streamId"), str):
            raise ApiError(400, "Bad Request: the message has no streamId (a string)")
        return envelope

    def _call(self, envelope: dict[str, Any]) -> Caller:
        """Who calls what: 400 without a call, 404 for an unknown one, 401 without an accepted token, 400 for an
        envelope the contract refuses."""
        call = envelope.get("call")
        if not isinstance(call, str):
            raise ApiError(400, "Bad Request: the message has no call (a string)")
        streams = default_streams()
        if call not in streams:
            raise ApiError(404, f"Not Found: {call!r} is not a WebSocket call of this mock; it serves "
                                f"{', '.join(sorted(streams))}")
        bearer, project = envelope.get("bearer"), envelope.get("project")
        caller = self.app.authenticator.caller(f"Bearer {bearer}" if isinstance(bearer, str) else None,
                                               project if isinstance(project, str) else None)
        try:
            self.app.contract.validate(envelope, streams[call].request_schema)
        except ContractViolation as violation:
            raise ApiError(400, f"Bad Request: {violation.violations[0]}") from None
        return caller

    def _follow(self, caller: Caller, envelope: dict[str, Any]) -> None:
        """Start the stream: its first message, then the job's changes until it ends."""
        self.streams = {key: each for key, each in self.streams.items() if not each.ended}
        stream_id = envelope["streamId"]
        if stream_id in self.streams:
            raise ApiError(400, f"Bad Request: stream {stream_id!r} is already open on this connection")
        if len(self.streams) >= MAX_STREAMS:
            raise ApiError(400, f"Bad Request: at most {MAX_STREAMS} streams may be open on one connection")
        stream = SocketStream(self.socket, stream_id)
        followers = self.app.followers
        self.app.engine.forget_cue()
        self.app.engine.follow(caller, envelope["payload"]["id"],
                               lambda job, first: followers.start(job, first, stream))
        self.streams[stream_id] = stream

    def _cue(self) -> str | None:
        cue = self.app.engine.cue()
        return None if cue is None else cue.describe()

    def closed(self) -> None:
        """The client has gone: so have its streams."""
        self.app.followers.remove(*self.streams.values())
        self.streams.clear()

