"""The README's examples run as written, in the README's order (pytest-httpserver's docs-as-tests idea).

A fenced block preceded by ``<!-- readme-test: KIND -->`` is run by kind:

- ``pytest-config``: a consumer's ``pyproject.toml``; ``pytest-file``: a consumer's test file. Both go into one
  pytester folder, where pytest runs in a subprocess with the plugin from its entry point, as for any user;
- ``python``: executed in this process; what it prints must match the comments of its ``print`` lines;
- ``shell``: run by bash (``-e``, ``-u``, ``-o pipefail``) in one folder, with this environment's ``ucloud-jobs``
  first on the PATH, against one ``ucloud-jobs serve`` started for the test, its address in place of the
  README's ``127.0.0.1:8080``;
- ``output``: what the shell block before it prints.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from mockserver.web.journal import Journal
from mockserver.web.requestlog import RequestRecord
from tests.serve_process import ServeProcess, served

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
SEED_FLOW = ROOT / "tests" / "data" / "docs" / "seed_flow.json"
DEFAULT_ADDRESS = "127.0.0.1:8080"
MARKER = re.compile(r"^<!-- readme-test: ([a-z-]+) -->\n```(\w*)\n(.*?)^```$", re.MULTILINE | re.DOTALL)
KINDS = ("pytest-config", "pytest-file", "python", "shell", "output")
SHELL_TIMEOUT = 300  # seconds; verify's ten examples take a few on a busy machine


@dataclass(frozen=True)
class Block:
    """A marked block of the README: its kind, its fence's language, its text and its line."""

    kind: str
    language: str
    text: str
    line: int


def blocks(readme: str) -> list[Block]:
    """The marked blocks, in the README's order."""
    return [Block(match[1], match[2], match[3], readme.count("\n", 0, match.start()) + 1)
            for match in MARKER.finditer(readme)]


README_BLOCKS = blocks(README.read_text(encoding="utf-8"))


def test_the_marker_finds_blocks_and_nothing_else() -> None:
    sample = ("text\n<!-- readme-test: shell -->\n```sh\necho 1\n```\n\n```sh\nnot marked\n```\n"
              "<!-- readme-test: output -->\n```json\n{}\n```\n")
    assert blocks(sample) == [Block("shell", "sh", "echo 1\n", 2), Block("output", "json", "{}\n", 10)]


def test_the_readme_shows_each_use_with_a_complete_example() -> None:
    kinds = [block.kind for block in README_BLOCKS]
    assert set(kinds) <= set(KINDS), kinds
    # The plugin in a client's tests, the standalone server (with what it answers), CI and provider verification,
    # and the mock in Python.
    assert kinds[:5] == ["pytest-config", "pytest-file", "shell", "output", "shell"], kinds
    assert "python" in kinds
    assert all(block.kind != "output" or README_BLOCKS[index - 1].kind == "shell"
               for index, block in enumerate(README_BLOCKS))
    ci = README_BLOCKS[4].text
    assert "ucloud-jobs validate " in ci
    assert "ucloud-jobs verify " in ci


def test_the_readmes_first_server_example_is_the_seeds_first_command() -> None:
    first = json.loads(SEED_FLOW.read_text(encoding="utf-8"))["steps"][0]
    assert first["call"] == "jobs.create"
    server = next(block for block in README_BLOCKS if block.kind == "shell")
    lines = server.text.rstrip("\n").split("\n")
    assert lines[0].startswith(f"host=http://{DEFAULT_ADDRESS} accessToken=")
    assert "\n".join(lines[1:]) == first["command"]


def test_the_readmes_examples_run_as_written_in_order(pytester: pytest.Pytester, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    assert shutil.which("bash"), "the shell examples need bash"
    assert shutil.which("curl"), "the shell examples need curl"
    ran: list[str] = []
    with _mock() as mock:
        shell_output: str | None = None
        for block in README_BLOCKS:
            where = f"README.md:{block.line} ({block.kind})"
            if block.kind == "pytest-config":
                pytester.makefile(".toml", pyproject=block.text)
            elif block.kind == "pytest-file":
                _run_pytest_file(pytester, block)
            elif block.kind == "python":
                _run_python(block, capsys)
            elif block.kind == "shell":
                shell_output = _run_shell(block, mock(), tmp_path)
            elif block.kind == "output":
                assert shell_output is not None, where
                assert shell_output.strip() == block.text.strip(), where
            ran.append(block.kind)
    assert ran == [block.kind for block in README_BLOCKS]


@contextlib.contextmanager
def _mock() -> Iterator[Any]:
    """``ucloud-jobs serve`` started when the first shell block needs it (a fresh seed), stopped at the end."""
    stack = contextlib.ExitStack()
    started: list[tuple[ServeProcess, str]] = []

    def url() -> str:
        if not started:
            started.append(stack.enter_context(served("--port", "0", "-q")))
        return started[0][1]

    with stack:
        yield url


def _run_pytest_file(pytester: pytest.Pytester, block: Block) -> None:
    pytester.makepyfile(test_readme_example=block.text)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-v", "--strict-config", "--strict-markers",
                                           timeout=SHELL_TIMEOUT)
    tests = len(re.findall(r"^def test_", block.text, re.MULTILINE))
    assert tests >= 3
    result.assert_outcomes(passed=tests)


def _run_python(block: Block, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    exec(compile(block.text, f"README.md:{block.line}", "exec"), {"__name__": "readme_example"})
    printed = capsys.readouterr().out.splitlines()
    promised = re.findall(r"^\s*print\(.*\)\s+# (.*)$", block.text, re.MULTILINE)
    assert printed == promised


def _run_shell(block: Block, url: str, folder: Path) -> str:
    assert DEFAULT_ADDRESS in block.text, "a shell example talks to the mock at the README's address"
    script = block.text.replace(f"http://{DEFAULT_ADDRESS}", url)
    environment = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    environment.pop("UCLOUD_TOKEN", None)
    done = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=folder, env=environment,
                          capture_output=True, text=True, timeout=SHELL_TIMEOUT, check=False)
    assert done.returncode == 0, f"README.md:{block.line} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


# --------------------------------------------------------------------------- fields the README lists


def _listed(start: str, end: str) -> set[str]:
    """The names in backticks (letters only) of the README's text from ``start`` to ``end``."""
    text = README.read_text(encoding="utf-8")
    begin = text.index(start)
    return set(re.findall(r"`([a-zA-Z]+)`", text[begin:text.index(end, begin)]))


def test_the_readme_lists_every_field_of_a_journal_entry() -> None:
    journal = Journal()
    journal.record(clock_ms=0, wall_ms=0, method="POST", path="/api/jobs", query="", operation="jobs.create",
                   user="user", status=400, request=b"not json", response=b"x" * 5000)
    (entry,) = journal.snapshot()["entries"]
    assert {"requestText", "responseText"} <= set(entry)
    assert _listed("Each journal entry", "the full sizes)") == set(entry)


def test_the_readme_lists_every_field_of_a_json_log_line() -> None:
    record = RequestRecord(wall_ms=0, clock_ms=0, client="-", method="GET", path="/", query="", operation=None,
                           user=None, status=200, duration_ms=0.0, response_bytes=0)
    assert _listed("`--log-format json` writes", "does not apply)") == set(record.to_dict())


def test_a_broken_printed_promise_fails(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(AssertionError):
        _run_python(Block("python", "python", 'print("yes")  # no\n', 1), capsys)
    _run_python(Block("python", "python", 'print("yes")  # yes\n', 1), capsys)
