"""The one harness for ``ucloud-jobs serve`` in a subprocess, as people run it.

The process picks its own port (pass ``--port 0``); its stdout and stderr are drained by threads so no pipe ever
fills; the URL is read from the first line it prints. Every wait has a timeout and the process is killed in a
``finally`` block, so a hang fails a test instead of stalling the run.
"""

from __future__ import annotations

import contextlib
import queue
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import pytest

PYTHON_M = (sys.executable, "-m", "mockserver")
STARTUP_TIMEOUT = 30.0  # seconds; all of these bounds are reached only when something is wrong
STOP_TIMEOUT = 15.0
IO_TIMEOUT = 10.0
URL_LINE = re.compile(r"^ucloud-jobs mock of UCloud's Jobs API at (http://[^ ]+) \(scenario (\S+), profile (\S+),")
PROXY_URL_LINE = re.compile(r"^ucloud-jobs proxy at (http://[^ ]+) passing calls on to ")


def _pump(stream: IO[str], into: queue.Queue[str | None]) -> None:
    for line in stream:
        into.put(line)
    into.put(None)


class ServeProcess:
    """A running ``serve`` subprocess."""

    def __init__(self, args: tuple[str, ...], command: tuple[str, ...] = PYTHON_M, cwd: Path | None = None,
                 subcommand: str = "serve") -> None:
        self.url_line = PROXY_URL_LINE if subcommand == "proxy" else URL_LINE
        self.process = subprocess.Popen([*command, subcommand, *args], stdin=subprocess.DEVNULL,
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=cwd)
        assert self.process.stdout is not None
        assert self.process.stderr is not None
        self._stdout: queue.Queue[str | None] = queue.Queue()
        self._stderr: queue.Queue[str | None] = queue.Queue()
        self._readers = [threading.Thread(target=_pump, args=(self.process.stdout, self._stdout), daemon=True),
                         threading.Thread(target=_pump, args=(self.process.stderr, self._stderr), daemon=True)]
        for reader in self._readers:
            reader.start()
        self.stdout_lines: list[str] = []
        self.banner = ""
        self.url = ""

    @property
    def port(self) -> int:
        """The port from the URL."""
        return int(self.url.rsplit(":", 1)[1])

    def wait_for_url(self) -> str:
        """The URL from the first line of stdout, waiting at most STARTUP_TIMEOUT."""
        try:
            line = self._stdout.get(timeout=STARTUP_TIMEOUT)
        except queue.Empty:
            pytest.fail(f"no URL on stdout after {STARTUP_TIMEOUT} s")
        if line is None:
            self.process.wait(timeout=STOP_TIMEOUT)
            pytest.fail(f"serve exited with {self.process.returncode} before printing its URL:\n{self.stderr()}")
        self.stdout_lines.append(line)
        self.banner = line
        match = self.url_line.match(line)
        assert match is not None, f"the first line is not the URL line: {line!r}"
        self.url = match.group(1)
        return self.url

    def stop(self, signum: int = signal.SIGINT) -> int:
        """Send ``signum`` (SIGINT is Ctrl-C) and wait for the exit status."""
        self.process.send_signal(signum)
        return self.process.wait(timeout=STOP_TIMEOUT)

    def _drain(self, source: queue.Queue[str | None]) -> str:
        assert self.process.poll() is not None, "read the whole output only once the process has exited"
        for reader in self._readers:
            reader.join(timeout=IO_TIMEOUT)
        return "".join(iter(source.get_nowait, None))

    def stdout(self) -> str:
        """Everything written to stdout (the process must have exited)."""
        return "".join(self.stdout_lines) + self._drain(self._stdout)

    def stderr(self) -> str:
        """Everything written to stderr (the process must have exited)."""
        return self._drain(self._stderr)

    def close(self) -> None:
        """Stop the process if it still runs (Ctrl-C, then kill) and release its pipes."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self.process.wait(timeout=STOP_TIMEOUT)
        for reader in self._readers:
            reader.join(timeout=IO_TIMEOUT)
        assert self.process.stdout is not None
        assert self.process.stderr is not None
        self.process.stdout.close()
        self.process.stderr.close()


@contextlib.contextmanager
def served(*args: str, command: tuple[str, ...] = PYTHON_M, cwd: Path | None = None, subcommand: str = "serve"
           ) -> Iterator[tuple[ServeProcess, str]]:
    """``serve`` (or ``proxy``) started with ``args``; yields it and its URL; always stopped at the end."""
    server = ServeProcess(args, command, cwd, subcommand)
    try:
        yield server, server.wait_for_url()
    finally:
        server.close()
