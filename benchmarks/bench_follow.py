"""jobs.follow under load: frames per second to 100 followers of one job, and the memory clients leave behind.

Run by hand (not a test): ``python benchmarks/bench_follow.py [--followers 100] [--changes 2000] [--vanish 1000]``.

It starts ``ucloud-jobs serve --scenario blank --profile ucloud -q`` in a subprocess, creates one job and lets it
run, and opens ``--followers`` WebSocket clients (asyncio, the ``websockets`` library) that follow it. Then one
keep-alive HTTP client extends the job ``--changes`` times, one second each; each extension is one ``message``
frame to every follower (the new update and status). Reported: frames delivered per second (followers x changes
over the time from the first extension to the last frame received by the last follower), the server's RSS
(``/proc``) idle, with the followers, after the frames; then ``--vanish`` clients each subscribe, read their
first frame and vanish with a reset, and the RSS once the server has let them go (target: back within 5 MB).
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import socket
import statistics
import struct
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from websockets.asyncio.client import connect

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from bench_server import SEED_CREATE, free_port, rss_mb, wait_for_200  # noqa: E402

HEADERS = {"Authorization": "Bearer benchmark", "Content-Type": "application/json"}


def envelope(job_id: str, stream_id: str) -> str:
    return json.dumps({"call": "jobs.follow", "streamId": stream_id, "payload": {"id": job_id},
                       "bearer": "benchmark", "project": None})


def call(connection: http.client.HTTPConnection, method: str, path: str, body: Any = None) -> Any:
    connection.request(method, path, body=None if body is None else json.dumps(body), headers=HEADERS)
    response = connection.getresponse()
    data = response.read()
    assert response.status == 200, (response.status, data)
    return json.loads(data)


async def follow(url: str, job_id: str, index: int, expected: int, ready: asyncio.Queue[int]) -> float:
    """Follow until ``expected`` frames arrived; the time the last one did."""
    async with connect(url, max_queue=None, open_timeout=60) as client:
        await client.send(envelope(job_id, str(index)))
        await client.recv()
        await ready.put(index)
        for _ in range(expected - 1):
            await client.recv()
        return time.perf_counter()


def drive(port: int, job_id: str, changes: int) -> float:
    """Extend the job ``changes`` times from a thread; the time the first extension was sent."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    started = time.perf_counter()
    item = {"items": [{"jobId": job_id, "requestedTime": {"hours": 0, "minutes": 0, "seconds": 1}}]}
    for _ in range(changes):
        call(connection, "POST", "/api/jobs/extend", item)
    connection.close()
    return started


async def frames_per_second(port: int, job_id: str, followers: int, changes: int, pid: int) -> dict[str, float]:
    url = f"ws://127.0.0.1:{port}/api/jobs"
    ready: asyncio.Queue[int] = asyncio.Queue()
    tasks = [asyncio.ensure_future(follow(url, job_id, index, changes + 1, ready)) for index in range(followers)]
    for _ in range(followers):
        await ready.get()
    with_followers = rss_mb(pid)
    started = await asyncio.get_running_loop().run_in_executor(None, drive, port, job_id, changes)
    ended = max(await asyncio.gather(*tasks))
    return {"frames_per_second": followers * changes / (ended - started), "seconds": ended - started,
            "rss_with_followers_mb": with_followers, "rss_after_frames_mb": rss_mb(pid)}


def vanish(port: int, job_id: str, count: int) -> None:
    """``count`` raw WebSocket clients that subscribe, read their first frame and vanish with a reset."""
    from websockets.frames import Frame, Opcode  # noqa: PLC0415

    for index in range(count):
        sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        sock.sendall(b"GET /api/jobs HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                     b"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
        head = b""
        while b"\r\n\r\n" not in head:
            head += sock.recv(4096)
        sock.sendall(Frame(Opcode.TEXT, envelope(job_id, f"v{index}").encode()).serialize(mask=True))
        sock.recv(65536)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()


def measure(args: argparse.Namespace) -> dict[str, Any]:
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "mockserver", "serve", "--port", str(port), "-q",
                                "--scenario", "blank", "--profile", "ucloud"], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    try:
        wait_for_200(port, "GET", "/_mock/clock")
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        job_id = call(connection, "POST", "/api/jobs", SEED_CREATE)["responses"][0]["id"]
        call(connection, "POST", "/_mock/clock", {"advanceMs": 10_000})  # it runs
        figures: dict[str, Any] = {"rss_idle_mb": rss_mb(process.pid)}
        runs = [asyncio.run(frames_per_second(port, job_id, args.followers, args.changes, process.pid))
                for _ in range(args.rounds)]
        figures["frames_per_second"] = statistics.median(run["frames_per_second"] for run in runs)
        figures["runs"] = runs
        before = rss_mb(process.pid)
        vanish(port, job_id, args.vanish)
        time.sleep(1.0)  # a benchmark, not a test: let the server see the resets
        figures |= {"rss_before_vanishing_mb": before, "rss_after_vanishing_mb": rss_mb(process.pid)}
        figures["still_answers"] = call(connection, "GET", "/_mock/clock")["nowMs"] > 0
        connection.close()
    finally:
        process.terminate()
        process.wait(timeout=10)
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--followers", type=int, default=100)
    parser.add_argument("--changes", type=int, default=2000, help="extensions, each one frame per follower")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--vanish", type=int, default=1000, help="clients that follow and vanish with a reset")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    figures = measure(args)
    if args.json:
        print(json.dumps(figures, indent=2))
        return 0
    print(f"{args.followers} followers, {args.changes} changes, median of {args.rounds}: "
          f"{figures['frames_per_second']:,.0f} frames/s "
          f"({', '.join(format(run['frames_per_second'], ',.0f') for run in figures['runs'])})")
    print(f"RSS: idle {figures['rss_idle_mb']:.1f} MB; with the followers "
          f"{figures['runs'][0]['rss_with_followers_mb']:.1f} MB; after the frames "
          f"{figures['runs'][-1]['rss_after_frames_mb']:.1f} MB")
    print(f"{args.vanish} clients that vanish mid-stream: RSS {figures['rss_before_vanishing_mb']:.1f} MB before, "
          f"{figures['rss_after_vanishing_mb']:.1f} MB after; the server still answers: {figures['still_answers']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
