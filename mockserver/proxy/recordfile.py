"""``--record FILE``: the recorder's scenario, checked by a replay, written as YAML with what it could not hold."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from pathlib import Path

import yaml

from contracts.proxy.recording import Recorder
from contracts.proxy.users import Callers
from mockserver.proxy.replay import replay_differences

__all__ = ["scenario_name", "write_recording"]


class _PlainDumper(yaml.SafeDumper):
    """YAML without anchors: calls with the same query share one decoded document, and a scenario someone reads
    should spell each step out rather than say ``*id001``."""

    def ignore_aliases(self, data: object) -> bool:
        return True


def scenario_name(path: Path) -> str:
    """A scenario name from a file name: letters, digits, '-', '_' and '.' (the format's rule)."""
    name = re.sub(r"[^A-Za-z0-9_.-]+", "-", path.stem).strip("-._")[:100]
    return name if name else "recording"


def write_recording(recorder: Recorder, path: Path, upstream: str, callers: Callers,
                    now: datetime | None = None, *, websocket_messages: int = 0) -> list[str]:
    """Write the scenario to ``path``; what it could not hold (each a sentence), also written in its header.
    ``websocket_messages`` passed on are not recorded, and are listed as such."""
    when = (now or datetime.now(timezone.utc)).strftime("%Y-%m-%d %H:%M UTC")
    recording = recorder.build(scenario_name(path), f"Calls to {upstream} through ucloud-jobs proxy, {when}.",
                               callers.is_placeholder)
    unheld = [*recording.unheld, *replay_differences(recording.document, recorder.calls)]
    if websocket_messages:
        unheld.append(f"the {websocket_messages} WebSocket messages passed on (jobs.follow) are not recorded: on "
                      "replay the mock computes each stream's frames from its jobs, and they were not compared")
    header = [f"# Recorded by ucloud-jobs proxy from {upstream} on {when}.",
              f"# Replay it with: ucloud-jobs serve --scenario {path.name}",
              "# No token is written here: callers are names (the mock takes an unsigned JWT whose sub is the name)."]
    if unheld:
        header.append("# What this scenario could not hold (replaying it answers these calls differently):")
        header += [f"#  - {line}" for line in unheld]
    else:
        header.append("# Replaying it answers every recorded call JSON-equal to what the upstream answered.")
    text = yaml.dump(recording.document, Dumper=_PlainDumper, sort_keys=False, allow_unicode=True, width=120)
    path.write_text("\n".join(header) + "\n" + text, encoding="utf-8")
    return unheld
