"""Soak: `ucloud-jobs serve` under many connections for a minute, then an audit of every job it holds.

Run by hand (not a test): ``python benchmarks/soak.py [--duration 60] [--connections 50] [--processes 2]``.

The server runs in a subprocess (``python -m mockserver serve --profile ucloud --scenario blank``: the clock is
frozen, so nothing changes a job but the requests) on 127.0.0.1 and a free port; the script never talks to any
other host. Clients are ``--processes`` processes of threads, one keep-alive ``http.client`` connection each.

Every connection repeats a cycle on a job of its own, strictly in order: create it, extend it ``--extends`` times
(by 2, 3, 4 ... seconds), retrieve it (its allocation must already be exact; also after every tenth extension),
terminate it, retrieve it (SUCCESS). After each of its own extensions it extends one of a few "hot" jobs, which
every connection extends at once, each connection by a duration of its own, and retrieves it. Every answer must
be a 200 of the expected shape; anything else counts as an error. After the run, every job on the server is read
back (browse, with its updates) and audited against the requests that were answered 200:

- each connection's job: SUCCESS (IN_QUEUE if the run ended mid-cycle), ``timeAllocation`` = 1 h + the sum of
  its extensions, and its newest extension updates carry the allocations they made, in order;
- each hot job: still running, ``timeAllocation`` = its initial allocation + the sum of every extension of it
  that was answered 200, by whichever connection.

A job whose audit fails is a lost update. RSS is read from /proc/<pid>/status after ``--warmup`` seconds of the
same load and at the end of the run (before the audit); the run is bounded by ``--duration`` and by
``--max-requests``. Exit status 0 when there were no errors, no lost updates and RSS grew by less than
``--rss-limit-mb``; 1 otherwise. ``run_soak`` is the same run as a function (tests/conformance/test_soak.py).
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import platform
import re
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "soak-token"
HEADERS = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
HOUR_MS = 3_600_000
OWN_ALLOCATION_MS = HOUR_MS
HOT_ALLOCATION_MS = 5 * HOUR_MS
URL_LINE = re.compile(r"at (http://127\.0\.0\.1:\d+) ")
IO_TIMEOUT = 30.0
MAX_ERRORS_KEPT = 20


def _spec(name: str, allocation_ms: int) -> dict[str, Any]:
    return {"application": {"name": "soak", "version": "1.0.0"}, "name": name,
            "product": {"id": "example-compute", "category": "example-compute", "provider": "example"},
            "timeAllocation": _duration(allocation_ms)}


def _duration(ms: int) -> dict[str, int]:
    hours, rest = divmod(ms, HOUR_MS)
    minutes, rest = divmod(rest, 60_000)
    return {"hours": hours, "minutes": minutes, "seconds": rest // 1000}


def _millis(duration: dict[str, int]) -> int:
    return duration["hours"] * HOUR_MS + duration["minutes"] * 60_000 + duration["seconds"] * 1000


# ---------------------------------------------------------------------------------------------- the server


#: The audit reads every job back, so the server must forget none to make room (serve --max-jobs).
KEEP_EVERY_JOB = 10_000_000


class Server:
    """``python -m mockserver serve`` in a subprocess on a free loopback port."""

    def __init__(self, threads: int | None = None, switch_interval: float | None = None) -> None:
        command = [sys.executable, "-m", "mockserver", "serve"]
        if switch_interval is not None:  # an experiment: the same CLI with another GIL switch interval
            command[1:] = ["-c", f"import sys; sys.setswitchinterval({switch_interval!r}); "
                                 "from mockserver.cli import main; sys.exit(main(sys.argv[1:]))", "serve"]
        command += ["--host", "127.0.0.1", "--port", "0", "--profile", "ucloud", "--scenario", "blank", "-q",
                    "--max-jobs", str(KEEP_EVERY_JOB)]
        if threads is not None:
            command += ["--threads", str(threads)]
        self.process = subprocess.Popen(command, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, text=True)
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        match = URL_LINE.search(line)
        if match is None:
            self.stop()
            raise RuntimeError(f"the server did not print its URL: {line!r}")
        self.url = match.group(1)
        self.port = int(self.url.rsplit(":", 1)[1])
        self.stderr: list[str] = []
        self._drain = threading.Thread(target=self._read_stderr, daemon=True)
        self._drain.start()

    def _read_stderr(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.stderr.append(line)

    def rss_kb(self) -> int:
        """The server's resident set size (VmRSS) in KiB."""
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise RuntimeError("no VmRSS in /proc")

    def stop(self) -> None:
        """Stop with SIGINT (as Ctrl-C) and wait; kill if that does not work."""
        if self.process.poll() is None:
            self.process.send_signal(2)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=15)
        for stream in (self.process.stdout, self.process.stderr):
            if stream is not None:
                stream.close()


# ---------------------------------------------------------------------------------------------- the clients


@dataclass
class Own:
    """A connection's own job: its extensions answered 200 (ms, in order), and whether it was terminated."""

    steps: list[int] = field(default_factory=list)
    terminated: bool = False

    @property
    def allocation_ms(self) -> int:
        return OWN_ALLOCATION_MS + sum(self.steps)


@dataclass
class Tally:
    """What some connections did: requests, errors, and what the server must now hold."""

    requests: int = 0
    errors: int = 0
    error_samples: list[str] = field(default_factory=list)
    own: dict[str, Own] = field(default_factory=dict)  # each connection's jobs, by id
    hot: dict[str, int] = field(default_factory=dict)  # hot job id -> ms added by extensions answered 200
    latencies_ms: list[float] = field(default_factory=list)

    def merge(self, other: Tally) -> None:
        self.requests += other.requests
        self.errors += other.errors
        self.error_samples.extend(other.error_samples[: max(0, MAX_ERRORS_KEPT - len(self.error_samples))])
        self.own.update(other.own)
        for job_id, ms in other.hot.items():
            self.hot[job_id] = self.hot.get(job_id, 0) + ms
        self.latencies_ms.extend(other.latencies_ms)


class _Failed(Exception):
    """An answer that was not what the cycle needs; counted as an error, and the cycle starts again."""


class Connection:
    """One keep-alive connection and its share of the tally."""

    def __init__(self, port: int, tally: Tally) -> None:
        self.port = port
        self.tally = tally
        self.http = http.client.HTTPConnection("127.0.0.1", port, timeout=IO_TIMEOUT)

    def call(self, method: str, target: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body)
        started = time.perf_counter()
        self.tally.requests += 1
        try:
            self.http.request(method, target, body=data, headers=HEADERS)
            response = self.http.getresponse()
            raw = response.read()
        except (OSError, http.client.HTTPException) as error:
            self.http.close()  # reconnect on the next call
            self.http = http.client.HTTPConnection("127.0.0.1", self.port, timeout=IO_TIMEOUT)
            self._error(f"{method} {target}: {type(error).__name__}: {error}")
        self.tally.latencies_ms.append((time.perf_counter() - started) * 1000)
        if response.status != 200:
            self._error(f"{method} {target}: {response.status} {raw[:200]!r}")
        return json.loads(raw)

    def _error(self, text: str) -> None:
        self.tally.errors += 1
        if len(self.tally.error_samples) < MAX_ERRORS_KEPT:
            self.tally.error_samples.append(text)
        raise _Failed(text)

    def expect(self, condition: bool, text: str) -> None:
        if not condition:
            self._error(text)


def _worker(port: int, index: int, hot_ids: list[str], *, deadline: float, max_requests: int, extends: int,
            tally: Tally) -> None:
    """One connection's cycles until the deadline or its share of requests is used up."""
    connection = Connection(port, tally)
    hot_step_ms = (index % 59 + 1) * 1000  # each connection extends hot jobs by a duration of its own
    turn = 0

    def going() -> bool:
        return time.monotonic() < deadline and tally.requests < max_requests

    try:
        while going():
            try:
                turn = _cycle(connection, index, hot_ids, hot_step_ms=hot_step_ms, extends=extends, turn=turn,
                              going=going)
            except _Failed:
                continue
    finally:
        connection.http.close()


def _cycle(connection: Connection, index: int, hot_ids: list[str], *, hot_step_ms: int, extends: int, turn: int,
           going: Any) -> int:
    """Create a job, extend it (and the hot jobs) ``extends`` times, then terminate it; stop early at the end."""
    tally = connection.tally
    created = connection.call("POST", "/api/jobs", {"items": [_spec(f"soak-{index}", OWN_ALLOCATION_MS)]})
    job_id = created["responses"][0]["id"]
    own = Own()
    tally.own[job_id] = own  # recorded at once: each extension answered 200 is appended as it is answered
    for k in range(1, extends + 1):
        if not going():
            return turn
        step_ms = (k % 59 + 1) * 1000
        connection.call("POST", "/api/jobs/extend",
                        {"items": [{"jobId": job_id, "requestedTime": _duration(step_ms)}]})
        own.steps.append(step_ms)
        hot = hot_ids[turn % len(hot_ids)]
        turn += 1
        connection.call("POST", "/api/jobs/extend",
                        {"items": [{"jobId": hot, "requestedTime": _duration(hot_step_ms)}]})
        tally.hot[hot] = tally.hot.get(hot, 0) + hot_step_ms
        job = connection.call("GET", f"/api/jobs/retrieve?id={hot}")
        connection.expect(job["status"]["state"] == "IN_QUEUE", f"hot job {hot} is {job['status']['state']}")
        if k % 10 == 0:
            job = connection.call("GET", f"/api/jobs/retrieve?id={job_id}")
            connection.expect(_millis(job["specification"]["timeAllocation"]) == own.allocation_ms,
                              f"job {job_id}: allocation {job['specification']['timeAllocation']} after {k} steps")
    job = connection.call("GET", f"/api/jobs/retrieve?id={job_id}&includeUpdates=true")
    connection.expect(_millis(job["specification"]["timeAllocation"]) == own.allocation_ms,
                      f"job {job_id}: allocation {job['specification']['timeAllocation']} after {own.steps}")
    connection.call("POST", "/api/jobs/terminate", {"items": [{"id": job_id}]})
    own.terminated = True
    job = connection.call("GET", f"/api/jobs/retrieve?id={job_id}")
    connection.expect(job["status"]["state"] == "SUCCESS", f"job {job_id} is {job['status']['state']}")
    return turn


def run_clients(port: int, connections: int, hot_ids: list[str], *, deadline: float, max_requests: int,
                extends: int, first_index: int = 0) -> Tally:
    """``connections`` threads in this process, each on its own connection; their merged tally.

    ``deadline`` is a ``time.monotonic()`` reading, which on Linux is the same clock in every process.
    """
    tallies = [Tally() for _ in range(connections)]
    per_connection = max(1, max_requests // connections)
    threads = [threading.Thread(target=_worker, args=(port, first_index + index, hot_ids), daemon=True,
                                kwargs={"deadline": deadline, "max_requests": per_connection, "extends": extends,
                                        "tally": tallies[index]})
               for index in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=max(0.0, deadline - time.monotonic()) + IO_TIMEOUT * 2)
    total = Tally()
    stuck = sum(thread.is_alive() for thread in threads)
    if stuck:
        total.errors += stuck
        total.error_samples.append(f"{stuck} connections did not finish")
    for tally in tallies:
        total.merge(tally)
    return total


def _process_main(args: tuple[int, int, int, list[str], float, int, int]) -> Tally:
    port, first_index, connections, hot_ids, deadline, max_requests, extends = args
    return run_clients(port, connections, hot_ids, deadline=deadline, max_requests=max_requests, extends=extends,
                       first_index=first_index)


# ---------------------------------------------------------------------------------------------- the audit


def _fetch_all(port: int) -> dict[str, dict[str, Any]]:
    """Every job on the server, with its updates, through browse's pages."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=IO_TIMEOUT)
    jobs: dict[str, dict[str, Any]] = {}
    token: str | None = None
    try:
        while True:
            target = "/api/jobs/browse?itemsPerPage=1000&includeUpdates=true" + (f"&next={token}" if token else "")
            connection.request("GET", target, headers=HEADERS)
            response = connection.getresponse()
            page = json.loads(response.read())
            if response.status != 200:
                raise RuntimeError(f"browse answered {response.status}: {page}")
            for job in page["items"]:
                jobs[job["id"]] = job
            token = page["next"]
            if token is None:
                return jobs
    finally:
        connection.close()


def audit(port: int, tally: Tally, hot_start: dict[str, int]) -> list[str]:
    """Every job against the requests answered 200: a line per lost update (empty when none was lost)."""
    jobs = _fetch_all(port)
    lost = []
    for job_id, own in tally.own.items():
        job = jobs.get(job_id)
        if job is None:
            lost.append(f"job {job_id}: gone")
            continue
        allocation = _millis(job["specification"]["timeAllocation"])
        # The job keeps its newest 64 updates, as UCloud does: the newest extensions, each with the allocation
        # it made, in order.
        found = [u["newTimeAllocation"] for u in job["updates"] if u.get("newTimeAllocation") is not None]
        made = [OWN_ALLOCATION_MS + sum(own.steps[: k + 1]) for k in range(len(own.steps))]
        if allocation != own.allocation_ms or found != made[len(made) - len(found):] or len(found) < min(
                len(made), 62):
            lost.append(f"job {job_id}: allocation {allocation} ms, expected {own.allocation_ms}; "
                        f"{len(found)} extension updates of {len(made)}")
        state = job["status"]["state"]
        if state != ("SUCCESS" if own.terminated else "IN_QUEUE"):
            lost.append(f"job {job_id}: {state}, terminated: {own.terminated}")
    for job_id, start in hot_start.items():
        job = jobs[job_id]
        allocation = _millis(job["specification"]["timeAllocation"])
        expected = start + tally.hot.get(job_id, 0)
        if allocation != expected or job["status"]["state"] != "IN_QUEUE":
            lost.append(f"hot job {job_id}: allocation {allocation} ms, expected {expected} "
                        f"({job['status']['state']})")
    return lost


# ---------------------------------------------------------------------------------------------- the run


@dataclass
class SoakResult:
    """What a soak run measured."""

    duration_s: float
    connections: int
    processes: int
    requests: int
    errors: int
    lost_updates: int
    jobs_created: int
    jobs_audited: int
    rss_start_kb: int
    rss_end_kb: int
    rss_max_kb: int
    load_before: str
    load_after: str
    p50_ms: float
    p99_ms: float
    error_samples: list[str]
    lost_samples: list[str]
    server_errors: list[str]

    @property
    def requests_per_second(self) -> float:
        return self.requests / self.duration_s if self.duration_s else 0.0

    @property
    def rss_growth_kb(self) -> int:
        return self.rss_end_kb - self.rss_start_kb


def _loadavg() -> str:
    return " / ".join(Path("/proc/loadavg").read_text().split()[:3])


def run_soak(*, duration: float = 60.0, connections: int = 50, processes: int = 2, warmup: float = 10.0,
             hot_jobs: int = 4, extends: int = 100, max_requests: int = 2_000_000,
             server_threads: int | None = None, switch_interval: float | None = None) -> SoakResult:
    """Start the server, load it for ``warmup + duration`` seconds, sample RSS, audit every job, stop it."""
    if processes < 1 or connections < processes:
        raise ValueError("need at least one process and one connection per process")
    if extends < 1:
        raise ValueError("extends must be at least 1")
    server = Server(server_threads, switch_interval)
    try:
        setup = Connection(server.port, Tally())
        created = setup.call("POST", "/api/jobs", {"items": [_spec(f"hot-{k}", HOT_ALLOCATION_MS)
                                                             for k in range(hot_jobs)]})
        hot_ids = [item["id"] for item in created["responses"]]
        setup.http.close()
        hot_start = dict.fromkeys(hot_ids, HOT_ALLOCATION_MS)
        load_before = _loadavg()
        started = time.monotonic()
        total_s = warmup + duration
        shares = [connections // processes + (1 if k < connections % processes else 0) for k in range(processes)]
        budgets = [max_requests * share // connections for share in shares]
        samples: list[int] = []
        if processes == 1:
            holder: list[Tally] = []
            runner = threading.Thread(target=lambda: holder.append(run_clients(
                server.port, connections, hot_ids, deadline=started + total_s, max_requests=max_requests,
                extends=extends)), daemon=True)
            runner.start()
            rss_start = _sample_until(server, started, warmup=warmup, total_s=total_s, samples=samples,
                                      running=runner.is_alive)
            runner.join(timeout=total_s + IO_TIMEOUT * 3)
            tally = holder[0] if holder else Tally(errors=1, error_samples=["the clients did not finish"])
        else:
            context = multiprocessing.get_context("spawn")
            with context.Pool(processes) as pool:
                jobs = [(server.port, sum(shares[:k]), shares[k], hot_ids, started + total_s, budgets[k], extends)
                        for k in range(processes)]
                pending = pool.map_async(_process_main, jobs)
                rss_start = _sample_until(server, started, warmup=warmup, total_s=total_s, samples=samples,
                                          running=lambda: not pending.ready())
                tally = Tally()
                for part in pending.get(timeout=total_s + IO_TIMEOUT * 3):
                    tally.merge(part)
        elapsed = time.monotonic() - started
        rss_end = server.rss_kb()
        load_after = _loadavg()
        lost = audit(server.port, tally, hot_start)
    finally:
        server.stop()
    latencies = sorted(tally.latencies_ms) or [0.0]
    server_errors = [line.rstrip() for line in server.stderr if "mock failed" in line or "Traceback" in line]
    return SoakResult(
        duration_s=elapsed, connections=connections, processes=processes, requests=tally.requests,
        errors=tally.errors, lost_updates=len(lost), jobs_created=len(tally.own),
        jobs_audited=len(tally.own) + len(hot_start),
        rss_start_kb=rss_start, rss_end_kb=rss_end, rss_max_kb=max([rss_end, *samples]),
        load_before=load_before, load_after=load_after, p50_ms=statistics.median(latencies),
        p99_ms=latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
        error_samples=tally.error_samples, lost_samples=lost[:MAX_ERRORS_KEPT], server_errors=server_errors)


def _sample_until(server: Server, started: float, *, warmup: float, total_s: float, samples: list[int],
                  running: Any) -> int:
    """Sample RSS every second while the clients run; the sample after the warm-up is returned."""
    rss_start: int | None = None
    while running() and time.monotonic() - started < total_s + IO_TIMEOUT:
        if rss_start is None and time.monotonic() - started >= warmup:
            rss_start = server.rss_kb()
        samples.append(server.rss_kb())
        time.sleep(min(1.0, max(0.05, warmup / 4)))
    return rss_start if rss_start is not None else samples[0] if samples else server.rss_kb()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of load after the warm-up (60)")
    parser.add_argument("--warmup", type=float, default=10.0, help="seconds of the same load before RSS is read (10)")
    parser.add_argument("--connections", type=int, default=50, help="keep-alive connections in all (50)")
    parser.add_argument("--processes", type=int, default=2, help="client processes sharing them (2)")
    parser.add_argument("--hot-jobs", type=int, default=4, help="jobs every connection extends (4)")
    parser.add_argument("--extends", type=int, default=100,
                        help="extensions of its own job per cycle (100; past 62 a job keeps its newest 64 updates, "
                             "so the memory a job holds is bounded)")
    parser.add_argument("--max-requests", type=int, default=2_000_000, help="stop after this many (2,000,000)")
    parser.add_argument("--server-threads", type=int, default=None, help="serve --threads (its default)")
    parser.add_argument("--server-switch-interval", type=float, default=None, metavar="SECONDS",
                        help="an experiment: run the server with sys.setswitchinterval(SECONDS)")
    parser.add_argument("--rss-limit-mb", type=float, default=10.0, help="allowed RSS growth (10 MB)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    result = run_soak(duration=args.duration, connections=args.connections, processes=args.processes,
                      warmup=args.warmup, hot_jobs=args.hot_jobs, extends=args.extends,
                      max_requests=args.max_requests, server_threads=args.server_threads,
                      switch_interval=args.server_switch_interval)
    figures = {
        "machine": f"{platform.node()} {platform.machine()} {os.cpu_count()} CPUs, Python {platform.python_version()}",
        "duration_s": round(result.duration_s, 1), "connections": result.connections,
        "client_processes": result.processes, "requests": result.requests,
        "requests_per_second": round(result.requests_per_second), "errors": result.errors,
        "lost_updates": result.lost_updates, "jobs_created": result.jobs_created,
        "jobs_audited": result.jobs_audited,
        "rss_start_mb": round(result.rss_start_kb / 1024, 1), "rss_end_mb": round(result.rss_end_kb / 1024, 1),
        "rss_max_mb": round(result.rss_max_kb / 1024, 1),
        "rss_growth_mb": round(result.rss_growth_kb / 1024, 1), "p50_ms": round(result.p50_ms, 2),
        "p99_ms": round(result.p99_ms, 2), "load_before": result.load_before, "load_after": result.load_after,
    }
    if args.json:
        print(json.dumps(figures, indent=2))
    else:
        width = max(map(len, figures))
        for name, value in figures.items():
            print(f"{name:<{width}}  {value}")
    for heading, lines in (("errors", result.error_samples), ("lost updates", result.lost_samples),
                           ("server errors", result.server_errors)):
        if lines:
            print(f"\nfirst {heading}:", *lines, sep="\n  ", file=sys.stderr)
    ok = (result.errors == 0 and result.lost_updates == 0 and not result.server_errors
          and result.rss_growth_kb < args.rss_limit_mb * 1024)
    print("\nPASS" if ok else "\nFAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
