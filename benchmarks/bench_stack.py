"""Which socket server stack should carry the mock: every candidate side by side with Prism, in one run.

Run by hand (not a test), from the repository root with the project and the candidates installed::

    pip install -e '.[test]' granian uvicorn httptools uvloop a2wsgi hypercorn cheroot gunicorn websockets
    python benchmarks/bench_stack.py [--duration 10] [--rounds 3] [--only NAME,...] [--million NAME,...] [--json]

Needs ``wrk`` (``apt-get install -y wrk``) and Prism in a scratch folder (``--prism``, default /tmp/prism, where
``npm install @stoplight/prism-cli`` was run). For every candidate, in every round,
a fresh server process is started twice: once with the mock's app (``create_app()``, the seed scenario, one job
created first) and once with a hello-world WSGI app answering a body of the same size (the floor of the stack).
Each gets ``wrk -t1 -c10 --latency`` against the seed's ``jobs.retrieve`` (the floor: ``/``); Prism gets the same
in the same round. Rounds interleave the candidates; medians are reported. Startup is spawn to the first 200 for
the seed's create (Prism: for the retrieve); RSS idle is read right after it (the whole process tree). Every
candidate is asked for a WebSocket upgrade at ``/api/jobs`` on the same port, and the answer is recorded.
``--million`` runs the named candidates with the mock's app until a million requests were answered, sampling RSS.

``python benchmarks/bench_stack.py --serve NAME --app mock|hello --port N`` runs one server in the foreground
(granian with its limits raised, as in benchmarks/STACK.md, when BENCH_GRANIAN_BOUNDED=1).
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))
from bench_server import RETRIEVE, SEED_CREATE, Process, free_port, request, wait_for_200  # noqa: E402

from mockserver.server.framing import run_wsgi  # noqa: E402

Wsgi = Callable[..., Any]
PRISM = [Path("/tmp/prism")]  # where prism-cli is installed (--prism)


# ---------------------------------------------------------------------------------------------- the apps
def make_app(kind: str) -> Wsgi:
    """The mock's app (seed scenario) or a hello-world app answering as many bytes as its retrieve."""
    if kind == "mock":
        from mockserver.web.app import create_app  # noqa: PLC0415

        return create_app()
    body = b"x" * int(os.environ.get("BENCH_BODY", "1000"))

    def hello(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "application/json; charset=utf-8"),
                                  ("Content-Length", str(len(body)))])
        return [body]

    return hello


def factory() -> Wsgi:
    """For servers that import their target (granian's WSGI, gunicorn): the app named by BENCH_APP."""
    return make_app(os.environ.get("BENCH_APP", "hello"))


def base_environ(method: str, path: str, query: str, headers: Any, body: bytes, client: str,  # noqa: PLR0917
                 port: int) -> dict[str, Any]:
    """A WSGI environ from what an async server parsed; ``headers`` are (name, value) string pairs."""
    environ = {"REQUEST_METHOD": method, "SCRIPT_NAME": "", "PATH_INFO": path.encode().decode("latin-1"),
               "QUERY_STRING": query, "SERVER_NAME": "127.0.0.1", "SERVER_PORT": str(port),
               "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": client, "wsgi.version": (1, 0),
               "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(body), "wsgi.errors": sys.stderr,
               "wsgi.multithread": False, "wsgi.multiprocess": False, "wsgi.run_once": False,
               "wsgi.input_terminated": True}
    for name, value in headers:
        key = name.upper().replace("-", "_")
        key = key if key in ("CONTENT_TYPE", "CONTENT_LENGTH") else "HTTP_" + key
        environ[key] = f"{environ[key]},{value}" if key in environ else value
    return environ


# ------------------------------------------------------------------------------- bridges for async servers
class AsgiBridge:
    """ASGI in front of the WSGI app, which runs in the event loop's thread; a WebSocket echo at /api/jobs."""

    def __init__(self, app: Wsgi, port: int) -> None:
        self.app, self.port = app, port

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "websocket":
            await self.echo(receive, send)
            return
        if scope["type"] != "http":
            return
        body, message = b"", {"more_body": True}
        while message.get("more_body"):
            message = await receive()
            body += message.get("body", b"")
        headers = [(name.decode("latin-1"), value.decode("latin-1")) for name, value in scope["headers"]]
        client = scope.get("client") or ("", 0)
        environ = base_environ(scope["method"], scope["path"], scope["query_string"].decode("latin-1"), headers,
                               body, client[0], self.port)
        status, response_headers, data = run_wsgi(self.app, environ)
        await send({"type": "http.response.start", "status": int(status[:3]),
                    "headers": [(name.encode("latin-1"), value.encode("latin-1")) for name, value in response_headers]})
        await send({"type": "http.response.body", "body": data})

    @staticmethod
    async def echo(receive: Any, send: Any) -> None:
        await receive()  # websocket.connect
        await send({"type": "websocket.accept"})
        while (message := await receive())["type"] == "websocket.receive":
            await send({"type": "websocket.send", "text": f"echo {message.get('text')}"})


class RsgiBridge:
    """granian's RSGI in front of the WSGI app, which runs in the event loop's thread; the same echo."""

    def __init__(self, app: Wsgi, port: int) -> None:
        self.app, self.port = app, port

    async def __rsgi__(self, scope: Any, protocol: Any) -> None:
        if scope.proto == "ws":
            transport = await protocol.accept()
            while (message := await transport.receive()).kind == 2:
                await transport.send_str(f"echo {message.data}")
            return
        has_body = "content-length" in scope.headers or "transfer-encoding" in scope.headers
        body = await protocol() if has_body else b""
        environ = base_environ(scope.method, scope.path, scope.query_string, scope.headers.items(), body,
                               scope.client.rsplit(":", 1)[0], self.port)
        status, headers, data = run_wsgi(self.app, environ)
        protocol.response_bytes(int(status[:3]), headers, data)

    __call__ = __rsgi__


# --------------------------------------------------------------------------------------- the candidates
def serve_waitress(app: Wsgi, port: int) -> None:
    """The stack ``ucloud-jobs serve`` had before: waitress, 4 threads, a 1 ms GIL switch interval."""
    import waitress  # noqa: PLC0415

    sys.setswitchinterval(0.001)  # as `ucloud-jobs serve` did, for waitress's polling thread
    waitress.serve(app, host="127.0.0.1", port=port, threads=4, _quiet=True)


def serve_granian_embed(app: Wsgi, port: int, interface: str) -> None:
    import uvloop  # noqa: PLC0415
    from granian.constants import Interfaces  # noqa: PLC0415
    from granian.http import HTTP1Settings  # noqa: PLC0415
    from granian.server.embed import Server  # noqa: PLC0415

    target = RsgiBridge(app, port) if interface == "rsgi" else AsgiBridge(app, port)
    bounded = {"backlog": 1024, "backpressure": 2048, "http1_settings": HTTP1Settings(header_read_timeout=10_000)}
    server = Server(target, address="127.0.0.1", port=port, interface=Interfaces(interface), log_enabled=False,
                    **(bounded if os.environ.get("BENCH_GRANIAN_BOUNDED") else {}))
    uvloop.run(server.serve())


def serve_uvicorn(app: Wsgi, port: int, bridge: str = "loop") -> None:
    import uvicorn  # noqa: PLC0415
    from a2wsgi import WSGIMiddleware  # noqa: PLC0415

    target = WSGIMiddleware(app, workers=4) if bridge == "a2wsgi" else AsgiBridge(app, port)
    uvicorn.Server(uvicorn.Config(target, host="127.0.0.1", port=port, http="httptools", loop="uvloop",
                                  ws="websockets-sansio", lifespan="off", log_level="warning",
                                  access_log=False)).run()


def serve_hypercorn(app: Wsgi, port: int) -> None:
    import uvloop  # noqa: PLC0415
    from hypercorn.asyncio import serve  # noqa: PLC0415
    from hypercorn.config import Config  # noqa: PLC0415

    config = Config.from_mapping(bind=[f"127.0.0.1:{port}"], accesslog=None)
    uvloop.run(serve(AsgiBridge(app, port), config))  # type: ignore[arg-type]


def serve_cheroot(app: Wsgi, port: int) -> None:
    from cheroot.wsgi import Server  # noqa: PLC0415

    Server(("127.0.0.1", port), app, numthreads=4).start()


class EchoApp:
    """A WebSocket app for ``HttpServer``: every text message is answered with ``echo <message>``."""

    def refuse(self, path: str, headers: Any) -> None:
        return None

    def open(self, socket: Any) -> Any:
        class Session:
            def received(self, message: str | bytes) -> None:
                socket.send(f"echo {message if isinstance(message, str) else message.decode()}")

            def closed(self) -> None:
                pass

        return Session()


def serve_candidate(app: Wsgi, port: int, loop: str = "asyncio") -> None:
    """The chosen stack, now ``mockserver.server.HttpServer`` (the prototype was LoopServer)."""
    from mockserver.server import HttpServer  # noqa: PLC0415

    if loop == "uvloop":
        import uvloop  # noqa: PLC0415

        factory = uvloop.new_event_loop
    else:
        factory = asyncio.new_event_loop
    HttpServer(app, "127.0.0.1", port, websocket=EchoApp(), loop_factory=factory).serve_forever()


def exec_command(kind: str, port: int, command: list[str]) -> None:
    """Servers started by their own CLI, which imports ``bench_stack:factory`` (they fork their workers)."""
    os.environ["BENCH_APP"] = kind
    os.chdir(HERE)
    os.execv(sys.executable, [sys.executable, "-m", *command])


IN_PROCESS: dict[str, Callable[[Wsgi, int], None]] = {
    "waitress": serve_waitress,
    "granian-rsgi": lambda app, port: serve_granian_embed(app, port, "rsgi"),
    "granian-asgi": lambda app, port: serve_granian_embed(app, port, "asginl"),
    "uvicorn": serve_uvicorn,
    "uvicorn-a2wsgi": lambda app, port: serve_uvicorn(app, port, "a2wsgi"),
    "hypercorn": serve_hypercorn,
    "cheroot": serve_cheroot,
    "candidate": serve_candidate,
    "candidate-uvloop": lambda app, port: serve_candidate(app, port, "uvloop"),
}
BY_CLI: dict[str, Callable[[int], list[str]]] = {
    "granian-wsgi": lambda port: ["granian", "--interface", "wsgi", "--workers", "1", "--blocking-threads", "2",
                                  "--host", "127.0.0.1", "--port", str(port), "--no-log", "--factory",
                                  "bench_stack:factory"],
    "gunicorn-gthread": lambda port: ["gunicorn", "-k", "gthread", "-w", "1", "--threads", "4", "-b",
                                      f"127.0.0.1:{port}", "--log-level", "warning", "bench_stack:factory()"],
}
CANDIDATES = [*IN_PROCESS, *BY_CLI]


def serve(name: str, kind: str, port: int) -> None:
    """Run one server in the foreground (what each benchmark process does)."""
    if name in BY_CLI:
        exec_command(kind, port, BY_CLI[name](port))
    IN_PROCESS[name](make_app(kind), port)


# ------------------------------------------------------------------------------------------ measuring
def load(port: int, path: str, duration: int) -> dict[str, float]:
    """One ``wrk -t1 -c10`` run: requests/s, p50 and p99 in ms, requests answered, errors."""
    output = subprocess.run(["wrk", "-t1", "-c10", f"-d{duration}s", "--latency", "-H",
                             "Authorization: Bearer benchmark", f"http://127.0.0.1:{port}{path}"],
                            capture_output=True, text=True, check=True).stdout
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}

    def latency(percent: str) -> float:
        match = re.search(rf"{percent}%\s+([\d.]+)(us|ms|s)", output)
        assert match is not None, output
        return float(match.group(1)) * scale[match.group(2)]

    def number(pattern: str) -> int:
        return sum(int(value) for match in re.finditer(pattern, output) for value in match.groups())
    rate = re.search(r"Requests/sec:\s+([\d.]+)", output)
    assert rate is not None, output
    return {"rps": float(rate.group(1)), "p50_ms": latency("50"), "p99_ms": latency("99"),
            "requests": number(r"(\d+) requests in"),
            "errors": number(r"Non-2xx or 3xx responses:\s+(\d+)") + number(
                r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")}


def rss_tree_mb(pid: int) -> float:
    """VmRSS of a process and all its descendants (servers that fork a worker count it)."""
    total, pending = 0.0, [pid]
    while pending:
        current = pending.pop()
        try:
            status = Path(f"/proc/{current}/status").read_text()
            for task in Path(f"/proc/{current}/task").iterdir():
                pending += [int(child) for child in (task / "children").read_text().split()]
        except OSError:
            continue
        total += next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:")) / 1024
    return total


def websocket_answer(port: int) -> str:
    """Whether a WebSocket upgrade at /api/jobs on the server's port works: 'yes' or what happened."""
    from websockets.sync.client import connect  # noqa: PLC0415

    try:
        with connect(f"ws://127.0.0.1:{port}/api/jobs", open_timeout=3, close_timeout=1) as socket:
            socket.send("ping")
            answer = socket.recv(timeout=3)
        return "yes" if answer == "echo ping" else f"answered {answer!r}"
    except Exception as error:
        return f"no ({type(error).__name__}: {str(error)[:60]})"


def start(name: str, kind: str) -> tuple[Process, int, float]:
    """A fresh server process (``prism``: Prism on the spec); the seconds from spawning it to its first 200."""
    port = free_port()
    process = Process(["npx", "prism", "mock", "-h", "127.0.0.1", "-p", str(port), "-v", "warn",
                       str(HERE.parent / "openapi" / "jobs.yaml")], cwd=PRISM[0]) if name == "prism" else Process(
        [sys.executable, str(Path(__file__).resolve()), "--serve", name, "--app", kind, "--port", str(port)])
    try:
        first = ("GET", RETRIEVE, None) if name == "prism" else ("POST", "/api/jobs", SEED_CREATE) if kind == "mock" \
            else ("GET", "/", None)
        return process, port, wait_for_200(port, *first, timeout=60) - process.started
    except BaseException:
        process.stop()
        raise


def run_server(name: str, kind: str, duration: int) -> dict[str, Any]:
    """Start, sample, load and stop one server."""
    process, port, startup = start(name, kind)
    try:
        figures: dict[str, Any] = {"startup_s": startup, "rss_idle_mb": rss_tree_mb(process.popen.pid)}
        figures["websocket"] = websocket_answer(port) if kind == "hello" else ""
        figures |= load(port, RETRIEVE if kind == "mock" else "/", duration)
        figures["rss_loaded_mb"] = rss_tree_mb(process.popen.pid)
    finally:
        process.stop()
    return figures


def million(name: str, total: int) -> list[tuple[int, float]]:
    """RSS (MB) of the mock on ``name`` sampled while wrk answers ``total`` retrieves in 30 s slices."""
    process, port, _ = start(name, "mock")
    samples = [(0, rss_tree_mb(process.popen.pid))]
    try:
        while samples[-1][0] < total:
            samples.append((samples[-1][0] + int(load(port, RETRIEVE, 30)["requests"]), rss_tree_mb(process.popen.pid)))
    finally:
        process.stop()
    return samples


def measure(args: argparse.Namespace) -> dict[str, Any]:
    """Every candidate (mock and floor) and Prism, in interleaved rounds; medians and raw runs."""
    probe, port, _ = start("candidate", "mock")
    os.environ["BENCH_BODY"] = str(len(request(port, "GET", RETRIEVE)[1]))
    probe.stop()
    runs: dict[str, list[dict[str, Any]]] = {}
    for round_number in range(args.rounds):
        for name in args.only:
            for kind in ("mock", "hello"):
                runs.setdefault(f"{name}/{kind}", []).append(run_server(name, kind, args.duration))
            print(f"round {round_number + 1}: {name} done", file=sys.stderr, flush=True)
        if (args.prism / "node_modules" / ".bin" / "prism").exists() and shutil.which("npx") is not None:
            runs.setdefault("prism/mock", []).append(run_server("prism", "mock", args.duration))
    figures: dict[str, Any] = {"machine": {"nproc": os.cpu_count(), "load": os.getloadavg(),
                                           "python": sys.version.split()[0], "date": time.ctime()},
                               "duration_s": args.duration, "rounds": args.rounds, "runs": runs, "median": {}}
    for key, samples in runs.items():
        figures["median"][key] = {field: statistics.median(sample[field] for sample in samples)
                                  for field in ("rps", "p50_ms", "p99_ms", "startup_s", "rss_idle_mb",
                                                "rss_loaded_mb")}
        figures["median"][key]["errors"] = sum(sample["errors"] for sample in samples)
        figures["median"][key]["websocket"] = samples[0].get("websocket", "")
    figures["million"] = {name: million(name, 1_000_000) for name in args.million}
    return figures


def report(figures: dict[str, Any]) -> None:
    """A table: each candidate's mock and floor, and the ratios to Prism's figures from the same run."""
    median = figures["median"]
    prism = median.get("prism/mock")
    print(f"{figures['machine']}; wrk -t1 -c10 -d{figures['duration_s']}s, median of {figures['rounds']} rounds")
    print(f"{'':18}{'req/s':>9}{'p50 ms':>8}{'p99 ms':>8}{'start s':>8}{'RSS MB':>8}{'floor':>9}{'fl p99':>7}"
          f"{'x Prism':>8}{'p99/P':>6}{'st/P':>6}  WebSocket")
    for name in [name for name in [*figures["candidates"], "prism"] if f"{name}/mock" in median]:
        row, floor = median[f"{name}/mock"], median.get(f"{name}/hello", {})
        ratios = (f"{row['rps'] / prism['rps']:>8.2f}{row['p99_ms'] / prism['p99_ms']:>6.2f}"
                  f"{row['startup_s'] / prism['startup_s']:>6.2f}") if prism else ""
        print(f"{name:18}{row['rps']:>9.0f}{row['p50_ms']:>8.2f}{row['p99_ms']:>8.2f}{row['startup_s']:>8.3f}"
              f"{row['rss_idle_mb']:>8.1f}{floor.get('rps', 0):>9.0f}{floor.get('p99_ms', 0):>7.2f}{ratios}  "
              f"{floor.get('websocket', '')}" + (f"  ERRORS {row['errors']}" if row["errors"] else ""))
    for name, samples in figures["million"].items():
        print(f"RSS of {name} under load: " + ", ".join(f"{rss:.1f} MB at {count:,}" for count, rss in samples))


def main() -> int:
    """Measure and print (or print JSON with --json); or, with --serve, be one server."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run (default 10)")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (default 3)")
    parser.add_argument("--only", default=",".join(CANDIDATES), help=f"candidates (default: {','.join(CANDIDATES)})")
    parser.add_argument("--million", default="", help="candidates to hold under load for a million requests")
    parser.add_argument("--prism", type=Path, default=Path("/tmp/prism"), help="folder with prism-cli installed")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures as JSON to this file")
    parser.add_argument("--serve", choices=CANDIDATES, help="run one server in the foreground")
    parser.add_argument("--app", choices=("mock", "hello"), default="mock")
    parser.add_argument("--port", type=int, default=8080)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.app, args.port)
        return 0
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed: apt-get install -y wrk")
    PRISM[0] = args.prism
    args.only = [name for name in args.only.split(",") if name]
    args.million = [name for name in args.million.split(",") if name]
    figures = measure(args) | {"candidates": args.only}
    if args.json is not None:
        args.json.write_text(json.dumps(figures, indent=2))
    report(figures)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
