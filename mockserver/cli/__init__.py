"""The ``ucloud-jobs`` command: ``build_parser()`` and ``main(argv)``, one subcommand per registered function.

A command is registered by a function that adds a subparser to ``ucloud-jobs`` and sets its ``command``
default to a function of the parsed arguments that returns the exit code (0 ok, 1 violations, 2 usage).
``COMMANDS`` lists those functions; ``validate``, ``schemas``, ``scenarios``, ``spec`` and ``verify`` come from
``contracts.cli``, and ``verify`` learns here how to recognise the mock at a URL (``mockserver.remote``).
"""

from __future__ import annotations

import argparse
import functools
import os
import sys
from collections.abc import Callable, Sequence
from typing import NoReturn, cast

from contracts.cli.scenarios import add_scenarios_command
from contracts.cli.spec import add_spec_command
from contracts.cli.validate import add_commands as add_contract_commands
from contracts.cli.verify import add_verify_command
from mockserver.about import DISTRIBUTION, PROG, version
from mockserver.cli.proxy import add_proxy_command
from mockserver.cli.serve import add_serve_command
from mockserver.remote import HttpControl

__all__ = ["COMMANDS", "DISTRIBUTION", "PROG", "build_parser", "main"]

Register = Callable[["argparse._SubParsersAction[argparse.ArgumentParser]"], None]

COMMANDS: tuple[Register, ...] = (
    add_serve_command,
    add_contract_commands,
    add_scenarios_command,
    add_spec_command,
    functools.partial(add_verify_command, control_for=HttpControl.probe),
    add_proxy_command,
)

_INTERRUPTED = 130  # 128 + SIGINT, as a shell reports a command stopped by Ctrl-C
_BROKEN_PIPE = 141  # 128 + SIGPIPE, as a shell reports `ucloud-jobs schemas | head -1` when head exits first


class _Parser(argparse.ArgumentParser):
    """A parser whose usage errors are one line on stderr (exit status 2), not the usage plus a message."""

    def error(self, message: str) -> NoReturn:
        """Report a usage error in one line and exit with status 2."""
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def build_parser() -> argparse.ArgumentParser:
    """The ``ucloud-jobs`` parser with every registered command."""
    parser = _Parser(prog=PROG, description="Contract tests, validation and a mock server for UCloud's Jobs "
                                            "API.")
    shown = f"{PROG} {version()}"
    parser.add_argument("--version", action="version", version=shown)
    # Subcommand parsers are _Parser too (argparse uses the parent's class); registering functions need only
    # the base type.
    subparsers = cast("argparse._SubParsersAction[argparse.ArgumentParser]",
                      parser.add_subparsers(title="commands", metavar="COMMAND"))
    for register in COMMANDS:
        register(subparsers)
    for command in subparsers.choices.values():  # `ucloud-jobs serve --version` answers as the top level does
        command.add_argument("--version", action="version", version=shown)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``ucloud-jobs`` with ``argv`` (default: the process's arguments) and return the exit status."""
    parser = build_parser()
    try:
        try:
            args = parser.parse_args(argv)
        except SystemExit as stop:  # --help, --version and usage errors end inside argparse
            return stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 2)
        command: Callable[[argparse.Namespace], int] | None = getattr(args, "command", None)
        if command is None:
            parser.print_help(sys.stderr)
            return 2
        status = command(args)
        sys.stdout.flush()  # a closed pipe must fail here, where it is handled, not at interpreter exit
        return status
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return _INTERRUPTED
    except BrokenPipeError:
        # Whoever read our output has gone: say nothing more, and keep the final flush from failing again.
        _discard_stdout()
        return _BROKEN_PIPE


def _discard_stdout() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # stdout is not a file descriptor (replaced, or closed)
        pass
