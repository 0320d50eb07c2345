"""Write the README's table of scenario keys from the scenario format's JSON Schema.

    python scripts/scenario_table.py           # rewrite the table in README.md
    python scripts/scenario_table.py --check   # exit 1 if README.md's table differs from the schema

The table sits between the markers ``<!-- scenario-keys -->`` and ``<!-- /scenario-keys -->``; a test runs the
check, so the README cannot drift from ``openapi/scenario.schema.json``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from contracts.scenario_model import scenario_schema  # noqa: E402 - after the path is set

README = ROOT / "README.md"
START, END = "<!-- scenario-keys -->", "<!-- /scenario-keys -->"
LEAVES = {"backend"}  # definitions whose keys the description lists, so the table does not descend into them


def _resolved(node: Mapping[str, Any], definitions: Mapping[str, Any]) -> tuple[str | None, Mapping[str, Any]]:
    reference = node.get("$ref", "")
    if isinstance(reference, str) and reference.startswith("#/$defs/"):
        name = reference.rsplit("/", 1)[1]
        return name, definitions[name]
    return None, node


def rows(properties: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, str]]:
    """(key path, description) of every key, depth first, in the schema's order."""
    definitions = scenario_schema()["$defs"]
    for key, node in properties.items():
        name, target = _resolved(node, definitions)
        path = f"{prefix}{key}"
        yield path, str(node.get("description") or target.get("description") or target.get("title") or "")
        if name in LEAVES:
            continue
        if target.get("type") == "array" and isinstance(target.get("items"), dict):
            _, target, path = (*_resolved(target["items"], definitions), path + "[]")
        elif isinstance(target.get("additionalProperties"), dict):
            _, target, path = (*_resolved(target["additionalProperties"], definitions), path + ".<name>")
        if isinstance(target.get("properties"), dict):
            yield from rows(target["properties"], path + ".")


def table() -> str:
    """The markdown table, with its markers."""
    lines = [START, "| key | what it says |", "|---|---|"]
    escaped = ((path, text.replace("|", "\\|")) for path, text in rows(scenario_schema()["properties"]))
    lines += [f"| `{path}` | {text} |" for path, text in escaped]
    return "\n".join([*lines, END])


def main(argv: list[str] | None = None) -> int:
    """Rewrite (or check) the table; the exit code says whether README.md matched."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if the table differs")
    args = parser.parse_args(argv)
    text = README.read_text(encoding="utf-8")
    if START not in text or END not in text:
        print(f"{README}: no {START} ... {END} markers", file=sys.stderr)
        return 1
    before, rest = text.split(START, 1)
    after = rest.split(END, 1)[1]
    updated = before + table() + after
    if args.check:
        return 0 if updated == text else 1
    README.write_text(updated, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
