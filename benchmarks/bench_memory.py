"""Memory under abuse: the RSS of `ucloud-jobs serve` after each thing a client can send, and after a reset.

Run by hand (not a test): ``python benchmarks/bench_memory.py [--only NAME ...] [--json]``.

Each abuse runs against a fresh ``python -m mockserver serve --port 0 -q`` (the defaults: no limit is raised or
lowered) in a subprocess on 127.0.0.1, over real sockets, from ``--clients`` keep-alive connections at once. The
server's ``VmRSS`` and ``VmHWM`` (the peak) are read from ``/proc/<pid>/status``: when it is idle (started, one
request of each kind answered, reset), right after the abuse, and after ``POST /_mock/reset``. The answers the
abuse got are counted by status, so a refusal shows as what it is.

Targets (issue 10 §5): the peak stays under 150 MB whatever a client sends, and a reset brings RSS back to within
20 MB of idle. The exit status is 1 when an abuse misses either.

``--cwd DIR`` serves another checkout of the project (e.g. ``git archive main | tar -x -C /tmp/before``) with the
same interpreter, for a before/after comparison; ``--scale`` shrinks every abuse for a quick look.
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import os
import platform
import re
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
URL_LINE = re.compile(r"at (http://127\.0\.0\.1:(\d+)) ")
IO_TIMEOUT = 300.0
MB = 1_000_000
PEAK_TARGET_MB = 150
RESET_SLACK_MB = 20
PRODUCT = {"id": "example-compute", "category": "example-compute", "provider": "example"}
APPLICATION = {"name": "acme-batch", "version": "1.0.0"}
HEADER_ROOM = 200 * 1024  # a request line or header of this size fits the server's 256 KiB header limit


def _spec(name: str, **extra: Any) -> dict[str, Any]:
    return {"application": APPLICATION, "product": PRODUCT, "name": name,
            "timeAllocation": {"hours": 5, "minutes": 0, "seconds": 0}, **extra}


def jwt(subject: str) -> str:
    """An unsigned JWT naming ``subject`` (the mock checks no signature)."""
    def part(document: Any) -> str:
        return base64.urlsafe_b64encode(json.dumps(document).encode()).rstrip(b"=").decode()
    return f"{part({'alg': 'none'})}.{part({'sub': subject})}.c2ln"


# ---------------------------------------------------------------------------------------------- the server


class Server:
    """``python -m mockserver serve --port 0 -q`` in a subprocess."""

    def __init__(self, cwd: Path, extra: list[str]) -> None:
        command = [sys.executable, "-m", "mockserver", "serve", "--port", "0", "-q", *extra]
        self.process = subprocess.Popen(command, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, text=True)
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        match = URL_LINE.search(line)
        if match is None:
            self.stop()
            raise RuntimeError(f"the server did not print its URL: {line!r}")
        self.port = int(match.group(2))
        threading.Thread(target=self.process.stderr.read, daemon=True).start()  # type: ignore[union-attr]

    def status_kb(self, key: str) -> int:
        """A field of /proc/<pid>/status in KiB (VmRSS, VmHWM)."""
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
        raise RuntimeError(f"no {key} in /proc")

    def open_files(self) -> int:
        """How many file descriptors the server has open (its sockets among them)."""
        return len(os.listdir(f"/proc/{self.process.pid}/fd"))

    def wait_for_files(self, at_most: int, timeout: float = 15.0) -> None:
        """Wait until the server has closed the connections of clients that left (at most ``timeout`` s)."""
        deadline = time.monotonic() + timeout
        while self.open_files() > at_most and time.monotonic() < deadline:
            time.sleep(0.1)

    def stop(self) -> None:
        """Ctrl-C, then wait (kill if it does not stop)."""
        if self.process.poll() is None:
            self.process.send_signal(2)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=30)


class Client:
    """One keep-alive connection; answers are read whole and counted by status."""

    def __init__(self, port: int, statuses: Counter[int]) -> None:
        self.port = port
        self.statuses = statuses
        self.http = http.client.HTTPConnection("127.0.0.1", port, timeout=IO_TIMEOUT)
        self.received = 0

    def call(self, method: str, target: str, body: Any = None, *, data: bytes | None = None,
             token: str = "bench-token") -> tuple[int, bytes]:
        headers = {"Authorization": f"Bearer {token}"}
        if body is not None:
            data = json.dumps(body, separators=(",", ":")).encode()
        if data is not None:
            headers["Content-Type"] = "application/json"
        try:
            self.http.request(method, target, body=data, headers=headers)
            response = self.http.getresponse()
            raw = response.read()
        except (OSError, http.client.HTTPException):
            self.http.close()
            self.http = http.client.HTTPConnection("127.0.0.1", self.port, timeout=IO_TIMEOUT)
            self.statuses[0] += 1  # the connection failed: counted as status 0
            return 0, b""
        self.statuses[response.status] += 1
        self.received = max(self.received, len(raw))
        return response.status, raw

    def create(self, specs: list[dict[str, Any]], token: str = "bench-token") -> list[str]:
        status, raw = self.call("POST", "/api/jobs", {"items": specs}, token=token)
        return [item["id"] for item in json.loads(raw)["responses"]] if status == 200 else []


# ---------------------------------------------------------------------------------------------- the abuses


@dataclass
class Abuse:
    """What a client does to the server: ``run(client, index, scale)`` on each of ``--clients`` connections."""

    name: str
    what: str
    run: Callable[[Client, int, float], None]
    figures: dict[str, Any] = field(default_factory=dict)


def _n(count: int, scale: float) -> int:
    return max(1, int(count * scale))


def small_jobs(client: Client, index: int, scale: float) -> None:
    """200,000 small jobs, each with a name of its own, in creates of 1000."""
    for batch in range(_n(50, scale)):
        client.create([_spec(f"c{index}b{batch}j{n}") for n in range(1000)])


def large_parameters(client: Client, index: int, scale: float) -> None:
    """100 jobs whose parameters hold 1 MB of text."""
    for n in range(_n(25, scale)):
        client.create([_spec(f"c{index}j{n}", parameters={"text": {"type": "text", "value": "x" * 1_000_000}})])


def parameter_maps(client: Client, index: int, scale: float) -> None:
    """100 jobs whose parameters are 25,000 small values (about 1 MB of JSON, and far more as objects)."""
    values = {f"p{n:05}": {"type": "boolean", "value": True} for n in range(25_000)}
    for n in range(_n(25, scale)):
        client.create([_spec(f"c{index}j{n}", parameters=values)])


def full_store(client: Client, index: int, scale: float) -> None:
    """As many jobs as the mock keeps, each as large as it takes, each extended 64 times (its whole history)."""
    limits = _limits(client)
    per_client = _n(limits["maxJobs"] // 4, scale)
    room = limits["maxJobBytes"] - 400  # the rest of the specification, the creator and the name
    ids: list[str] = []
    for start in range(0, per_client, 50):
        specs = [_spec(f"c{index}j{start + n}",
                       parameters={"text": {"type": "text", "value": f"{index}/{start + n}/" + "y" * room}})
                 for n in range(min(50, per_client - start))]
        ids += client.create(specs)
    for step in range(64):
        for start in range(0, len(ids), 1000):
            client.call("POST", "/api/jobs/extend", {"items": [
                {"jobId": job_id, "requestedTime": {"hours": 0, "minutes": 1, "seconds": step % 59}}
                for job_id in ids[start:start + 1000]]})


def _limits(client: Client) -> dict[str, int]:
    """The mock's limits from GET /_mock/health, or the defaults of this work when it does not say them."""
    _, raw = client.call("GET", "/_mock/health")
    found = json.loads(raw).get("limits") or {}
    return {"maxJobs": int(found.get("maxJobs", 4000)), "maxJobBytes": int(found.get("maxJobBytes", 8192))}


def long_paths(client: Client, index: int, scale: float) -> None:
    """2,000 requests to distinct paths of 200 KiB (404s: the route memo and the journal)."""
    for n in range(_n(500, scale)):
        client.call("GET", f"/api/jobs/{index}-{n}-" + "p" * HEADER_ROOM)


def long_queries(client: Client, index: int, scale: float) -> None:
    """2,000 jobs, each retrieved with a query string of its own of 200 KiB (the query and render memos)."""
    count = _n(500, scale)
    ids = []
    for start in range(0, count, 100):
        ids += client.create([_spec(f"c{index}j{start + n}") for n in range(min(100, count - start))])
    for n, job_id in enumerate(ids):
        client.call("GET", f"/api/jobs/retrieve?id={job_id}&includeParameters=true&filterApplication={n}"
                           + "q" * HEADER_ROOM)


def long_subjects(client: Client, index: int, scale: float) -> None:
    """2,000 users whose JWT subjects are 150 KiB, each creating a job and retrieving it (the token cache)."""
    for n in range(_n(500, scale)):
        token = jwt(f"{index}-{n}-" + "s" * (150 * 1024))
        for job_id in client.create([_spec("mine")], token=token):
            client.call("GET", f"/api/jobs/retrieve?id={job_id}", token=token)


def acl_growth(client: Client, index: int, scale: float) -> None:
    """One job's ACL grown by 1000 users of 900 characters per request, 50 requests per connection."""
    ids = client.create([_spec(f"c{index}")])
    if not ids:
        return
    for n in range(_n(50, scale)):
        added = [{"entity": {"type": "user", "username": f"{index}-{n}-{k}-" + "u" * 900}, "permissions": ["READ"]}
                 for k in range(1000)]
        client.call("POST", "/api/jobs/updateAcl", {"items": [{"id": ids[0], "added": added, "deleted": []}]})


def journal_dump(client: Client, index: int, scale: float) -> None:
    """A journal full of the largest entries (a long path, or a long query, user and a 4 KiB JSON body of empty
    objects), read back whole three times."""
    body = b"[" + b",".join([b"{}"] * 1300) + b"]"  # 3.9 KiB: decoded as JSON when the journal is read
    token = jwt(f"{index}-" + "j" * (HEADER_ROOM // 2))
    for n in range(_n(150, scale)):
        client.call("GET", f"/api/jobs/{index}-{n}/" + "p" * (HEADER_ROOM // 2))
        client.call("POST", f"/api/jobs?{index}-{n}-" + "q" * (HEADER_ROOM // 4), data=body, token=token)
    for _ in range(_n(3, scale)):
        client.call("GET", "/_mock/journal")


def _hanging(port: int, head: bytes, rest: bytes, count: int, statuses: Counter[int]) -> None:
    """``count`` connections that each send ``head`` and ``rest`` and then nothing more, until all were sent."""
    socks = []
    for _ in range(count):
        try:
            sock = socket.create_connection(("127.0.0.1", port), timeout=IO_TIMEOUT)
            sock.sendall(head)
            sock.sendall(rest)
        except OSError:  # dropped past the connection cap, or refused and closed
            statuses[0] += 1
            continue
        socks.append(sock)
    for sock in socks:
        sock.close()


def slow_bodies(client: Client, index: int, scale: float) -> None:
    """1,000 connections that each send the head of a create with a 1 MiB body, and 1 MB of it (never the end)."""
    head = (b"POST /api/jobs HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer bench-token\r\n"
            b"Content-Type: application/json\r\nContent-Length: 1048576\r\n\r\n")
    _hanging(client.port, head, b" " * 1_000_000, _n(250, scale), client.statuses)


def slow_heads(client: Client, index: int, scale: float) -> None:
    """1,000 connections that each send 200 KiB of a header that never ends."""
    head = b"GET /api/jobs/browse HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Pad: "
    _hanging(client.port, head, b"a" * HEADER_ROOM, _n(250, scale), client.statuses)


def big_bodies(client: Client, index: int, scale: float) -> None:
    """Bodies of 1 MiB that parse into the most objects (empty objects), sent to jobs.create (400s)."""
    body = b'{"items":[' + b",".join([b"{}"] * 349_000) + b"]}"
    for _ in range(_n(25, scale)):
        client.call("POST", "/api/jobs", data=body)


ABUSES = [Abuse(function.__name__.replace("_", "-"), (function.__doc__ or "").strip(), function) for function in (
    small_jobs, large_parameters, parameter_maps, full_store, long_paths, long_queries, long_subjects, acl_growth,
    journal_dump, big_bodies, slow_bodies, slow_heads)]


# ---------------------------------------------------------------------------------------------- measuring


def _settle(client: Client) -> None:
    """One request of each kind, then a reset: what an idle server has already paid for."""
    client.call("GET", "/api/jobs/browse")
    client.create([_spec("warm")])
    client.call("GET", "/_mock/journal")
    client.call("POST", "/_mock/reset", {})


def measure(abuse: Abuse, args: argparse.Namespace) -> dict[str, Any]:
    server = Server(Path(args.cwd), args.serve_arg)
    try:
        statuses: Counter[int] = Counter()
        control = Client(server.port, Counter())
        _settle(control)
        time.sleep(0.5)
        idle, idle_files = server.status_kb("VmRSS"), server.open_files()
        clients = [Client(server.port, statuses) for _ in range(args.clients)]
        started = time.perf_counter()
        threads = [threading.Thread(target=abuse.run, args=(client, index, args.scale))
                   for index, client in enumerate(clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        seconds = time.perf_counter() - started
        after = server.status_kb("VmRSS")
        peak = server.status_kb("VmHWM")
        # Clients that hung up (the slow ones) may still be closing on the server's side: the reset is measured
        # once they are gone, since what an open connection holds is not the reset's to give back.
        server.wait_for_files(idle_files + len(clients))
        reset_status, _ = control.call("POST", "/_mock/reset", {})
        time.sleep(0.5)
        after_reset = server.status_kb("VmRSS")
        largest = max(client.received for client in clients)
        return {"abuse": abuse.name, "what": abuse.what, "seconds": round(seconds, 1),
                "statuses": dict(sorted(statuses.items())), "largestAnswerBytes": largest,
                "idleMB": idle * 1024 / MB, "peakMB": peak * 1024 / MB, "afterMB": after * 1024 / MB,
                "afterResetMB": after_reset * 1024 / MB, "resetStatus": reset_status,
                "pass": peak * 1024 / MB < PEAK_TARGET_MB and (after_reset - idle) * 1024 / MB <= RESET_SLACK_MB}
    finally:
        server.stop()


def report(rows: list[dict[str, Any]]) -> None:
    print(f"# bench_memory: {platform.node()} {platform.machine()}, {os.cpu_count()} CPUs, Python "
          f"{platform.python_version()}, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
          f"load {' / '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print("| abuse | answers | s | idle MB | peak MB | after MB | after reset MB | largest answer | |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---|")
    for row in rows:
        answers = ", ".join(f"{count} x {status}" for status, count in row["statuses"].items())
        print(f"| {row['abuse']} | {answers} | {row['seconds']} | {row['idleMB']:.1f} | {row['peakMB']:.1f} | "
              f"{row['afterMB']:.1f} | {row['afterResetMB']:.1f} | {row['largestAnswerBytes']:,} B | "
              f"{'pass' if row['pass'] else 'FAIL'} |")


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--only", nargs="*", choices=[abuse.name for abuse in ABUSES], default=None)
    parser.add_argument("--clients", type=int, default=4, help="connections at once (default: 4, the threads)")
    parser.add_argument("--scale", type=float, default=1.0, help="multiply every abuse's count (default: 1)")
    parser.add_argument("--cwd", default=str(ROOT), help="the checkout to serve (default: this one)")
    parser.add_argument("--serve-arg", action="append", default=[], help="an extra argument of serve")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    rows = []
    for abuse in ABUSES:
        if args.only is None or abuse.name in args.only:
            rows.append(measure(abuse, args))
            if not args.json:
                print(f"{abuse.name}: peak {rows[-1]['peakMB']:.1f} MB, after reset {rows[-1]['afterResetMB']:.1f} MB",
                      file=sys.stderr, flush=True)
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        report(rows)
    return 0 if all(row["pass"] for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
