"""Following a job's output with UCloud's jobs.follow, over a WebSocket, with the ``websockets`` library.

The code under test in this example's follow tests: what a command-line tool does to show a job's log as it
runs. It opens a WebSocket at ``/api/jobs`` on the API's host, sends UCloud's envelope (the bearer token goes
in the envelope, not in a header), prints each log chunk as ``[rank] line``, and returns the job's final state
once the stream's ``response`` frame arrives.
"""

from __future__ import annotations

import json
from typing import TextIO

from websockets.sync.client import connect

__all__ = ["FollowError", "follow_job"]


class FollowError(Exception):
    """UCloud ended the stream with an error: its status and ``why``."""

    def __init__(self, status: int, why: str) -> None:
        super().__init__(f"UCloud answered {status}: {why}")
        self.status = status
        self.why = why


def follow_job(base_url: str, token: str, job_id: str, out: TextIO, *, timeout: float = 30.0) -> str:
    """Print the job's log to ``out`` until it ends; its final state (``SUCCESS``, ``FAILURE``, ``EXPIRED``)."""
    address = base_url.replace("https://", "wss://").replace("http://", "ws://").rstrip("/") + "/api/jobs"
    state = ""
    with connect(address, open_timeout=timeout) as socket:
        socket.send(json.dumps({"call": "jobs.follow", "streamId": "0", "payload": {"id": job_id},
                                "bearer": token, "project": None}))
        while True:
            frame = json.loads(socket.recv(timeout))
            if frame["type"] == "response":
                if frame["status"] != 200:
                    raise FollowError(frame["status"], frame["payload"]["why"])
                return state
            message = frame["payload"]
            state = (message.get("newStatus") or {}).get("state", state)
            for chunk in message.get("log") or []:
                for text in (chunk.get("stdout"), chunk.get("stderr")):
                    for line in (text or "").splitlines():
                        print(f"[{chunk['rank']}] {line}", file=out)
