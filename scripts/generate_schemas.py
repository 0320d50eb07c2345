"""Write a standalone JSON Schema (Draft 2020-12) per schema of ``openapi/jobs.yaml`` to ``openapi/schemas/``.

The OpenAPI document is the one source of truth; the files are derived from it and never edited by hand. Each
file holds the schema itself plus, under ``$defs``, every schema it reaches through ``$ref`` (the transitive
closure), so a file validates on its own with any Draft 2020-12 validator.

    python scripts/generate_schemas.py          # rewrite openapi/schemas/
    python scripts/generate_schemas.py --check  # exit 1 if the committed files differ from the spec

``tests/contracts/test_spec.py`` regenerates the files in memory (``render_schema_files``) and fails on any
drift.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

__all__ = [
    "DIALECT",
    "ID_BASE",
    "SCHEMAS_DIR",
    "SPEC_PATH",
    "load_document",
    "main",
    "render_schema_files",
    "standalone_schema",
]

ROOT = Path(__file__).resolve().parent.parent
SPEC_PATH = ROOT / "openapi" / "jobs.yaml"
SCHEMAS_DIR = ROOT / "openapi" / "schemas"

DIALECT = "https://json-schema.org/draft/2020-12/schema"
# `.invalid` is reserved (RFC 2606): the ids name the files, they are never fetched.
ID_BASE = "https://ucloud-jobs-contract.invalid/schemas/"

_COMPONENT_PREFIX = "#/components/schemas/"
_DEFS_PREFIX = "#/$defs/"
_README = "README.md"


def load_document(path: Path = SPEC_PATH) -> dict[str, Any]:
    """Read the OpenAPI document (YAML) from ``path``."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    document = yaml.load(path.read_text(encoding="utf-8"), Loader=loader)  # a safe loader, chosen above
    if not isinstance(document, dict) or not isinstance(document.get("components", {}).get("schemas"), dict):
        raise SystemExit(f"{path} has no components/schemas; is it the OpenAPI document?")
    return document


def _referenced_name(ref: str, where: str) -> str:
    if not ref.startswith(_COMPONENT_PREFIX):
        raise ValueError(f"{where}: only references to {_COMPONENT_PREFIX}<Name> can be bundled, not {ref!r}")
    return ref[len(_COMPONENT_PREFIX):]


def _references(node: Any, where: str) -> set[str]:
    """The schema names that ``node`` refers to directly (``$ref`` and discriminator mappings)."""
    found: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                found.add(_referenced_name(value, where))
            elif key == "discriminator" and isinstance(value, dict):
                for target in value.get("mapping", {}).values():
                    found.add(_referenced_name(target, where))
            else:
                found |= _references(value, where)
    elif isinstance(node, list):
        for item in node:
            found |= _references(item, where)
    return found


def _closure(schemas: Mapping[str, Any], root: str) -> list[str]:
    """Every schema reachable from ``root`` through references, sorted (``root`` itself only if recursive)."""
    seen: set[str] = set()
    pending = sorted(_references(schemas[root], root))
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        if name not in schemas:
            raise ValueError(f"{root}: the reference to {name!r} points at no schema")
        seen.add(name)
        pending.extend(sorted(_references(schemas[name], name) - seen))
    return sorted(seen)


def _rewrite(node: Any, root: str) -> Any:
    """A copy of ``node`` whose component references point into ``$defs`` (the root schema is ``#``)."""

    def target(ref: str) -> str:
        name = _referenced_name(ref, root)
        return "#" if name == root else _DEFS_PREFIX + name

    if isinstance(node, dict):
        copy: dict[str, Any] = {}
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                copy[key] = target(value)
            elif key == "discriminator" and isinstance(value, dict) and "mapping" in value:
                copy[key] = {**value, "mapping": {k: target(v) for k, v in value["mapping"].items()}}
            else:
                copy[key] = _rewrite(value, root)
        return copy
    if isinstance(node, list):
        return [_rewrite(item, root) for item in node]
    return node


def standalone_schema(schemas: Mapping[str, Any], name: str) -> dict[str, Any]:
    """The standalone Draft 2020-12 document of schema ``name``, with what it references in ``$defs``."""
    body = schemas[name]
    if not isinstance(body, dict):
        raise ValueError(f"{name}: a schema must be an object")
    clashes = {"$schema", "$id", "$defs"} & set(body)
    if clashes:
        raise ValueError(f"{name}: the spec's schema uses {sorted(clashes)}, which the generator writes")
    document: dict[str, Any] = {"$schema": DIALECT, "$id": ID_BASE + name + ".json", "title": name}
    document.update(_rewrite(body, name))  # a title in the spec, if any, wins over the name
    defs = {ref: _rewrite(schemas[ref], name) for ref in _closure(schemas, name) if ref != name}
    if defs:
        document["$defs"] = defs
    return document


def _dump(document: Any) -> str:
    # Keyword order inside a schema follows the spec (properties stay in UCloud's declaration order); the
    # generator adds only sorted structures ($defs), so the output is a pure function of the spec.
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def _readme(names: Sequence[str], spec_name: str) -> str:
    lines = [
        "# Generated JSON Schemas",
        "",
        f"Generated by `scripts/generate_schemas.py` from `components/schemas` of `openapi/{spec_name}`.",
        "Do not edit these files: change the spec, then regenerate them with",
        "",
        "```",
        "python scripts/generate_schemas.py",
        "```",
        "",
        "`python scripts/generate_schemas.py --check` exits 1 when the files differ from the spec, and",
        "`tests/contracts/test_spec.py` fails on any such drift (a changed, missing or stale file).",
        "",
        "Each `<Name>.json` is a standalone Draft 2020-12 document: `$schema`, an `$id` under",
        f"`{ID_BASE}` (a reserved `.invalid` host: ids name the files, nothing is",
        "fetched), `title`, the schema as the spec states it, and `$defs` holding every schema it reaches",
        "through `$ref`, with `#/components/schemas/X` rewritten to `#/$defs/X`. Any Draft 2020-12 validator",
        "can use a file on its own. Keywords keep the spec's order, so `properties` list the fields in",
        "UCloud's serialisation order; `$defs` is sorted by name. OpenAPI's `discriminator` stays as an",
        "annotation (its mapping points into `$defs`); validation relies on `oneOf` and each variant's",
        "`type` constant, as in the spec.",
        "",
        f"{len(names)} schemas:",
        "",
    ]
    lines += [f"- [`{name}`]({name}.json)" for name in names]
    return "\n".join(lines) + "\n"


def render_schema_files(
    document: Mapping[str, Any] | None = None, spec_name: str = SPEC_PATH.name
) -> dict[str, str]:
    """Every file of ``openapi/schemas/`` as ``{file name: text}``, generated from the OpenAPI document."""
    if document is None:
        document = load_document()
    schemas: Mapping[str, Any] = document["components"]["schemas"]
    names = sorted(schemas)
    files = {f"{name}.json": _dump(standalone_schema(schemas, name)) for name in names}
    files[_README] = _readme(names, spec_name)
    return files


def _stale(directory: Path, files: Mapping[str, str]) -> list[Path]:
    return sorted(p for p in directory.glob("*") if p.is_file() and p.name not in files)


def main(argv: Sequence[str] | None = None) -> int:
    """Write (with ``--check``: compare) the generated schema files; exit 1 when ``--check`` finds drift."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spec", type=Path, default=SPEC_PATH, help="the spec (default: %(default)s)")
    parser.add_argument("--out", type=Path, default=SCHEMAS_DIR, help="the folder (default: %(default)s)")
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if any file would change")
    args = parser.parse_args(argv)

    files = render_schema_files(load_document(args.spec), args.spec.name)
    changed = [name for name, text in files.items()
               if not (args.out / name).is_file() or (args.out / name).read_text(encoding="utf-8") != text]
    stale = _stale(args.out, files) if args.out.is_dir() else []
    if args.check:
        for name in changed:
            print(f"{args.out / name}: differs from the spec; run python scripts/generate_schemas.py")
        for path in stale:
            print(f"{path}: not generated from the spec; delete it")
        return 1 if changed or stale else 0

    args.out.mkdir(parents=True, exist_ok=True)
    for name in changed:
        # newline="\n": the same bytes on every platform, so the drift test compares like with like.
        (args.out / name).write_text(files[name], encoding="utf-8", newline="\n")
    for path in stale:
        path.unlink()
    print(f"{args.out}: {len(files)} files, {len(changed)} written, {len(stale)} removed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
