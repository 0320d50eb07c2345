"""Throughput, p99, startup and memory of `ucloud-jobs serve`, side by side with its peers, in one run.

Run by hand (not a test): ``python benchmarks/bench_server.py [--duration 10] [--rounds 3] [--million]``.

Measured, on loopback with ``wrk -t1 -c10`` (10 connections) against ``GET /api/jobs/retrieve``:

- ``ucloud-jobs serve`` (the seed scenario; one job created first),
- a hello-world WSGI app on the same server stack (``mockserver.server.HttpServer``), answering a body of the
  same size: the floor the stack allows,
- the same app on the stack ``serve`` had before (waitress, 4 threads, a 1 ms GIL switch interval), where waitress
  is installed (it is not a dependency: ``pip install waitress``),
- ``--before DIR``: ``ucloud-jobs serve`` from another checkout of this repository (an earlier commit, say, made
  with ``git worktree add DIR COMMIT``), run by this Python from DIR, for figures before and after a change,
- Prism serving ``openapi/jobs.yaml`` (``npx prism mock``) where it is installed (``--prism DIR``, default
  /tmp/prism, a folder where ``npm install @stoplight/prism-cli`` was run).

Rounds are interleaved (ours, floor, Prism, ours, ...) and the median of each is reported, since the machine is
shared. Startup is the time from spawning the process to the first 200 answer to the seed's create request
(Prism: to its first 200 for the retrieve); RSS is read from /proc. ``--million`` keeps wrk running against the
mock until a million requests were answered and samples RSS on the way. Targets (issue 9): >= 5x Prism's
requests/s, p99 at most half of Prism's, startup to the first 200 at most 0.2x Prism's, RSS <= 60 MB idle and flat
after a million requests; >= 0.8x the floor.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SEED_CREATE = {"items": [{"application": {"name": "acme-web-application", "version": "1.0.0"},
                          "product": {"id": "example-compute", "category": "example-compute", "provider": "example"},
                          "name": None, "replicas": 1, "allowDuplicateJob": False, "parameters": None,
                          "resources": None, "timeAllocation": {"hours": 5, "minutes": 0, "seconds": 0}}]}
RETRIEVE = ("/api/jobs/retrieve?includeProduct=false&includeOthers=false&includeUpdates=false&includeSupport=false"
            "&id=62348")
HEADERS = {"Authorization": "Bearer benchmark", "Content-Type": "application/json"}

HELLO = r'''
import sys
from mockserver.server import HttpServer
BODY = b"x" * int(sys.argv[2])
def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "application/json; charset=utf-8"), ("Content-Length", str(len(BODY)))])
    return [BODY]
server = HttpServer(app, "127.0.0.1", int(sys.argv[1]), threads=int(sys.argv[3]))
print(server.url, flush=True)
server.serve_forever()
'''

OLD_STACK = r'''
import sys, waitress
from mockserver.web.app import create_app
sys.setswitchinterval(0.001)  # what `ucloud-jobs serve` did for waitress's polling thread
waitress.serve(create_app(), host="127.0.0.1", port=int(sys.argv[1]), threads=4, _quiet=True)
'''


@dataclass
class Load:
    """One wrk run."""

    requests_per_second: float
    p99_ms: float
    requests: int
    errors: int


def free_port() -> int:
    import socket  # noqa: PLC0415

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def request(port: int, method: str, path: str, body: object = None) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        connection.request(method, path, body=None if body is None else json.dumps(body), headers=HEADERS)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def wait_for_200(port: int, method: str, path: str, body: object = None, timeout: float = 30) -> float:
    """Poll until the first 200; return the time it arrived (perf_counter)."""
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        try:
            status, _ = request(port, method, path, body)
            if status == 200:
                return time.perf_counter()
        except OSError:
            pass
        time.sleep(0.002)
    raise TimeoutError(f"nothing answered 200 on port {port}")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def wrk(port: int, path: str, duration: int, authorization: bool = True) -> Load:
    command = ["wrk", "-t1", "-c10", f"-d{duration}s", "--latency"]
    if authorization:
        command += ["-H", "Authorization: Bearer benchmark"]
    output = subprocess.run([*command, f"http://127.0.0.1:{port}{path}"], capture_output=True, text=True,
                            check=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", output)
    assert p99 is not None, output
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[p99.group(2)]
    total = int(re.search(r"(\d+) requests in", output).group(1))  # type: ignore[union-attr]
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    errors = int(non_2xx.group(1)) if non_2xx else 0
    if socket_errors:
        errors += sum(int(value) for value in socket_errors.groups())
    return Load(rate, float(p99.group(1)) * scale, total, errors)


class Process:
    """A server process started for the benchmark, stopped at the end."""

    def __init__(self, command: list[str], cwd: Path | None = None) -> None:
        self.started = time.perf_counter()
        self.popen = subprocess.Popen(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                      start_new_session=True)

    def stop(self) -> None:
        try:
            os.killpg(self.popen.pid, signal.SIGTERM)
            self.popen.wait(timeout=10)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(self.popen.pid, signal.SIGKILL)


def start_mock(threads: int) -> tuple[Process, int, float]:
    port = free_port()
    process = Process([sys.executable, "-m", "mockserver", "serve", "--port", str(port), "-q", "--threads",
                       str(threads)])
    arrived = wait_for_200(port, "POST", "/api/jobs", SEED_CREATE)
    return process, port, arrived - process.started


def start_floor(body_size: int, threads: int) -> tuple[Process, int]:
    port = free_port()
    process = Process([sys.executable, "-c", HELLO, str(port), str(body_size), str(threads)])
    wait_for_200(port, "GET", "/")
    return process, port


def start_old() -> tuple[Process, int, float] | None:
    """The mock's app on waitress, the stack before this one; None where waitress is not installed."""
    import importlib.util  # noqa: PLC0415

    if importlib.util.find_spec("waitress") is None:
        return None
    port = free_port()
    process = Process([sys.executable, "-c", OLD_STACK, str(port)])
    arrived = wait_for_200(port, "POST", "/api/jobs", SEED_CREATE)
    return process, port, arrived - process.started


def start_before(folder: Path | None) -> tuple[Process, int, float] | None:
    """``ucloud-jobs serve`` as another checkout has it, run from that folder; None without ``--before``."""
    if folder is None:
        return None
    port = free_port()
    process = Process([sys.executable, "-m", "mockserver", "serve", "--port", str(port), "-q"], cwd=folder)
    arrived = wait_for_200(port, "POST", "/api/jobs", SEED_CREATE)
    return process, port, arrived - process.started


def start_prism(folder: Path) -> tuple[Process, int, float] | None:
    if not (folder / "node_modules" / ".bin" / "prism").exists() or shutil.which("npx") is None:
        return None
    port = free_port()
    process = Process(["npx", "prism", "mock", "-h", "127.0.0.1", "-p", str(port), "-v", "warn",
                       str(ROOT / "openapi" / "jobs.yaml")], cwd=folder)
    arrived = wait_for_200(port, "GET", RETRIEVE, timeout=60)
    return process, port, arrived - process.started


def more_startups(args: argparse.Namespace, mock: list[float], old: list[float] | None,
                  prism: list[float] | None) -> None:
    """Two more startup samples of each server, each a fresh process (None: that server is not measured)."""
    for _ in range(2):
        again, _, startup = start_mock(args.threads)
        mock.append(startup)
        again.stop()
        for samples, starter in ((old, start_old), (prism, lambda: start_prism(args.prism))):
            other = starter() if samples is not None else None
            if other is not None and samples is not None:
                samples.append(other[2])
                other[0].stop()


def measure(args: argparse.Namespace) -> dict[str, object]:
    """Run every server, interleaved, and return the figures."""
    startups, prism_startups = [], []
    mock, mock_port, startup = start_mock(args.threads)
    startups.append(startup)
    idle_rss = rss_mb(mock.popen.pid)
    body_size = len(request(mock_port, "GET", RETRIEVE)[1])
    floor, floor_port = start_floor(body_size, args.threads)
    prism = start_prism(args.prism)
    if prism is not None:
        prism_startups.append(prism[2])
    before = start_before(args.before)
    old = start_old()
    old_startups = [old[2]] if old is not None else []
    old_rss = rss_mb(old[0].popen.pid) if old is not None else None
    runs: dict[str, list[Load]] = {"mock": [], "floor": [], "prism": [], "old": [], "before": []}
    rss_after: list[tuple[int, float]] = []
    try:
        for _ in range(args.rounds):
            runs["mock"].append(wrk(mock_port, RETRIEVE, args.duration))
            runs["floor"].append(wrk(floor_port, "/", args.duration, authorization=False))
            if old is not None:
                runs["old"].append(wrk(old[1], RETRIEVE, args.duration))
            if before is not None:
                runs["before"].append(wrk(before[1], RETRIEVE, args.duration))
            if prism is not None:
                runs["prism"].append(wrk(prism[1], RETRIEVE, args.duration))
        more_startups(args, startups, old_startups if old is not None else None,
                      prism_startups if prism is not None else None)
        if args.million:
            answered = sum(load.requests for load in runs["mock"])
            rss_after.append((answered, rss_mb(mock.popen.pid)))
            while answered < 1_000_000:
                answered += wrk(mock_port, RETRIEVE, 30).requests
                rss_after.append((answered, rss_mb(mock.popen.pid)))
        prism_rss = rss_mb(prism[0].popen.pid) if prism is not None else None
    finally:
        mock.stop()
        floor.stop()
        for other in (old, before):
            if other is not None:
                other[0].stop()
        if prism is not None:
            prism[0].stop()

    def median(name: str, field: str) -> float | None:
        values = [getattr(load, field) for load in runs[name]]
        return statistics.median(values) if values else None

    return {
        "machine": {"nproc": os.cpu_count(), "load": os.getloadavg(), "python": sys.version.split()[0]},
        "duration_s": args.duration, "rounds": args.rounds, "threads": args.threads,
        "mock": {"rps": median("mock", "requests_per_second"), "p99_ms": median("mock", "p99_ms"),
                 "errors": sum(load.errors for load in runs["mock"]),
                 "startup_s": statistics.median(startups), "idle_rss_mb": idle_rss},
        "floor": {"rps": median("floor", "requests_per_second"), "p99_ms": median("floor", "p99_ms")},
        "old": {"rps": median("old", "requests_per_second"), "p99_ms": median("old", "p99_ms"),
                "startup_s": statistics.median(old_startups) if old_startups else None, "rss_mb": old_rss},
        "before": {"rps": median("before", "requests_per_second"), "p99_ms": median("before", "p99_ms"),
                   "startup_s": before[2] if before is not None else None},
        "prism": {"rps": median("prism", "requests_per_second"), "p99_ms": median("prism", "p99_ms"),
                  "startup_s": statistics.median(prism_startups) if prism_startups else None, "rss_mb": prism_rss},
        "rss_after_requests": rss_after,
    }


def report(figures: dict[str, Any], args: argparse.Namespace) -> None:
    """Print the figures against the targets."""
    mock, floor, prism, old = figures["mock"], figures["floor"], figures["prism"], figures["old"]
    print(f"machine: {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}, Python {sys.version.split()[0]}; "
          f"wrk -t1 -c10 -d{args.duration}s, median of {args.rounds} interleaved rounds, {args.threads} threads")
    print(f"{'':24}{'req/s':>10}{'p99 ms':>10}")
    for name, row in (("mock", mock), ("floor (same stack)", floor), ("old stack (waitress)", old),
                      ("before (--before)", figures["before"]), ("prism", prism)):
        if row["rps"] is not None:
            print(f"{name:24}{row['rps']:>10.0f}{row['p99_ms']:>10.2f}")
    print(f"mock / floor: {mock['rps'] / floor['rps']:.2f} (target >= 0.8)")
    if prism["rps"]:
        print(f"mock / prism: {mock['rps'] / prism['rps']:.2f} (target >= 5); p99 mock {mock['p99_ms']:.2f} ms vs "
              f"prism {prism['p99_ms']:.2f} ms: {mock['p99_ms'] / prism['p99_ms']:.2f} (target <= 0.5)")
        print(f"startup to first 200: mock {mock['startup_s']:.3f} s, prism {prism['startup_s']:.3f} s: "
              f"{mock['startup_s'] / prism['startup_s']:.2f} (target <= 0.2)")
        if old["rps"]:
            print(f"old stack (waitress) / prism: {old['rps'] / prism['rps']:.2f}; startup {old['startup_s']:.3f} s, "
                  f"RSS idle {old['rss_mb']:.1f} MB")
    else:
        print(f"startup to first 200: mock {mock['startup_s']:.3f} s (target <= 0.3 s); Prism not found")
    print(f"RSS idle: mock {mock['idle_rss_mb']:.1f} MB (target <= 60)"
          + (f", prism {prism['rss_mb']:.1f} MB" if prism["rss_mb"] else ""))
    for answered, rss in figures["rss_after_requests"]:
        print(f"  RSS after {answered:>9,} requests: {rss:.1f} MB")
    print(f"errors under load: {mock['errors']}")


def main() -> int:
    """Measure and print (or print JSON with --json)."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run (default 10)")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (default 3)")
    parser.add_argument("--threads", type=int, default=4,
                        help="threads of the pool for calls under a latency fault (ours and the floor)")
    parser.add_argument("--prism", type=Path, default=Path("/tmp/prism"), help="folder with prism-cli installed")
    parser.add_argument("--before", type=Path, default=None,
                        help="also measure serve from this checkout (an earlier commit's worktree)")
    parser.add_argument("--million", action="store_true", help="also run a million requests and sample RSS")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        print("wrk is needed: apt-get install -y wrk", file=sys.stderr)
        return 2
    figures = measure(args)
    if args.json:
        print(json.dumps(figures, indent=2))
    else:
        report(figures, args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
