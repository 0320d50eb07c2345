"""``jobs.follow`` at the edge: the streams of every follower, fed from the engine's changes, as UCloud's frames.

The engine tells ``Followers`` of every new version of a job when the operation that made it ends (a request, a
move of the clock, a scripted step); for a followed job the engine renders what the version adds once, and
each stream of that job gets it as a ``message`` frame, in the order the versions were made. When the job
reaches a final state each stream gets the closing ``response`` frame (status 200, an empty payload) and is
forgotten. Nothing runs in the background: frames go out when the clock moves.

A stream is a WebSocket client's (``SocketStream``: frames are queued on the socket from whatever thread moved
the clock) or a test's in process (``FollowStream``: an iterator of the frames due so far).
"""

from __future__ import annotations

import json
import threading
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Protocol

from mockserver.domain.engine import Engine, Job
from mockserver.web.encoding import encode

__all__ = ["FollowStream", "Followers", "SocketStream", "Stream", "message_frame", "response_frame"]

JsonObject = dict[str, Any]
RESTART_WHY = "Unknown job: the mock was reset, and the job with it"


def message_frame(stream_id: str, payload: JsonObject) -> JsonObject:
    """A ``message`` frame: one JobsFollowResponse of the stream."""
    return {"type": "message", "streamId": stream_id, "payload": payload}


def response_frame(stream_id: str, status: int, payload: JsonObject) -> JsonObject:
    """The ``response`` frame that ends a stream: 200 with ``{}``, or an error status with a CommonErrorMessage."""
    return {"type": "response", "streamId": stream_id, "payload": payload, "status": status}


class Stream(Protocol):
    """One follower's stream; called under the engine's lock, so it must only queue."""

    stream_id: str

    def message(self, payload: JsonObject, encoded: str) -> None:
        """A message (``encoded`` is the payload's JSON, made once for every stream of the job)."""

    def end(self, status: int, payload: JsonObject) -> None:
        """The closing frame; nothing follows it."""


class SocketStream:
    """A stream of a WebSocket client: each frame is one text frame on its socket."""

    def __init__(self, socket: Any, stream_id: str) -> None:
        self.socket = socket
        self.stream_id = stream_id
        #: Whether the closing frame was sent.
        self.ended = False
        self._prefix = '{"type":"message","streamId":' + json.dumps(stream_id) + ',"payload":'

    def message(self, payload: JsonObject, encoded: str) -> None:
        """Queue the message on the socket."""
        self.socket.send(self._prefix + encoded + "}")

    def end(self, status: int, payload: JsonObject) -> None:
        """Queue the closing frame."""
        self.ended = True
        self.socket.send(encode(response_frame(self.stream_id, status, payload)).decode("utf-8"))


class FollowStream:
    """A stream in process (``MockServer.follow``): iterating takes the frames due so far, then stops.

    It never blocks: advance the clock (or make a request) and iterate again for the frames that fell due. Once
    the ``response`` frame has been taken, ``ended`` is true and nothing more comes. ``close()`` stops following.
    """

    def __init__(self, followers: Followers, stream_id: str) -> None:
        self.stream_id = stream_id
        self.ended = False
        self._followers = followers
        self._frames: deque[JsonObject] = deque()
        self._lock = threading.Lock()

    def message(self, payload: JsonObject, encoded: str) -> None:
        """Keep the message (a copy of its own: the payload is shared by the job's streams)."""
        with self._lock:
            self._frames.append(message_frame(self.stream_id, json.loads(encoded)))

    def end(self, status: int, payload: JsonObject) -> None:
        """Keep the closing frame."""
        with self._lock:
            self._frames.append(response_frame(self.stream_id, status, payload))

    def __iter__(self) -> Iterator[JsonObject]:
        return self

    def __next__(self) -> JsonObject:
        with self._lock:
            if not self._frames:
                raise StopIteration
            frame = self._frames.popleft()
        if frame["type"] == "response":
            self.ended = True
        return frame

    def close(self) -> None:
        """Stop following (frames not yet taken stay)."""
        self._followers.remove(self)


class _Followed:
    """A followed job: the version its streams were last told of, and the streams."""

    __slots__ = ("last", "streams")

    def __init__(self, last: Job) -> None:
        self.last = last
        self.streams: list[Stream] = []


class Followers:
    """Every stream of every followed job, fed by the engine's ``changes``; counts them for tests."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._jobs: dict[str, _Followed] = {}
        self._count = 0
        self._changed = threading.Condition(engine.lock)
        self._unlisten: Callable[[], None] | None = None  # listening only while a stream is open

    @property
    def count(self) -> int:
        """How many streams are open."""
        return self._count

    def wait_for(self, count: int, timeout: float) -> bool:
        """Wait until exactly ``count`` streams are open (for tests); False if ``timeout`` passed first."""
        with self._changed:
            return self._changed.wait_for(lambda: self._count == count, timeout)

    def start(self, job: Job, first: JsonObject, stream: Stream) -> None:
        """A new stream of ``job`` (under the engine's lock, in ``Engine.follow``): its first message, then,
        unless the job has ended already (then the closing frame at once), every later version."""
        if self.engine.has_ended(job):
            stream.message(first, encode(first).decode("utf-8"))
            stream.end(200, {})
            return
        followed = self._jobs.get(job.id)
        if followed is None:
            followed = self._jobs[job.id] = _Followed(job)
        followed.streams.append(stream)
        if self._unlisten is None:
            self._unlisten = self.engine.changes.listen(self)
        self._counted(1)  # counted before its first frame goes out: whoever reads that frame sees the count
        stream.message(first, encode(first).decode("utf-8"))

    def remove(self, *streams: Stream) -> None:
        """Forget streams whose client went away."""
        with self.engine.lock:
            for job_id, followed in list(self._jobs.items()):
                kept = [each for each in followed.streams if each not in streams]
                self._counted(len(kept) - len(followed.streams))
                followed.streams = kept
                if not kept:
                    del self._jobs[job_id]

    def changed(self, versions: Sequence[Job]) -> None:
        """New versions of jobs (under the engine's lock): a message for each that adds something, in order."""
        for version in versions:
            followed = self._jobs.get(version.id)
            if followed is None:
                continue
            payload = self.engine.follow_next(followed.last, version)
            followed.last = version
            if payload is not None:
                encoded = encode(payload).decode("utf-8")
                for stream in followed.streams:
                    stream.message(payload, encoded)
            if self.engine.has_ended(version):
                for stream in followed.streams:
                    stream.end(200, {})
                self._counted(-len(followed.streams))
                del self._jobs[version.id]

    def restarted(self) -> None:
        """Every job was forgotten: each stream ends with 404, as for a job that does not exist."""
        for followed in self._jobs.values():
            for stream in followed.streams:
                stream.end(404, {"why": RESTART_WHY, "errorCode": None})
        self._jobs.clear()
        self._counted(-self._count)

    def _counted(self, change: int) -> None:
        with self._changed:
            self._count += change
            if self._count == 0 and self._unlisten is not None:  # no one follows: the engine records nothing
                self._unlisten()
                self._unlisten = None
            self._changed.notify_all()
