"""Reading scenario files with limits: regular files only, inside their folder, at most 1 MiB, YAML without bombs.

A scenario folder may hold anything: a symlink to a private file, a FIFO named like a scenario, a file that
YAML aliases expand to gigabytes. So a folder lists only the regular files whose real path is inside it; a file
is opened without blocking, checked to be a regular file and read up to the limit; the YAML loader counts the
nodes a document expands to and the aliases it uses while composing, and stops at the first past its budget.
Error messages name the scenario (its name, or the path given on the command line) and give the line, the
column and the problem, never the file's text (PyYAML's own messages quote it).
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml
from yaml.composer import ComposerError
from yaml.constructor import ConstructorError
from yaml.events import AliasEvent
from yaml.nodes import Node

from contracts.errors import ContractError

__all__ = ["MAX_ALIASES", "MAX_NODES", "MAX_SCENARIO_BYTES", "read_scenario_text", "scenario_files", "yaml_document"]

MAX_SCENARIO_BYTES = 1024 * 1024
MAX_ALIASES = 100
#: Nodes a document may expand to, each alias counted as all it stands for: far more than a scenario needs.
MAX_NODES = 100_000


class _Refused(yaml.MarkedYAMLError):
    """A document past the loader's budget."""


class _BoundedLoader(yaml.SafeLoader):
    """PyYAML's safe loader, counting nodes (aliases as what they expand to) and aliases as it composes."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._nodes = 0
        self._aliases = 0
        self._weights: dict[str, int] = {}  # anchor -> nodes its value expands to (once composed)

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        """Compose one node, charging it and everything it expands to against the budget."""
        event: Any = self.peek_event()  # type: ignore[no-untyped-call]  # (the stubs leave it untyped)
        if self.check_event(AliasEvent):
            self._aliases += 1
            if self._aliases > MAX_ALIASES:
                raise _Refused(None, None, f"it uses more than {MAX_ALIASES} aliases", event.start_mark)
            if event.anchor in self.anchors and event.anchor not in self._weights:
                raise _Refused(None, None, "an alias refers to itself (a value that contains itself)",
                               event.start_mark)
            self._charge(self._weights.get(event.anchor, 1), event)
            return super().compose_node(parent, index)
        before = self._nodes
        node = super().compose_node(parent, index)
        self._charge(1, event)
        if event.anchor is not None:
            self._weights[event.anchor] = self._nodes - before
        return node

    def _charge(self, nodes: int, event: Any) -> None:
        self._nodes += nodes
        if self._nodes > MAX_NODES:
            raise _Refused(None, None, f"its aliases expand to more than {MAX_NODES} nodes", event.start_mark)


def _problem(error: yaml.MarkedYAMLError) -> str:
    """PyYAML's problem without the text it quotes from the file (an alias, an anchor, a tag)."""
    if isinstance(error, ConstructorError):
        return "a tag that is not plain YAML (such as !!python/...) is not loaded"
    if isinstance(error, ComposerError) and "undefined alias" in (error.problem or ""):
        return "an alias names no anchor"
    if isinstance(error, ComposerError) and "duplicate anchor" in (error.context or ""):
        return "an anchor is defined twice"
    # A quoted single character ("found character '\t' ...") or a token's name ('<block end>') is not the
    # file's text; anything longer in quotes may be.
    return re.sub(r"'(?!<)[^']{2,}'", "'...'", error.problem or error.context or "a YAML error")


def yaml_document(text: str, label: str) -> Any:
    """The YAML document in ``text``; ``ContractError`` saying where and what is wrong with it, not showing it."""
    try:
        return yaml.load(text, Loader=_BoundedLoader)  # a SafeLoader, with limits
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
        raise ContractError(f"the scenario {label} is not valid YAML{where}: {_problem(error)}") from None
    except yaml.YAMLError:
        raise ContractError(f"the scenario {label} is not valid YAML") from None
    except RecursionError:
        raise ContractError(f"the scenario {label} is not valid YAML: it is nested too deeply") from None


def read_scenario_text(path: Path, label: str) -> str:
    """The text of a scenario file: a regular file (checked once open, without blocking) of at most 1 MiB."""
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as error:
        raise ContractError(f"cannot read the scenario {label}: {error.strerror}") from None
    with os.fdopen(descriptor, "rb") as file:
        if not stat.S_ISREG(os.fstat(descriptor).st_mode):
            raise ContractError(f"the scenario {label} is not a regular file")
        try:
            raw = file.read(MAX_SCENARIO_BYTES + 1)
        except OSError as error:
            raise ContractError(f"cannot read the scenario {label}: {error.strerror}") from None
    if len(raw) > MAX_SCENARIO_BYTES:
        raise ContractError(f"the scenario {label} is larger than {MAX_SCENARIO_BYTES // (1024 * 1024)} MiB")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ContractError(f"the scenario {label} is not UTF-8 (byte {error.start})") from None


def scenario_files(folders: Iterable[Path]) -> dict[str, Path]:
    """The ``*.yaml`` scenario files of ``folders`` by name (later folders shadow earlier ones).

    Only regular files whose real path is inside their folder count: a symlink out of it, a FIFO or a
    folder named like a scenario is not one.
    """
    found: dict[str, Path] = {}
    for folder in folders:
        try:
            home = Path(folder).resolve(strict=True)
            candidates = sorted(home.glob("*.yaml"))
        except OSError:
            continue
        for path in candidates:
            try:
                real = path.resolve(strict=True)
                regular = stat.S_ISREG(real.stat().st_mode)
            except (OSError, RuntimeError):  # a dangling link, a loop of links
                continue
            if regular and real.is_relative_to(home):
                found[path.stem] = real
    return found
