"""``ucloud-jobs serve``: the mock on a socket, for local development and for tests."""

from __future__ import annotations

import argparse
import signal
import sys
from datetime import datetime, timezone
from types import FrameType
from typing import Any

from contracts.errors import ContractError
from contracts.profiles import ERAS, PROFILES
from contracts.scenario import list_scenarios
from mockserver.api import MockServer
from mockserver.cli.options import checked, is_loopback, listen_error, whole
from mockserver.web.admin import AdminPolicy
from mockserver.web.app import MockApp, ServerError, create_app
from mockserver.web.requestlog import LOG_FORMATS, StreamLog
from mockserver.web.sites import normalise_host, normalise_origin

__all__ = ["MIN_ADMIN_TOKEN", "add_serve_command", "serve"]

MIN_ADMIN_TOKEN = 16  # characters: a token that opens the admin API to the network must not be guessable


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
        return MockServer(app=app, host=args.host, port=args.port, threads=args.threads)
    except OSError as error:
        raise _UsageError(str(listen_error(args.host, args.port, error))) from None


def serve(args: argparse.Namespace) -> int:
    """Run the server until Ctrl-C or SIGTERM; 2 on a usage error."""
    try:
        app = _app(args)
        server = _listen(app, args)
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
    # Ctrl-C and SIGTERM both stop the server (SIGINT too when a shell started us in the background with it
    # ignored). The handlers go in before the URL is printed: whoever reads it may stop us at once. They ask the
    # loop to stop rather than raise in whatever code the signal interrupts.
    def _stop(signum: int, frame: FrameType | None) -> None:
        server.stop_soon()

    previous: dict[signal.Signals, Any] = {}
    try:
        for stopping in (signal.SIGINT, signal.SIGTERM):
            previous[stopping] = signal.signal(stopping, _stop)
        print(f"ucloud-jobs mock of UCloud's Jobs API at {server.url} (scenario {engine.scenario.name}, profile "
              f"{engine.profile.name}, era {engine.profile.era}, {clock}); the contract at {server.url}/openapi.yaml, "
              f"the admin API under {server.url}/_mock/; Ctrl-C stops", flush=True)
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    print("ucloud-jobs mock stopped", file=sys.stderr, flush=True)
    return 0
