"""Validations per second of the seed's retrieved Job: the project's API side by side with plain validators.

Run by hand (it is not a test):

    python benchmarks/bench_validation.py               # a table
    python benchmarks/bench_validation.py --json        # the same figures as JSON, for benchmarks/RESULTS.md

Every candidate validates the same document in the same process, round-robin within each repetition, so the
figures compare side by side; the median of the repetitions is reported. The target (issue 2 §7) is 100,000
validations per second through the project's API, ``contracts.validate(job, "Job")``.
"""

from __future__ import annotations

import argparse
import copy
import datetime
import gc
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import jsonschema_rs
from jsonschema import Draft202012Validator

import contracts

ROOT = Path(__file__).resolve().parent.parent
PAYLOADS = ROOT / "tests" / "data" / "docs" / "payloads.json"
JOB_SCHEMA_FILE = ROOT / "openapi" / "schemas" / "Job.json"
# The first `jobs.retrieve` answer of the seed flow (the job RUNNING, expiresAt = createdAt + 5 h).
SEED_PAYLOAD_ID = "seed-extend-and-terminate.md:curl:2:jobs.retrieve:response"
TARGET_PER_SECOND = 100_000
PEER_FIGURE = "~2,600/s (jsonschema 4.26, PEERS.md)"

def load_seed_job() -> tuple[dict[str, Any], str]:
    """The seed's retrieved Job, as scripts/extract_docs.py extracted it, and where it came from."""
    payloads = json.loads(PAYLOADS.read_text(encoding="utf-8"))["payloads"]
    for entry in payloads:
        if entry["id"] == SEED_PAYLOAD_ID:
            return entry["payload"], f"{PAYLOADS.relative_to(ROOT)} [{SEED_PAYLOAD_ID}]"
    raise SystemExit(f"{SEED_PAYLOAD_ID} is not in {PAYLOADS}; run scripts/extract_docs.py")


@dataclass
class Candidate:
    """One way of validating the Job: a label and a call that validates it once."""

    label: str
    call: Callable[[], object]
    project_api: bool = False
    rates: list[float] = field(default_factory=list)


def build_candidates(job: dict[str, Any]) -> list[Candidate]:
    """The project's API and the plain engines, each checked to accept the Job and reject a broken one."""
    contract = contracts.default_contract()
    standalone = json.loads(JOB_SCHEMA_FILE.read_text(encoding="utf-8"))
    plain = Draft202012Validator(standalone)
    rust = jsonschema_rs.validator_for(standalone)

    candidates = [
        Candidate('contracts.validate(job, "Job")', lambda: contracts.validate(job, "Job"), project_api=True),
        Candidate('Contract.is_valid(job, "Job")', lambda: contract.is_valid(job, "Job"), project_api=True),
        Candidate('Contract.is_valid(..., backend="jsonschema")',
                  lambda: contract.is_valid(job, "Job", backend="jsonschema")),
        Candidate("jsonschema Draft202012Validator.is_valid", lambda: plain.is_valid(job)),
        Candidate("jsonschema_rs validator.is_valid", lambda: rust.is_valid(job)),
    ]

    # Guard against timing a no-op: every engine accepts the Job and rejects it with a misspelt state.
    broken = copy.deepcopy(job)
    broken["status"]["state"] = "RUNNIN"
    verdicts = {
        "project": (contract.is_valid(job, "Job"), contract.is_valid(broken, "Job")),
        "reference": (contract.is_valid(job, "Job", backend="jsonschema"),
                      contract.is_valid(broken, "Job", backend="jsonschema")),
        "plain": (plain.is_valid(job), plain.is_valid(broken)),
        "rust": (rust.is_valid(job), rust.is_valid(broken)),
    }
    wrong = {name: verdict for name, verdict in verdicts.items() if verdict != (True, False)}
    if wrong:
        raise SystemExit(f"the engines disagree on the seed Job (valid, broken): {wrong}")
    contracts.validate(job, "Job")  # raises if the project's API would reject it
    return candidates


def _time(call: Callable[[], object], number: int) -> float:
    start = time.perf_counter()
    for _ in range(number):
        call()
    return time.perf_counter() - start


def calibrate(call: Callable[[], object], min_time: float) -> int:
    """The number of calls that takes at least ``min_time`` seconds."""
    number = 1
    while True:
        elapsed = _time(call, number)
        if elapsed >= min_time:
            return number
        number = max(number * 2, int(number * min_time / max(elapsed, 1e-9) * 1.2))


def run(candidates: Sequence[Candidate], repeat: int, min_time: float) -> None:
    """Time every candidate ``repeat`` times, round-robin, with the garbage collector paused while timing."""
    numbers = [calibrate(candidate.call, min_time) for candidate in candidates]
    for _ in range(repeat):
        for candidate, number in zip(candidates, numbers, strict=True):
            gc.collect()
            gc.disable()
            try:
                elapsed = _time(candidate.call, number)
            finally:
                gc.enable()
            candidate.rates.append(number / elapsed)


def _versions() -> dict[str, str]:
    versions = {}
    for name in ("ucloud-jobs-contract", "jsonschema", "jsonschema-rs", "referencing"):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def report(candidates: Sequence[Candidate], source: str, repeat: int, min_time: float) -> dict[str, Any]:
    """The figures as plain data."""
    plain = next(c for c in candidates if c.label.startswith("jsonschema Draft"))
    plain_median = statistics.median(plain.rates)
    api = candidates[0]
    api_median = statistics.median(api.rates)
    return {
        "benchmark": "bench_validation",
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "machine": {"uname": " ".join(platform.uname()), "cpus": os.cpu_count(),
                    "python": sys.version.split()[0], "implementation": platform.python_implementation(),
                    # other work on the machine skews every row alike; the load says how much there was
                    "loadavg_1_5_15": [round(x, 2) for x in os.getloadavg()]},
        "versions": _versions(),
        "document": source,
        "repeat": repeat,
        "min_time_s": min_time,
        "results": [
            {
                "label": c.label,
                "project_api": c.project_api,
                "median_per_s": round(statistics.median(c.rates)),
                "min_per_s": round(min(c.rates)),
                "max_per_s": round(max(c.rates)),
                "median_us": round(1e6 / statistics.median(c.rates), 3),
                "vs_plain_jsonschema": round(statistics.median(c.rates) / plain_median, 1),
            }
            for c in candidates
        ],
        "target": {"label": api.label, "per_s": TARGET_PER_SECOND, "median_per_s": round(api_median),
                   "passed": api_median >= TARGET_PER_SECOND},
        "peer_figure": PEER_FIGURE,
    }


def render_table(data: dict[str, Any]) -> str:
    """The figures as a small text table."""
    rows = [("validator", "median/s", "min/s", "max/s", "µs/call", "vs jsonschema")]
    rows += [(r["label"], f"{r['median_per_s']:,}", f"{r['min_per_s']:,}", f"{r['max_per_s']:,}",
              f"{r['median_us']:.2f}", f"{r['vs_plain_jsonschema']:,.1f}x") for r in data["results"]]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [
        f"document: {data['document']}",
        f"python {data['machine']['python']} on {data['machine']['cpus']} CPUs "
        f"(load {' '.join(map(str, data['machine']['loadavg_1_5_15']))}); "
        + ", ".join(f"{k} {v}" for k, v in data["versions"].items()),
        f"{data['repeat']} repetitions of >= {data['min_time_s']} s each, median reported",
        "",
    ]
    for index, row in enumerate(rows):
        lines.append("  ".join(cell.ljust(widths[0]) if i == 0 else cell.rjust(widths[i])
                               for i, cell in enumerate(row)))
        if index == 0:
            lines.append("  ".join("-" * width for width in widths))
    target = data["target"]
    verdict = "PASS" if target["passed"] else "FAIL"
    lines += ["", f"target: >= {target['per_s']:,}/s through {target['label']}: {verdict} "
                  f"({target['median_per_s']:,}/s); peer figure {data['peer_figure']}"]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and print a table (or JSON); exit 1 when the project's API misses the target."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7, help="timed repetitions per candidate (default 7)")
    parser.add_argument("--min-time", type=float, default=0.3,
                        help="seconds each repetition lasts at least (default 0.3)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)

    job, source = load_seed_job()
    candidates = build_candidates(job)
    run(candidates, args.repeat, args.min_time)
    data = report(candidates, source, args.repeat, args.min_time)
    print(json.dumps(data, indent=2) if args.json else render_table(data))
    return 0 if data["target"]["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
