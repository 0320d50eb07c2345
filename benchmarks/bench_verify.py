"""How long ``ucloud-jobs verify`` takes to fail a broken provider over a socket, and to show the first failure.

Run by hand (it is not a test), from the repository root with the project installed:

    python benchmarks/bench_verify.py                        # --examples 20, the default shrink time, 3 rounds
    python benchmarks/bench_verify.py --shrink-time 0 5      # compare shrink times
    python benchmarks/bench_verify.py --json

Each broken provider of ``tests/contracts/broken.py`` (the mock with one defect in front of it, ucloud profile)
is served by ``HttpServer`` on 127.0.0.1 and port 0 in this process; ``python -m mockserver verify --url URL
--examples N`` runs as a subprocess with the token in ``UCLOUD_TOKEN``. Two times are measured from its start,
Python's start included: until it prints its first curl line (the first violation's reproduction) and until it
exits. Every run must exit 1 (the defect found); the target (issue 12) is that every failing run ends within
30 s, and the exit code is 1 when one does not.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # for tests.contracts.broken, which is not part of the distribution

from mockserver.server import HttpServer  # noqa: E402 - after the path is set
from mockserver.web.app import create_app  # noqa: E402
from tests.contracts.broken import DEFECTS, Defect  # noqa: E402

TARGET_SECONDS = 30.0


def time_one(defect: Defect, examples: int, shrink_time: str | None) -> tuple[float, float, int]:
    """Serve ``defect`` and time one ``verify`` of it: seconds to the first curl line, to the exit; the status."""
    server = HttpServer(defect(create_app(profile="ucloud")), "127.0.0.1", 0).start()
    command = [sys.executable, "-m", "mockserver", "verify", "--url", server.url, "--examples", str(examples)]
    if shrink_time is not None:
        command += ["--shrink-time", shrink_time]
    try:
        started = time.perf_counter()
        first: float | None = None
        with subprocess.Popen(command, env={**os.environ, "UCLOUD_TOKEN": "bench-token-0123456789"},
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True) as process:
            assert process.stdout is not None
            for line in process.stdout:
                if first is None and line.lstrip().startswith("curl "):
                    first = time.perf_counter() - started
            status = process.wait()
        total = time.perf_counter() - started
        return (total if first is None else first), total, status
    finally:
        server.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=20)
    parser.add_argument("--shrink-time", nargs="*", default=[None], metavar="SECONDS",
                        help="shrink times to compare (default: verify's own default)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    results: dict[str, dict[str, dict[str, list[float]]]] = {}
    statuses: set[int] = set()
    for _ in range(args.rounds):  # interleaved, so a busy moment of the machine spreads over every case
        for shrink_time in args.shrink_time:
            for defect, _, _ in DEFECTS:
                first, seconds, status = time_one(defect, args.examples, shrink_time)
                statuses.add(status)
                case = results.setdefault(shrink_time or "default", {}).setdefault(defect.__name__, {})
                case.setdefault("first_curl_s", []).append(first)
                case.setdefault("total_s", []).append(seconds)
    worst = max(max(case["total_s"]) for cases in results.values() for case in cases.values())
    if args.json:
        print(json.dumps({"examples": args.examples, "rounds": args.rounds, "results": results,
                          "exit_statuses": sorted(statuses), "worst_s": worst}, indent=2))
    else:
        print(f"ucloud-jobs verify --examples {args.examples} against each broken provider over a socket, "
              f"{args.rounds} rounds: seconds from the start to the first curl line, and to the exit")
        print(f"{'shrink time':>12}  {'provider':<18} {'first curl (median)':>20} {'exit: median':>13} {'max':>6}")
        for key, cases in results.items():
            for name, case in cases.items():
                print(f"{key:>12}  {name:<18} {statistics.median(case['first_curl_s']):20.2f} "
                      f"{statistics.median(case['total_s']):13.2f} {max(case['total_s']):6.2f}")
        print(f"exit statuses: {sorted(statuses)}; the slowest run: {worst:.2f} s (target: {TARGET_SECONDS:g} s)")
    return 0 if statuses == {1} and worst <= TARGET_SECONDS else 1


if __name__ == "__main__":
    sys.exit(main())
