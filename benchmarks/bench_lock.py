"""Retrieve's latency while other clients run the most expensive browse there is (issue 10 §4).

Run by hand (not a test): ``python benchmarks/bench_lock.py [--jobs 2000] [--browsers 2] [--duration 10] [--json]``.

The script starts ``python -m mockserver serve --port 0 -q --scenario blank --profile ucloud`` (the clock frozen,
so only requests change the jobs) in a subprocess on 127.0.0.1, creates ``--jobs`` jobs (the mock's default limit
unless told: ``--max-jobs`` is passed only when the jobs are more than that), and then, over real sockets, for
``--duration`` seconds each:

1. *alone*: one client retrieves a job again and again, each on a keep-alive connection, and times each answer;
2. *under browse*: the same, while ``--browsers`` other clients keep browsing the whole workspace with the worst
   request a client can send: ``filterIds`` naming every job (a request line of up to 200 KiB; the ids repeated
   when there are few jobs), sorted by name, the largest page, with updates.

Before issue 10 §4 such a browse held the engine's lock for its whole run (a split of the id list per job, then a
sort), so every retrieve waited for it. The target: retrieve's p99 under browse stays under 50 ms. The exit status
is 1 when it does not. ``--cwd DIR`` serves another checkout of the project (a before/after comparison).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
URL_LINE = re.compile(r"at (http://127\.0\.0\.1:(\d+)) ")
HEADERS = {"Authorization": "Bearer bench-token", "Content-Type": "application/json"}
TARGET_P99_MS = 50.0
LINE_ROOM = 200 * 1024  # a request line this long fits the server's 256 KiB header limit
PRODUCT = {"id": "example-compute", "category": "example-compute", "provider": "example"}


class Server:
    """``python -m mockserver serve`` in a subprocess, on a free port."""

    def __init__(self, cwd: Path, extra: list[str]) -> None:
        command = [sys.executable, "-m", "mockserver", "serve", "--port", "0", "-q", "--scenario", "blank",
                   "--profile", "ucloud", *extra]
        self.process = subprocess.Popen(command, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                        stderr=subprocess.DEVNULL, text=True)
        assert self.process.stdout is not None
        match = URL_LINE.search(self.process.stdout.readline())
        if match is None:
            self.stop()
            raise RuntimeError("the server did not print its URL")
        self.port = int(match.group(2))

    def stop(self) -> None:
        """Ctrl-C, then wait."""
        if self.process.poll() is None:
            self.process.send_signal(2)
            self.process.wait(timeout=30)


def _call(connection: http.client.HTTPConnection, method: str, target: str, body: Any = None) -> tuple[int, bytes]:
    connection.request(method, target, body=None if body is None else json.dumps(body), headers=HEADERS)
    response = connection.getresponse()
    return response.status, response.read()


def _fill(port: int, count: int) -> list[str]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    ids: list[str] = []
    for start in range(0, count, 1000):
        specs = [{"application": {"name": "bench", "version": "1"}, "product": PRODUCT, "name": f"job {n:07}",
                  "timeAllocation": {"hours": 1, "minutes": 0, "seconds": 0}}
                 for n in range(start, min(count, start + 1000))]
        status, raw = _call(connection, "POST", "/api/jobs", {"items": specs})
        if status != 200:
            raise RuntimeError(f"create answered {status}: {raw[:200]!r}")
        ids += [item["id"] for item in json.loads(raw)["responses"]]
    return ids


def _worst_browse(ids: list[str]) -> str:
    listed = ",".join(ids)
    while len(listed) < LINE_ROOM // 2:  # few jobs: the same ids again, so the list is as long as it may be
        listed += "," + listed
    listed = listed[:LINE_ROOM].rsplit(",", 1)[0]
    return f"/api/jobs/browse?itemsPerPage=1000&sortBy=name&includeUpdates=true&filterIds={listed}"


def _retrieves(port: int, job_id: str, seconds: float) -> list[float]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    target = f"/api/jobs/retrieve?id={job_id}&includeUpdates=true"
    latencies = []
    stop = time.perf_counter() + seconds
    while time.perf_counter() < stop:
        started = time.perf_counter()
        status, _ = _call(connection, "GET", target)
        latencies.append((time.perf_counter() - started) * 1000)
        if status != 200:
            raise RuntimeError(f"retrieve answered {status}")
    return latencies


def _browse_loop(port: int, target: str, done: threading.Event, times: list[float]) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    while not done.is_set():
        started = time.perf_counter()
        status, raw = _call(connection, "GET", target)
        times.append((time.perf_counter() - started) * 1000)
        if status != 200:
            raise RuntimeError(f"browse answered {status}: {raw[:200]!r}")


def _summary(latencies: list[float]) -> dict[str, float]:
    ordered = sorted(latencies)
    return {"count": len(ordered), "p50": statistics.median(ordered),
            "p99": ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))], "max": ordered[-1]}


def measure(args: argparse.Namespace) -> dict[str, Any]:
    extra = ["--max-jobs", str(args.jobs)] if args.jobs > args.default_max_jobs else []
    server = Server(Path(args.cwd), extra)
    try:
        ids = _fill(server.port, args.jobs)
        alone = _summary(_retrieves(server.port, ids[0], args.duration))
        done, browse_ms = threading.Event(), []
        browsers = [threading.Thread(target=_browse_loop, args=(server.port, _worst_browse(ids), done, browse_ms))
                    for _ in range(args.browsers)]
        for browser in browsers:
            browser.start()
        loaded = _summary(_retrieves(server.port, ids[0], args.duration))
        done.set()
        for browser in browsers:
            browser.join()
        return {"jobs": args.jobs, "browsers": args.browsers, "duration_s": args.duration, "alone": alone,
                "underBrowse": loaded, "browses": len(browse_ms),
                "browseMedianMs": statistics.median(browse_ms) if browse_ms else None,
                "requestLineBytes": len(_worst_browse(ids)), "load": os.getloadavg(),
                "pass": loaded["p99"] < TARGET_P99_MS}
    finally:
        server.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2000)
    parser.add_argument("--default-max-jobs", type=int, default=2000, help=argparse.SUPPRESS)
    parser.add_argument("--browsers", type=int, default=2)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--cwd", default=str(ROOT), help="the checkout to serve (default: this one)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    figures = measure(args)
    if args.json:
        print(json.dumps(figures, indent=2))
    else:
        print(f"# bench_lock: {platform.node()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
              f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, load "
              f"{' / '.join(f'{x:.2f}' for x in figures['load'])}")
        print(f"{figures['jobs']} jobs, {figures['browsers']} browsers, "
              f"request line {figures['requestLineBytes']:,} B; "
              f"{figures['browses']} browses, median {figures['browseMedianMs']} ms")
        for name in ("alone", "underBrowse"):
            row = figures[name]
            print(f"retrieve {name}: {row['count']} answers, p50 {row['p50']:.2f} ms, p99 {row['p99']:.2f} ms, "
                  f"max {row['max']:.2f} ms")
        print("pass" if figures["pass"] else f"FAIL: p99 under browse is not under {TARGET_P99_MS} ms")
    return 0 if figures["pass"] else 1


if __name__ == "__main__":
    sys.exit(main())
