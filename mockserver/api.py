"""The mock as a Python object: start it on a socket, drive its clock, scenarios and faults, read its journal.

No pytest needed::

    from mockserver import MockServer

    with MockServer(scenario="blank") as mock:
        ...  # call mock.url with mock.headers
        mock.clock.advance(seconds=5)                       # the job leaves the queue
        mock.faults.set(operation="jobs.retrieve", status=503, times=1)
        print(mock.journal[-1]["status"])

The pytest plugin is a thin layer over this class.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, Any

from contracts.scenario import Scenario
from contracts.testing.transport import mock_token
from mockserver.control import Control
from mockserver.server import HttpServer, Limits
from mockserver.web.app import MockApp, ServerError, create_app
from mockserver.web.follow import FollowStream
from mockserver.web.requestlog import RequestSink

__all__ = ["MockClock", "MockFaults", "MockServer", "ServerErrors"]

DEFAULT_USER = "user"


class ServerErrors(AssertionError):
    """The mock failed while serving (a bug of the mock, or an answer that broke the contract)."""

    def __init__(self, errors: Sequence[ServerError]) -> None:
        self.errors = tuple(errors)
        super().__init__("the UCloud mock failed while serving:\n\n" + "\n\n".join(map(str, errors)))


class MockClock:
    """The mock's virtual clock, in epoch milliseconds."""

    def __init__(self, control: Control) -> None:
        self._control = control

    @property
    def now_ms(self) -> int:
        """The current time (events that fell due are applied first)."""
        return self._control.now_ms()

    def advance(self, ms: int = 0, *, seconds: float = 0, minutes: float = 0, hours: float = 0) -> int:
        """Move forward by the sum of the arguments and return the new time; ``ValueError`` if negative."""
        total = ms + round((seconds + 60 * minutes + 3600 * hours) * 1000)
        return self._control.advance(total)

    def set(self, ms: int) -> int:
        """Move to ``ms`` and return it; ``ValueError`` for a time in the past."""
        return self._control.set_time(ms)


class MockFaults:
    """Faults injected into the mock: latency or a forced error status, per operation."""

    def __init__(self, control: Control) -> None:
        self._control = control

    def set(self, *faults: Mapping[str, Any], operation: str | None = None, status: int | None = None,
            why: str | None = None, latency_ms: int | None = None, times: int | None = None) -> list[dict[str, Any]]:
        """Replace the active faults; ``ValueError`` naming the first mistake.

        One fault in keywords (``set(operation="jobs.retrieve", status=503, times=1)``), or several in the
        admin API's form (``set({"operation": "jobs.retrieve", "latencyMs": 200}, ...)``).
        """
        keywords = {"operation": operation, "status": status, "why": why, "latencyMs": latency_ms, "times": times}
        one = {key: value for key, value in keywords.items() if value is not None}
        if one and faults:
            raise ValueError("give faults either as mappings or as keywords, not both")
        return self._control.set_faults([one] if one else [dict(fault) for fault in faults])

    def clear(self) -> None:
        """Remove every fault."""
        self._control.faults.clear()

    @property
    def active(self) -> list[dict[str, Any]]:
        """The active faults as data."""
        return self._control.faults.snapshot()


class MockServer:
    """The mock of UCloud's Jobs API on a socket (127.0.0.1 and a free port unless told otherwise).

    The port is bound in the constructor, so ``url`` is known before ``start``; ``stop`` (or leaving the
    ``with`` block) closes it. ``scenario`` is a bundled or configured scenario's name, a file, or a
    ``Scenario``; ``app`` serves an app built elsewhere instead. Requests are answered in the server's one loop,
    except while a latency fault is set: then API calls go to a pool of ``threads`` threads, so that the fault
    delays its own call and no other client's.
    ``request_log`` is called after every request with its ``RequestRecord``
    (``mockserver.web.requestlog.StreamLog(sys.stderr)`` writes the lines ``ucloud-jobs serve`` writes);
    ``access_log`` is the socket server's own, shorter line.
    """

    def __init__(self, scenario: str | Scenario | None = None, profile: str | None = None, *,
                 era: str | None = None, host: str = "127.0.0.1", port: int = 0, users: Mapping[str, str] | None = None,
                 scenario_dirs: Sequence[str | Path] = (), validate_responses: bool = False,
                 app: MockApp | None = None, threads: int = 4, access_log: IO[str] | None = None,
                 limits: Limits | None = None, request_log: RequestSink | None = None) -> None:
        self.app = app if app is not None else create_app(scenario=scenario, profile=profile, era=era, users=users,
                                                          scenario_dirs=scenario_dirs,
                                                          validate_responses=validate_responses)
        if request_log is not None:
            self.app.request_log = request_log
        self.control = self.app.control
        self.clock = MockClock(self.control)
        self.faults = MockFaults(self.control)
        faults = self.app.faults
        self._server = HttpServer(self.app, host, port, websocket=self.app.websocket, threads=threads,
                                  access_log=access_log, limits=limits, offload=lambda environ: faults.delays)
        self.app.sites.bind(self._server.host)  # the address it listens on names the server too
        self.host = self._server.host
        self.port = self._server.port
        self.url = self._server.url

    # ------------------------------------------------------------------ lifetime
    def start(self) -> MockServer:
        """Serve in a background thread; returns self."""
        self.app.waits.resume()
        self._server.start()
        return self

    def stop(self) -> None:
        """Close the socket and every connection; a call waiting out a latency fault is answered at once."""
        self._server.stop()
        self.app.waits.wake()

    def stop_soon(self) -> None:
        """Ask ``serve_forever`` to return; safe from a signal handler."""
        self._server.stop_soon()

    def serve_forever(self) -> None:
        """Serve in this thread until interrupted (``ucloud-jobs serve``)."""
        self.app.waits.resume()
        try:
            self._server.serve_forever()
        finally:
            self.app.waits.wake()  # a pool thread waiting out a latency fault would hold the process at exit

    def __enter__(self) -> MockServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ who calls
    @property
    def token(self) -> str:
        """A bearer token for the default user, ``user``."""
        return self.token_for(DEFAULT_USER)

    @staticmethod
    def token_for(username: str) -> str:
        """A bearer token that the mock takes as ``username`` (an unsigned JWT; without ``users`` only)."""
        return mock_token(username)

    @property
    def headers(self) -> dict[str, str]:
        """Headers for a request as the default user."""
        return {"Authorization": f"Bearer {self.token}"}

    # ------------------------------------------------------------------ control
    def load_scenario(self, name: str | Scenario, profile: str | None = None, era: str | None = None) -> None:
        """Restart with a scenario (a name, a file or a ``Scenario``), under ``profile`` and in ``era`` (the
        scenario's own when None); ``LookupError`` if unknown."""
        if isinstance(name, Scenario):
            chosen = self.control.profile(profile or name.profile, era or name.era) if profile or era else None
            self.control.start(name, chosen)
        else:
            self.control.load_scenario(name, profile, era, allow_paths=True)

    def reset(self) -> None:
        """Forget every job and restart the current scenario."""
        self.control.reset()

    @property
    def journal(self) -> list[dict[str, Any]]:
        """The requests the mock answered since the last reset, oldest first."""
        entries: list[dict[str, Any]] = self.control.journal.snapshot()["entries"]
        return entries

    def follow(self, job_id: str, *, user: str = DEFAULT_USER, project: str | None = None,
               stream_id: str = "0") -> FollowStream:
        """Follow a job in process, as ``jobs.follow`` over the WebSocket would: an iterator of its frames.

        The first message is due at once. Iterating takes the frames due so far and stops; it never blocks.
        Move the clock (``clock.advance``, a request, a scripted step) and iterate again for the frames that
        fell due, in order; the ``response`` frame ends the stream (``ended``). ``ApiError`` for a job that
        ``user`` may not read (404) or a project they are no member of (403).
        """
        return self.app.follow(job_id, user=user, project=project, stream_id=stream_id)

    def wait_for_followers(self, count: int, timeout: float = 10.0) -> bool:
        """Wait until exactly ``count`` jobs.follow streams are open (a client in a thread has subscribed); False
        if ``timeout`` seconds passed first. It waits on an event, not by polling."""
        return self.app.followers.wait_for(count, timeout)

    @property
    def connections(self) -> int:
        """How many client connections are open (HTTP and WebSocket)."""
        return self._server.connections

    @property
    def followers(self) -> int:
        """How many jobs.follow streams are open (over WebSockets and in process)."""
        return self.app.followers.count

    def check(self) -> None:
        """Raise ``ServerErrors`` if the mock failed while serving since the last check."""
        errors = self.app.take_errors()
        if errors:
            raise ServerErrors(errors)
