"""The page at /_mock/ui under load: its first view with 10,000 jobs and a full journal, and the API's throughput
while the page is open and polling.

Run by hand (not a test), with ``wrk`` installed (``apt-get install -y wrk``)::

    python benchmarks/bench_ui.py [--jobs 10000] [--repeat 15] [--duration 10] [--rounds 3] [--null-page]
                                  [--prism DIR] [--json]

1. **First view, server side.** An app built by ``create_app`` (blank stage, the default journal of 1,000
   entries) gets ``--jobs`` jobs from ten users through the API, a quarter of them terminated, the rest running,
   and then enough requests to fill its journal: every fifth one a malformed extension ("mixed"), or every one
   ("worst": each verdict then needs jsonschema's explanation of the violation). The first view is every request
   the page makes when it opens: its three files and the six admin reads of one refresh. Each is timed around
   the WSGI call alone (environments built beforehand), with the caches the page fills (its files, the
   verdicts) emptied before each repetition. A warm refresh (the six reads, verdicts known) is timed too.
   Target: the first view answers in under 200 ms.
2. **API throughput with and without the page.** ``ucloud-jobs serve --scenario blank`` in its own process
   gets ``--jobs`` jobs, then ``wrk -t1 -c10`` on ``GET /api/jobs/retrieve`` for ``--duration`` seconds, in
   interleaved rounds: alone and with a thread of this process doing what an open page does (one refresh, six
   GETs on a keep-alive connection, every second: the page's default rate), their order turning each round;
   ``--null-page`` adds a third series, a poller asking six times a second only for ``/_mock/health``.
   Medians are reported side by side. Before the rounds, the server's CPU time is read over ``--duration``
   seconds with no load, idle and with the page open, for what a page costs it. Target: the throughput is
   unchanged (within the spread of the rounds). The peer: Prism serving ``openapi/jobs.yaml`` (``--prism DIR``,
   default /tmp/prism, where ``npm install @stoplight/prism-cli`` was run) gets the same wrk run on the same
   call in each round, for the ratio in the same run (Prism has no page).
"""

from __future__ import annotations

import argparse
import datetime
import http.client
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from werkzeug.test import EnvironBuilder

from contracts.testing.transport import mock_token
from mockserver.web import ui
from mockserver.web.app import MockApp, create_app
from mockserver.web.verdicts import Verdicts

USERS = [f"user-{n}" for n in range(10)]
SPEC = {"application": {"name": "acme-batch", "version": "1.0.0"},
        "product": {"id": "example-compute", "category": "example-compute", "provider": "example"},
        "timeAllocation": {"hours": 5, "minutes": 0, "seconds": 0}}
FILES = ["/_mock/ui", "/_mock/ui/ui.css", "/_mock/ui/ui.js"]
#: One refresh of the page, as ui.js makes it (the newest job selected).
REFRESH = ["/_mock/scenario", "/_mock/timeline?limit=5", "/_mock/faults", "/_mock/jobs?offset=0&limit=50",
           "/_mock/journal?limit=25&verdicts=true", "/_mock/job?id={newest}"]
TARGET_MS = 200.0
POLL_S = 1.0
RETRIEVE = "/api/jobs/retrieve?includeProduct=false&includeUpdates=false&id=1"


def _call(app: MockApp, method: str, path: str, body: Any = None, user: str = "user") -> int:
    headers = {"Authorization": f"Bearer {mock_token(user)}", "Host": "127.0.0.1"}
    builder = EnvironBuilder(path=path, method=method, headers=headers,
                             data=None if body is None else json.dumps(body), content_type="application/json")
    status: list[str] = []
    b"".join(app(builder.get_environ(), lambda code, headers, info=None: status.append(code)))  # type: ignore[arg-type]
    return int(status[0].split()[0])


def populated(jobs: int, bad_every: int) -> MockApp:
    """An app with ``jobs`` jobs of ten users and a full journal (every ``bad_every``-th request malformed)."""
    app = create_app(scenario="blank")
    per_user = jobs // len(USERS)
    for user in USERS:
        for start in range(0, per_user, 1000):
            count = min(1000, per_user - start)
            assert _call(app, "POST", "/api/jobs", {"items": [SPEC] * count}, user) == 200
    app.control.advance(5_000)
    owned = {job["id"]: job["owner"] for job in app.engine.job_table(limit=jobs)["items"]}
    ended = list(owned)[: jobs // 4]
    for user in USERS:
        mine = [job_id for job_id in ended if owned[job_id] == user]
        for start in range(0, len(mine), 1000):
            items = [{"id": job_id} for job_id in mine[start:start + 1000]]
            assert _call(app, "POST", "/api/jobs/terminate", {"items": items}, user) == 200
    bad = {"items": [{"jobId": "1", "requestedTime": {"hours": -1, "minutes": 0, "seconds": 0}}]}
    for n in range(app.journal.capacity + 100):
        if n % bad_every == 0:
            _call(app, "POST", "/api/jobs/extend", bad, USERS[0])
        else:
            _call(app, "GET", f"/api/jobs/retrieve?id={1 + n % per_user}", user=USERS[0])
    return app


def _environ(path: str) -> dict[str, Any]:
    environ = EnvironBuilder(path=path, headers={"Host": "127.0.0.1", "Accept": "application/json"}).get_environ()
    environ["REMOTE_ADDR"] = "127.0.0.1"
    return environ


def _served_ms(app: MockApp, environ: dict[str, Any]) -> float:
    """Milliseconds from calling the app to the last byte of its answer (status must be 200)."""
    status: list[str] = []
    started = time.perf_counter()
    b"".join(app(environ, lambda code, headers, info=None: status.append(code)))  # type: ignore[arg-type]
    elapsed = (time.perf_counter() - started) * 1000
    assert status[0].startswith("200"), (environ["PATH_INFO"], status)
    return elapsed


def first_view(app: MockApp, repeat: int) -> dict[str, Any]:
    """The page's first view, cold, ``repeat`` times; and a warm refresh."""
    newest = app.engine.job_table(limit=1)["items"][0]["id"]
    paths = FILES + [path.format(newest=newest) for path in REFRESH]
    totals, per_path, warm = [], {path: [] for path in paths}, []
    for _ in range(repeat):
        app.control.verdicts = Verdicts(app.contract)  # the verdicts the journal's newest page needs, not known
        ui._asset.cache_clear()
        ui._html.cache_clear()
        environs = [_environ(path) for path in paths]
        times = [_served_ms(app, environ) for environ in environs]
        for path, spent in zip(paths, times, strict=True):
            per_path[path].append(spent)
        totals.append(sum(times))
        environs = [_environ(path) for path in paths[len(FILES):]]
        warm.append(sum(_served_ms(app, environ) for environ in environs))
    return {"total_ms": {"median": statistics.median(totals), "max": max(totals)},
            "per_request_ms": {path: statistics.median(spent) for path, spent in per_path.items()},
            "warm_refresh_ms": {"median": statistics.median(warm), "max": max(warm)},
            "journal": app.journal.snapshot(0), "jobs": len(app.engine.store)}


# ---------------------------------------------------------------------------------------------- throughput


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _request(port: int, method: str, path: str, body: Any = None, user: str = "user") -> int:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request(method, path, body=None if body is None else json.dumps(body),
                           headers={"Authorization": f"Bearer {mock_token(user)}", "Content-Type": "application/json"})
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


def start_serve(jobs: int) -> tuple[subprocess.Popen[bytes], int]:
    """``ucloud-jobs serve`` on a free port with ``jobs`` jobs."""
    port = _free_port()
    process = subprocess.Popen([sys.executable, "-m", "mockserver", "serve", "--port", str(port), "-q",
                                "--scenario", "blank"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True)
    deadline = time.monotonic() + 30
    while True:
        try:
            if _request(port, "GET", "/_mock/health") == 200:
                break
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.01)
    for user in USERS:
        for start in range(0, jobs // len(USERS), 1000):
            count = min(1000, jobs // len(USERS) - start)
            assert _request(port, "POST", "/api/jobs", {"items": [SPEC] * count}, user) == 200
    assert _request(port, "POST", "/_mock/clock", {"advanceMs": 5000}) == 200
    return process, port


class Page(threading.Thread):
    """What an open page does to the server: one refresh (six GETs, keep-alive) every second, until stopped."""

    def __init__(self, port: int, newest: str) -> None:
        super().__init__(daemon=True)
        self.port = port
        self.paths = [path.format(newest=newest) for path in REFRESH]
        self.stopped = threading.Event()
        self.requests = 0
        self.refresh_ms: list[float] = []

    def run(self) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        while not self.stopped.is_set():
            started = time.perf_counter()
            for path in self.paths:
                connection.request("GET", path, headers={"Accept": "application/json"})
                response = connection.getresponse()
                response.read()
                assert response.status == 200, (path, response.status)
                self.requests += 1
            self.refresh_ms.append((time.perf_counter() - started) * 1000)
            self.stopped.wait(POLL_S)
        connection.close()


def wrk(port: int, duration: int) -> float:
    command = ["wrk", "-t1", "-c10", f"-d{duration}s", "-H", f"Authorization: Bearer {mock_token('user-0')}",
               f"http://127.0.0.1:{port}{RETRIEVE}"]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    assert "Non-2xx" not in output, output
    found = re.search(r"Requests/sec:\s+([\d.]+)", output)
    assert found is not None, output
    return float(found.group(1))


def cpu_s(pid: int) -> float:
    """The CPU time a process has used, user and system, in seconds (/proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def page_cost(pid: int, port: int, newest: str, seconds: int) -> dict[str, float]:
    """The server's CPU time over ``seconds`` with no load but an open page, and with nothing at all."""
    shares = {}
    for name in ("idle", "page"):
        page = Page(port, newest)
        before, started = cpu_s(pid), time.perf_counter()
        if name == "page":
            page.start()
        page.stopped.wait(seconds)
        page.stopped.set()
        if name == "page":
            page.join()
        shares[name] = (cpu_s(pid) - before) / (time.perf_counter() - started)
    return shares


class NullPage(Page):
    """A client that polls like the page but asks only for /_mock/health: what any poller costs."""

    def __init__(self, port: int, newest: str) -> None:
        super().__init__(port, newest)
        self.paths = ["/_mock/health"] * len(REFRESH)


def throughput(jobs: int, duration: int, rounds: int, prism_folder: Path, null_page: bool = False) -> dict[str, Any]:
    """Requests per second of retrieve, alone and with a polling page (and a null page), and Prism's, in
    interleaved rounds."""
    from bench_server import start_prism  # noqa: PLC0415 - the sibling benchmark's way to start the peer

    process, port = start_serve(jobs)
    prism = start_prism(prism_folder)
    if prism is not None:
        wrk(prism[1], 2)  # Node's JIT warms up in the first seconds: not counted
    kinds: list[type[Page] | None] = [None, Page, *([NullPage] if null_page else [])]
    rates: dict[type[Page] | None, list[float]] = {kind: [] for kind in kinds}
    peer: list[float] = []
    pages: list[Page] = []
    try:
        cost = page_cost(process.pid, port, str(jobs), duration)
        for round_index in range(rounds):
            # The order turns round: on a shared machine whose load drifts, always measuring one first biases it.
            turn = round_index % len(kinds)
            for kind in kinds[turn:] + kinds[:turn]:
                poller = None if kind is None else kind(port, str(jobs))
                if poller is not None:
                    poller.start()
                rates[kind].append(wrk(port, duration))
                if poller is not None:
                    poller.stopped.set()
                    poller.join()
                    if kind is Page:
                        pages.append(poller)
            if prism is not None:
                peer.append(wrk(prism[1], duration))
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=10)
        if prism is not None:
            prism[0].stop()
    refreshes = [spent for page in pages for spent in page.refresh_ms]
    alone, polled, null = rates[None], rates[Page], rates.get(NullPage, [])
    return {"alone_rps": alone, "polled_rps": polled, "alone_median": statistics.median(alone),
            "polled_median": statistics.median(polled), "null_rps": null,
            "null_median": statistics.median(null) if null else None, "prism_rps": peer,
            "prism_median": statistics.median(peer) if peer else None, "server_cpu_share": cost,
            "page_requests_per_round": [page.requests for page in pages],
            "page_refresh_ms_under_load": {"median": statistics.median(refreshes), "max": max(refreshes)}}


def _report(figures: dict[str, Any]) -> None:
    print(f"machine: {figures['machine']}")
    for name, view in figures["first_view"].items():
        total = view["total_ms"]
        print(f"first view ({name} journal, {view['jobs']:,} jobs, {view['journal']['recorded']:,} requests "
              f"recorded, {view['journal']['capacity']:,} kept): median {total['median']:.1f} ms, max "
              f"{total['max']:.1f} ms (target < {TARGET_MS:.0f}); warm refresh median "
              f"{view['warm_refresh_ms']['median']:.1f} ms")
        for path, spent in view["per_request_ms"].items():
            print(f"    {spent:8.2f} ms  {path}")
    if "throughput" in figures:
        rate = figures["throughput"]
        alone = ", ".join(f"{r:.0f}" for r in rate["alone_rps"])
        polled = ", ".join(f"{r:.0f}" for r in rate["polled_rps"])
        print(f"retrieve req/s alone: {alone} (median {rate['alone_median']:.0f}); with the page polling: {polled} "
              f"(median {rate['polled_median']:.0f}); the page's refresh under load: median "
              f"{rate['page_refresh_ms_under_load']['median']:.1f} ms")
        if rate["null_median"] is not None:
            print(f"with a null page (six /_mock/health a second): median {rate['null_median']:.0f}")
        cost = rate["server_cpu_share"]
        print(f"the server's CPU, no load: {cost['idle']:.2%} of a core idle, {cost['page']:.2%} with the page open")
        if rate["prism_median"] is not None:
            peer = ", ".join(f"{r:.0f}" for r in rate["prism_rps"])
            print(f"Prism's retrieve req/s in the same rounds: {peer} (median {rate['prism_median']:.0f}); the mock "
                  f"with the page polling at {rate['polled_median'] / rate['prism_median']:.1f}x Prism's")


def main() -> int:
    """Measure and print (or print JSON); exit 1 when the first view misses its target."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=15, help="cold first views per journal mix")
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds alone / with the page")
    parser.add_argument("--no-throughput", action="store_true", help="only the first view (no wrk needed)")
    parser.add_argument("--null-page", action="store_true",
                        help="a third series: a poller asking only for /_mock/health, what any client costs")
    parser.add_argument("--prism", type=Path, default=Path("/tmp/prism"),
                        help="a folder with Prism in node_modules (the peer; skipped where absent)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    figures: dict[str, Any] = {"machine": {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "platform": platform.platform(), "nproc": os.cpu_count(), "python": platform.python_version()}}
    mixes: dict[str, Callable[[], MockApp]] = {"mixed": lambda: populated(args.jobs, 5),
                                               "worst": lambda: populated(args.jobs, 1)}
    figures["first_view"] = {name: first_view(build(), args.repeat) for name, build in mixes.items()}
    if not args.no_throughput:
        if shutil.which("wrk") is None:
            print("wrk is needed for the throughput: apt-get install -y wrk", file=sys.stderr)
            return 2
        figures["throughput"] = throughput(args.jobs, args.duration, args.rounds, args.prism, args.null_page)
    figures["machine"]["load"] = os.getloadavg()
    print(json.dumps(figures, indent=2)) if args.json else _report(figures)
    return 0 if all(view["total_ms"]["max"] < TARGET_MS for view in figures["first_view"].values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
