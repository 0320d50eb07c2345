"""``ucloud-jobs proxy``: pass a client's calls on to a real deployment, check both sides against the contract,
report at exit, and record the session as a scenario."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from contracts.cli.report import FORMATS
from contracts.proxy.recording import Recorder
from contracts.proxy.report import FAIL_ON
from mockserver.cli.options import checked, is_loopback, listen_error, whole
from mockserver.cli.running import run_in_foreground
from mockserver.proxy.app import ProxyApp
from mockserver.proxy.recordfile import write_recording
from mockserver.proxy.server import ProxyServer
from mockserver.proxy.upstream import Upstream
from mockserver.web.admin import AdminPolicy
from mockserver.web.sites import SitePolicy, normalise_host, normalise_origin

__all__ = ["DEFAULT_PORT", "add_proxy_command", "run_proxy"]

DEFAULT_PORT = 8081
_EPILOG = """\
exit status:
  0  stopped, and nothing --fail-on names was found
  1  violations (or upstream failures, under --fail-on response or any) were found
  2  usage error: a bad upstream URL, a port in use, a report or recording that cannot be written

Each violation is logged as it happens, on stderr:
  ucloud-jobs proxy: violation: #3 jobs.extend request /items/0/requestedTime/minutes: 75 is greater than ...
GET /_mock/journal shows the recent calls with their violations; the report is written at exit."""


def add_proxy_command(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``proxy``."""
    parser = subparsers.add_parser(
        "proxy", help="check real traffic against the contract, and record it as a scenario",
        description="Pass every call on to UPSTREAM unchanged, check each request (the client's side) and each "
                    "answer (the service's side) against the contract, and report what breaks it.",
        epilog=_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--upstream", required=True, metavar="URL",
                        help="the deployment to pass calls on to, such as https://cloud.sdu.dk")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT,
                        help=f"port to listen on; 0 picks a free one (default: {DEFAULT_PORT})")
    parser.add_argument("--record", metavar="FILE", help="write the session as a scenario that serve replays")
    parser.add_argument("--report", metavar="FILE", help="write the report to FILE at exit")
    parser.add_argument("--format", choices=FORMATS, default="text", help="the report's format (default: text)")
    parser.add_argument("--fail-on", choices=tuple(FAIL_ON), default="any",
                        help="exit 1 for the client's violations (request), the service's drift and upstream "
                             "failures (response), or both (any, the default)")
    parser.add_argument("--cacert", metavar="FILE",
                        help="trust only these certificates (PEM) for an HTTPS upstream (default: the system's)")
    parser.add_argument("--timeout", type=float, default=30.0,
                        help="seconds to wait for the upstream before answering 504 (default: 30)")
    parser.add_argument("--threads", type=whole(1, "not a positive number"), default=8,
                        help="calls passed on at once (default: 8)")
    parser.add_argument("--journal-size", type=whole(0, "negative"), default=1000,
                        help="calls kept in the journal (default: 1000)")
    parser.add_argument("--allowed-host", action="append", default=[], type=checked(normalise_host),
                        metavar="NAME", help="answer requests whose Host header is NAME too (repeatable)")
    parser.add_argument("--cors", action="append", default=[], type=checked(normalise_origin), metavar="ORIGIN",
                        help="let web pages of ORIGIN call the proxy (repeatable; default: none)")
    parser.add_argument("-q", "--quiet", action="store_true", help="do not log one line per call")
    parser.set_defaults(command=run_proxy)


def _usage(message: str) -> int:
    print(f"ucloud-jobs proxy: error: {message}", file=sys.stderr)
    return 2


def _writable(name: str | None, what: str) -> str | None:
    if name is None:
        return None
    path = Path(name)
    if path.is_dir() or not path.parent.is_dir():
        return f"cannot write the {what} to {name}: " + ("it is a folder" if path.is_dir() else "no such folder")
    return None


def run_proxy(args: argparse.Namespace) -> int:
    """Run the proxy until Ctrl-C or SIGTERM; then report, record, and exit by ``--fail-on``."""
    problem = _writable(args.report, "report") or _writable(args.record, "recording") or \
        (None if 0 <= args.port <= 65535 else f"--port {args.port} is not between 0 and 65535") or \
        listen_error(args.host, args.port)
    if problem:
        return _usage(problem)
    try:
        upstream = Upstream(args.upstream, timeout=args.timeout, cacert=args.cacert)
    except (ValueError, OSError) as error:
        return _usage(f"--upstream/--cacert: {error}")
    app = ProxyApp(upstream, journal_size=args.journal_size, recorder=Recorder() if args.record else None,
                   log=sys.stderr, sites=SitePolicy(args.allowed_host, args.cors), admin=AdminPolicy())
    try:
        server = ProxyServer(app, args.host, args.port, threads=args.threads,
                             access_log=None if args.quiet else sys.stderr)
    except OSError as error:
        return _usage(str(listen_error(args.host, args.port, error)))
    if not is_loopback(args.host):
        print(f"ucloud-jobs proxy: warning: listening on {args.host}, reachable from other machines, which may "
              f"then call {upstream.url} through it", file=sys.stderr)
    _serve(server, upstream.url)
    return _finish(app, args, upstream.url)


def _serve(server: ProxyServer, upstream: str) -> None:
    try:
        run_in_foreground(server, f"ucloud-jobs proxy at {server.url} passing calls on to {upstream}, checked against "
                                  f"the contract; journal at {server.url}/_mock/journal; Ctrl-C stops")
    finally:
        server.stop()


def _finish(app: ProxyApp, args: argparse.Namespace, upstream: str) -> int:
    print(app.ledger.summary(), file=sys.stderr, flush=True)
    status = 1 if app.ledger.failed(args.fail_on) else 0
    try:
        if args.report is not None:
            Path(args.report).write_text(app.ledger.render(args.format), encoding="utf-8")
        if args.record is not None and app.recorder is not None:
            unheld = write_recording(app.recorder, Path(args.record), upstream, app.callers,
                                     websocket_messages=app.ledger.count("messages"))
            print(f"ucloud-jobs proxy: recorded {len(app.recorder.calls)} calls to {args.record}"
                  + (f"; it could not hold {len(unheld)} things, listed in its header" if unheld else ""),
                  file=sys.stderr)
            for line in unheld:
                print(f"  - {line}", file=sys.stderr)
    except OSError as error:
        print(f"ucloud-jobs proxy: error: cannot write: {error}", file=sys.stderr)
        return 2
    return status
