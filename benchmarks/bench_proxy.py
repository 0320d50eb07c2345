"""What ``ucloud-jobs proxy`` adds to a call, side by side with Prism's validating proxy, in one run.

Run by hand (not a test): ``python benchmarks/bench_proxy.py [--duration 5] [--rounds 5] [--prism /tmp/prism]``.

One upstream, ``ucloud-jobs serve`` (the seed scenario, its job created first), and three ways to reach it:

- directly;
- through ``ucloud-jobs proxy --upstream <serve>`` (checks every request and answer against the contract);
- through Prism's proxy, ``prism proxy openapi/jobs.yaml <serve>`` (``--prism DIR``, default /tmp/prism, a
  folder where ``npm install @stoplight/prism-cli`` was run), which validates too.

Each is loaded with ``wrk -t1 -c1`` (one connection, one call after the other, so the median is a call's own
latency) with the seed's retrieve, and with ``wrk -t1 -c10`` for throughput. Rounds are interleaved (direct,
ours, Prism, direct, ...) since the machine is shared, and medians of the rounds are reported. Before timing,
each way must answer the retrieve with the same job. Target (issue 14): the proxy adds at most 2 ms to the
median retrieve.
"""

from __future__ import annotations

import argparse
import json
import platform
import re
import shutil
import statistics
import subprocess
import sys
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from bench_server import RETRIEVE, SEED_CREATE, Process, free_port, request, wait_for_200

ROOT = Path(__file__).resolve().parent.parent
TARGET_MS = 2.0


@dataclass
class Run:
    """One wrk run: median latency, 99th percentile, requests per second."""

    p50_ms: float
    p99_ms: float
    rps: float


def _ms(value: str, unit: str) -> float:
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def wrk(port: int, duration: int, connections: int) -> Run:
    output = subprocess.run(["wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--latency", "-H",
                             "Authorization: Bearer benchmark", f"http://127.0.0.1:{port}{RETRIEVE}"],
                            capture_output=True, text=True, check=True).stdout
    p50 = re.search(r"50%\s+([\d.]+)(us|ms|s)", output)
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", output)
    rate = re.search(r"Requests/sec:\s+([\d.]+)", output)
    if p50 is None or p99 is None or rate is None:
        raise RuntimeError(f"wrk's output is not what this script reads:\n{output}")
    if "Non-2xx" in output or "Socket errors" in output:
        raise RuntimeError(f"wrk saw errors on port {port}:\n{output}")
    return Run(_ms(*p50.groups()), _ms(*p99.groups()), float(rate.group(1)))


def start(args: argparse.Namespace) -> dict[str, tuple[Process, int]]:
    """The upstream, our proxy and Prism's, each answering the retrieve with the same job."""
    upstream_port = free_port()
    upstream = Process([sys.executable, "-m", "mockserver", "serve", "--port", str(upstream_port), "-q"])
    wait_for_200(upstream_port, "POST", "/api/jobs", SEED_CREATE)
    upstream_url = f"http://127.0.0.1:{upstream_port}"
    ours_port = free_port()
    ours = Process([sys.executable, "-m", "mockserver", "proxy", "--upstream", upstream_url, "--port",
                    str(ours_port), "-q"])
    wait_for_200(ours_port, "GET", RETRIEVE)
    found = {"direct": (upstream, upstream_port), "ucloud-jobs proxy": (ours, ours_port)}
    binary = args.prism / "node_modules" / ".bin" / "prism"
    if binary.exists() and shutil.which("node"):
        prism_port = free_port()
        prism = Process([str(binary), "proxy", "-h", "127.0.0.1", "-p", str(prism_port), "-v", "warn",
                         str(ROOT / "openapi" / "jobs.yaml"), upstream_url], cwd=args.prism)
        wait_for_200(prism_port, "GET", RETRIEVE, timeout=60)
        found["prism proxy"] = (prism, prism_port)
    else:
        print(f"Prism is not installed under {args.prism}: measuring without it", file=sys.stderr)
    answers = {name: request(port, "GET", RETRIEVE) for name, (_, port) in found.items()}
    direct_answer = json.loads(answers["direct"][1])
    for name, (status, body) in answers.items():
        if status != 200 or json.loads(body) != direct_answer:
            raise RuntimeError(f"{name} answered {status} {body[:200]!r}, not the upstream's job")
    return found


def measure(args: argparse.Namespace) -> dict[str, dict[str, float]]:
    servers = start(args)
    try:
        runs: dict[str, dict[str, list[Run]]] = {name: {"c1": [], "c10": []} for name in servers}
        for _ in range(args.rounds):
            for name, (_, port) in servers.items():
                runs[name]["c1"].append(wrk(port, args.duration, 1))
                runs[name]["c10"].append(wrk(port, args.duration, 10))
    finally:
        for process, _ in servers.values():
            process.stop()
    return {name: {"p50_ms": statistics.median(run.p50_ms for run in found["c1"]),
                   "p99_ms": statistics.median(run.p99_ms for run in found["c1"]),
                   "rps_c1": statistics.median(run.rps for run in found["c1"]),
                   "rps_c10": statistics.median(run.rps for run in found["c10"])}
            for name, found in runs.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--duration", type=int, default=5, help="seconds per wrk run (default 5)")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds (default 5)")
    parser.add_argument("--prism", type=Path, default=Path("/tmp/prism"), help="folder with prism-cli installed")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    figures = measure(args)
    added = figures["ucloud-jobs proxy"]["p50_ms"] - figures["direct"]["p50_ms"]
    if args.json:
        print(json.dumps({"figures": figures, "added_ms": added}, indent=2))
    else:
        print(f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, {platform.node()}, {platform.python_version()}, "
              f"{args.rounds} rounds of {args.duration} s")
        print(f"{'':20} {'p50 ms (c1)':>12} {'p99 ms (c1)':>12} {'req/s (c1)':>11} {'req/s (c10)':>12}")
        for name, row in figures.items():
            print(f"{name:20} {row['p50_ms']:12.3f} {row['p99_ms']:12.3f} {row['rps_c1']:11.0f} "
                  f"{row['rps_c10']:12.0f}")
        print(f"added to the median retrieve by ucloud-jobs proxy: {added:.3f} ms (target <= {TARGET_MS} ms)")
        if "prism proxy" in figures:
            print(f"added by Prism's proxy: {figures['prism proxy']['p50_ms'] - figures['direct']['p50_ms']:.3f} ms")
    return 0 if added <= TARGET_MS else 1


if __name__ == "__main__":
    sys.exit(main())
