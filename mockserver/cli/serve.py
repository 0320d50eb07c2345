"""``ucloud-jobs serve``: the mock on a socket, for local development and for tests."""

from __future__ import annotations

import argparse
import sys
from datetime import datetime, timezone

from contracts.errors import ContractError
from contracts.profiles import ERAS, PROFILES
from contracts.scenario import list_scenarios
from mockserver.api import MockServer
from mockserver.cli.options import checked, is_loopback, listen_error, whole
from mockserver.cli.running import run_in_foreground
from mockserver.domain.engine import Limits
from mockserver.server import Limits as ServerLimits
from mockserver.web.admin import AdminPolicy
from mockserver.web.app import MockApp, ServerError, create_app
from mockserver.web.journal import DEFAULT_JOURNAL_BYTES
from mockserver.web.memo import DEFAULT_KEY_BYTES
from mockserver.web.requestlog import LOG_FORMATS, StreamLog
from mockserver.web.sites import normalise_host, normalise_origin

__all__ = ["MIN_ADMIN_TOKEN", "SWITCH_INTERVAL_S", "add_serve_command", "serve"]

MIN_ADMIN_TOKEN = 16  # characters: a token that opens the admin API to the network must not be guessable
#: The interpreter's switch interval while serving: a browse in the thread pool gives the loop thread its turn
#: after at most this long (Python's default, 5 ms, doubled a retrieve's p99 under a worst-case browse).
SWITCH_INTERVAL_S = 0.001
MAX_TIMEOUT_S = 3600.0  # the longest header timeout: past an hour, slow clients are not bounded in any useful way


def _user(text: str) -> tuple[str, str]:
    token, sep, name = text.partition("=")
    if not sep or not token or not name:
        raise argparse.ArgumentTypeError(f"{text!r} is not TOKEN=NAME")
    return token, name


def _admin_token(text: str) -> str:
    if not text:
        raise argparse.ArgumentTypeError("the token is empty (an unset shell variable?); give one of at least "
                                         f"{MIN_ADMIN_TOKEN} characters")
    if len(text) < MIN_ADMIN_TOKEN:
        raise argparse.ArgumentTypeError(f"the token has {len(text)} characters; give one of at least "
                                         f"{MIN_ADMIN_TOKEN}")
    return text


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not 0 < value <= MAX_TIMEOUT_S:  # NaN fails both
        raise argparse.ArgumentTypeError(f"{text} is not between 0 and {MAX_TIMEOUT_S:g} seconds")
    return value


def add_serve_command(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``serve``."""
    parser = subparsers.add_parser(
        "serve", help="run the mock server",
        description="Serve a stateful mock of UCloud's Jobs API on a deterministic clock. With no options it "
                    "replays the documented flow 'Extending a Job and terminating it early'.",
        epilog=f"bundled scenarios: {', '.join(sorted(list_scenarios()))} ('ucloud-jobs scenarios' describes "
               "them)")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8080, help="port to listen on; 0 picks a free one (default: 8080)")
    parser.add_argument("--profile", choices=tuple(PROFILES), default=None,
                        help="; ".join(f"{name}: {what}" for name, what in PROFILES.items())
                             + " (default: the scenario's)")
    parser.add_argument("--era", choices=tuple(ERAS), default=None,
                        help="the documentation the docs profile follows: "
                             + "; ".join(f"{name}, {what}" for name, what in ERAS.items())
                             + " (default: the scenario's)")
    parser.add_argument("--scenario", default=None, metavar="NAME|PATH",
                        help="a bundled scenario by name, or a scenario file (default: extend-and-terminate)")
    parser.add_argument("--scenario-dir", action="append", default=[], metavar="DIR",
                        help="another folder of scenarios that POST /_mock/scenario may load by name")
    parser.add_argument("--user", action="append", type=_user, default=[], metavar="TOKEN=NAME",
                        help="accept only these bearer tokens, each as the named user (repeatable)")
    parser.add_argument("--real-clock", action="store_true",
                        help="run on the wall clock instead of the virtual one, so jobs progress on their own")
    parser.add_argument("--threads", type=whole(1, "not a positive number"), default=4,
                        help="threads that serve API calls while a latency fault is set, so that the fault delays "
                             "only its own call (default: 4); otherwise one loop serves every client")
    parser.add_argument("--journal-size", type=whole(0, "negative"), default=1000,
                        help="requests kept in the journal (default: 1000; 0 keeps none)")
    _add_bounds(parser)
    parser.add_argument("--admin-token", default=None, type=_admin_token,
                        help="let clients that send X-Mock-Admin-Token: TOKEN use /_mock/ from anywhere (at least "
                             f"{MIN_ADMIN_TOKEN} characters)")
    parser.add_argument("--allow-remote-admin", action="store_true",
                        help="let any client use the admin API /_mock/ (default: loopback clients only)")
    parser.add_argument("--allowed-host", action="append", default=[], type=checked(normalise_host),
                        metavar="NAME", help="answer requests whose Host header is NAME too (repeatable; by default "
                                             "only loopback names and the address it listens on)")
    parser.add_argument("--cors", action="append", default=[], type=checked(normalise_origin),
                        metavar="ORIGIN", help="let web pages of ORIGIN (such as http://localhost:3000) call the "
                                               "Jobs API from a browser (repeatable; default: none)")
    parser.add_argument("--log-format", choices=LOG_FORMATS, default="text",
                        help="the line logged to stderr per request: text for people, json (one object per line) "
                             "for tools (default: text)")
    parser.add_argument("-q", "--quiet", action="store_true", help="do not log one line per request")
    parser.set_defaults(command=serve)


def _add_bounds(parser: argparse.ArgumentParser) -> None:
    """The bounds: with the defaults the server stays under 150 MB whatever a client sends."""
    limits, server = Limits(), ServerLimits()
    parser.add_argument("--max-connections", type=whole(1, "not a positive number"),
                        default=server.max_connections, metavar="N",
                        help="client connections at once; a new one past that drops the connection idle longest "
                             f"(default: {server.max_connections})")
    parser.add_argument("--header-timeout", type=_seconds, default=server.header_timeout_s, metavar="SECONDS",
                        help="from a request's first byte to the end of its headers; a slower client is "
                             f"disconnected (default: {server.header_timeout_s:g})")
    parser.add_argument("--journal-bytes", type=whole(0, "negative"), default=DEFAULT_JOURNAL_BYTES, metavar="N",
                        help="what the journal's entries may take together, in bytes; the oldest go first "
                             f"(default: {DEFAULT_JOURNAL_BYTES}, 4 MiB)")
    parser.add_argument("--max-jobs", type=whole(1, "not a positive number"), default=limits.max_jobs,
                        metavar="N", help="jobs kept: to make room, the jobs that ended longest ago are forgotten; "
                                          "when every job is live, a create is refused with 409 (default: "
                                          f"{limits.max_jobs})")
    parser.add_argument("--max-job-bytes", type=whole(1, "not a positive number"), default=limits.max_job_bytes,
                        metavar="N", help="the largest job kept: its specification as compact JSON, its owner and "
                                          "ACL; a larger one is refused with 413 (default: "
                                          f"{limits.max_job_bytes}, 16 KiB)")
    parser.add_argument("--cache-key-bytes", type=whole(0, "negative"), default=DEFAULT_KEY_BYTES, metavar="N",
                        help="the longest path, query string or bearer token whose outcome is remembered; longer "
                             f"ones are worked out each time (default: {DEFAULT_KEY_BYTES})")


def _print_server_error(error: ServerError) -> None:
    print(f"ucloud-jobs serve: the mock failed; the client got 500. {error}", file=sys.stderr, flush=True)


class _UsageError(Exception):
    """A mistake in the arguments, said in one line."""


def _app(args: argparse.Namespace) -> MockApp:
    if not 0 <= args.port <= 65535:
        raise _UsageError(f"--port {args.port} is not between 0 and 65535")
    seen: set[str] = set()
    for token, name in args.user:
        if token in seen:
            raise _UsageError(f"--user: the token of {name!r} is given twice")
        seen.add(token)
    try:
        return create_app(scenario=args.scenario, profile=args.profile, era=args.era, real_clock=args.real_clock,
                          users=dict(args.user) or None, scenario_dirs=args.scenario_dir,
                          journal_size=args.journal_size, allowed_hosts=args.allowed_host, cors_origins=args.cors,
                          journal_bytes=args.journal_bytes, limits=Limits(args.max_jobs, args.max_job_bytes),
                          cache_key_bytes=args.cache_key_bytes,
                          admin=AdminPolicy(allow_remote=args.allow_remote_admin, token=args.admin_token),
                          request_log=None if args.quiet else StreamLog(sys.stderr, args.log_format))
    except ContractError as error:
        raise _UsageError(str(error)) from None


def _listen(app: MockApp, args: argparse.Namespace) -> MockServer:
    problem = listen_error(args.host, args.port)  # '' would bind every interface: say which one instead
    if problem is not None:
        raise _UsageError(problem)
    try:
        # The app logs each request (with its user, operation, clocks and why); the server logs none of its own.
        return MockServer(app=app, host=args.host, port=args.port, threads=args.threads,
                          limits=ServerLimits(max_connections=args.max_connections,
                                              header_timeout_s=args.header_timeout))
    except OSError as error:
        raise _UsageError(str(listen_error(args.host, args.port, error))) from None


def serve(args: argparse.Namespace) -> int:
    """Run the server until Ctrl-C or SIGTERM; 2 on a usage error."""
    try:
        app = _app(args)
        server = _listen(app, args)
        sys.setswitchinterval(SWITCH_INTERVAL_S)
    except _UsageError as error:
        print(f"ucloud-jobs serve: error: {error}", file=sys.stderr)
        return 2
    if not is_loopback(args.host):
        print(f"ucloud-jobs serve: warning: listening on {args.host}, reachable from other machines; the mock "
              "checks no signatures", file=sys.stderr)
    app.on_error = _print_server_error
    engine = app.engine
    clock = "wall clock" if args.real_clock else "virtual clock at " + datetime.fromtimestamp(
        engine.now() / 1000, tz=timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    run_in_foreground(server, f"ucloud-jobs mock of UCloud's Jobs API at {server.url} (scenario "
                      f"{engine.scenario.name}, profile {engine.profile.name}, era {engine.profile.era}, {clock}); "
                      f"the contract at {server.url}/openapi.yaml, the admin API under {server.url}/_mock/; "
                      "Ctrl-C stops")
    print("ucloud-jobs mock stopped", file=sys.stderr, flush=True)
    return 0
