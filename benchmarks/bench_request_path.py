"""What each shortcut on the request path saves: a retrieve in process, with each one taken away in turn.

Run by hand (it is not a test):

    python benchmarks/bench_request_path.py            # a table
    python benchmarks/bench_request_path.py --json     # the same figures as JSON

The app answers the seed's retrieve of an unchanged job through the WSGI interface, with no socket, so that
only the app's own work is timed. Each variant takes away one shortcut the app keeps (the memo of matched
routes, of parsed queries, of encoded jobs, and the answer written directly instead of through Werkzeug's
``Response``); its extra time per retrieve, as a share of the full app's time, is what the shortcut saves. The
variants run round-robin within each repetition and the median is reported. The figures back the comments in
``mockserver/web/memo.py`` and ``MockApp._send``.
"""

from __future__ import annotations

import argparse
import io
import json
import platform
import statistics
import sys
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from werkzeug.wrappers import Response

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mockserver import create_app  # noqa: E402
from mockserver.web.app import MockApp  # noqa: E402
from mockserver.web.encoding import JSON_TYPE  # noqa: E402
from mockserver.web.memo import Memo  # noqa: E402

QUERY = "includeProduct=false&includeOthers=false&includeUpdates=false&includeSupport=false&id=62348"


def _environ() -> dict[str, Any]:
    return {"REQUEST_METHOD": "GET", "PATH_INFO": "/api/jobs/retrieve", "QUERY_STRING": QUERY,
            "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "8080", "HTTP_HOST": "127.0.0.1:8080",
            "HTTP_AUTHORIZATION": "Bearer bench", "wsgi.input": io.BytesIO(b""), "wsgi.url_scheme": "http",
            "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": "127.0.0.1"}


def _start_response(status: str, headers: list[tuple[str, str]], exc_info: object = None) -> None:
    """The server's side of WSGI, doing nothing."""


def _forgetful() -> Memo[Any, Any]:
    """A memo that remembers nothing: every request computes again."""
    return Memo(entries=1, key_limit=-1, size=lambda key: 0)


def _send_through_response(environ: Mapping[str, Any], start_response: Any, status: int,
                           headers: Mapping[str, str], body: bytes) -> Iterable[bytes]:
    """The answer as Werkzeug would write it: a Response object called as a WSGI app."""
    response = Response(body, status=status, content_type=JSON_TYPE, headers=dict(headers))
    return response(environ, start_response)  # type: ignore[arg-type]


def _app(variant: str) -> MockApp:
    app = create_app(scenario="extend-and-terminate")  # the seed's job, 62348, unchanged once created
    b"".join(app({**_environ(), "REQUEST_METHOD": "POST", "PATH_INFO": "/api/jobs", "QUERY_STRING": "",
                  "CONTENT_TYPE": "application/json", "CONTENT_LENGTH": str(len(_CREATE)),
                  "wsgi.input": io.BytesIO(_CREATE)}, _start_response))
    if variant == "no route memo":
        app._matched = _forgetful()
    elif variant == "no query memo":
        app._queries = _forgetful()
    elif variant == "no encoded-job memo":
        app._encoded = _forgetful()
    elif variant == "through Response":
        app._send = _send_through_response  # type: ignore[method-assign]
    return app


_CREATE = json.dumps({"items": [{
    "application": {"name": "acme-web-application", "version": "1.0.0"},
    "product": {"id": "example-compute", "category": "example-compute", "provider": "example"},
    "name": None, "replicas": 1, "allowDuplicateJob": False, "parameters": {}, "resources": [],
    "timeAllocation": {"hours": 5, "minutes": 0, "seconds": 0}}]}).encode()

VARIANTS = ("full app", "no route memo", "no query memo", "no encoded-job memo", "through Response")


def _time(app: MockApp, count: int) -> float:
    """Seconds per retrieve over ``count`` retrieves."""
    started = time.perf_counter()
    for _ in range(count):
        b"".join(app(_environ(), _start_response))
    return (time.perf_counter() - started) / count


def measure(rounds: int, count: int) -> dict[str, float]:
    apps = {variant: _app(variant) for variant in VARIANTS}
    for app in apps.values():
        _time(app, 500)  # warm
    seen: dict[str, list[float]] = {variant: [] for variant in VARIANTS}
    for _ in range(rounds):
        for variant, app in apps.items():
            seen[variant].append(_time(app, count))
    return {variant: statistics.median(times) for variant, times in seen.items()}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--count", type=int, default=20_000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    medians = measure(args.rounds, args.count)
    full = medians["full app"]
    if args.json:
        print(json.dumps({"python": platform.python_version(), "us_per_retrieve": {
            variant: round(seconds * 1e6, 2) for variant, seconds in medians.items()}}, indent=2))
        return
    print(f"{'variant':<22} {'us/retrieve':>12} {'saved by the shortcut':>22}")
    for variant, seconds in medians.items():
        saved = "" if variant == "full app" else f"{(seconds - full) / seconds:.0%} of the variant's time"
        print(f"{variant:<22} {seconds * 1e6:>12.2f} {saved:>22}")

if __name__ == "__main__":
    main()
