"""Extract each schema's type page and its summary from UCloud's documentation into ``tests/data/docs/``.

Every type UCloud documents has a page ``reference/dk.sdu.cloud.<package>.<Type>.md``; most open with a one-line
summary in italics under the title (``_A value describing the current state of a Job_``). The description of a
schema in ``openapi/jobs.yaml`` starts with its type page's summary, word for word, and goes on in the project's
words; ``tests/contracts/test_spec.py`` holds that against the data file written here, so the tests need no
documentation, and ``tests/contracts/test_docs_data.py`` re-runs this extraction wherever the documentation is
present and fails when the file differs from it.

    python scripts/extract_type_pages.py           # rewrite tests/data/docs/type_pages.json
    python scripts/extract_type_pages.py --check   # exit 1 if the committed file differs from the docs

How a schema finds its page: a generic's name is spelt as the spec spells it (``BulkRequest_JobSpecification``),
so the type is the part before the first ``_`` (``BulkRequest``); a page's type is its name from the first
capitalised segment on (``dk.sdu.cloud.app.store.api.AppParameterValue.File`` is ``AppParameterValue.File``).
A schema with no page (``Int``, the WebSocket envelope) or a page with no summary (``JobsLog``) is listed with
``null``: its description is the project's own.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

__all__ = ["DOCS_DIR", "OUT_FILE", "SPEC_PATH", "extract", "main", "page_types", "render", "summary", "type_of"]

ROOT = Path(__file__).resolve().parent.parent
DOCS_DIR = ROOT.parent / "shared" / "ucloud" / "docs"
SPEC_PATH = ROOT / "openapi" / "jobs.yaml"
OUT_FILE = ROOT / "tests" / "data" / "docs" / "type_pages.json"

_PAGE_PREFIX = "dk.sdu.cloud."
_SUMMARY = re.compile(r"^_(?P<text>[^_\n].*?)_[ \t]*$", re.MULTILINE)
_LINK = re.compile(r"\[(?P<text>[^\]]*)\]\([^)]*\)")


def type_of(schema_name: str) -> str:
    """The documented type a schema stands for: the name before a generic's arguments."""
    return schema_name.split("_", 1)[0]


def page_types(reference_dir: Path) -> dict[str, str]:
    """``{type: page}`` for every type page of the reference, the page relative to the docs folder."""
    found: dict[str, str] = {}
    for path in sorted(reference_dir.glob(_PAGE_PREFIX + "*.md")):
        segments = path.name[len(_PAGE_PREFIX):-len(".md")].split(".")
        first = next((index for index, segment in enumerate(segments) if segment[:1].isupper()), None)
        if first is None:
            continue
        name = ".".join(segments[first:])
        if name in found:
            raise ValueError(f"two pages document {name}: {found[name]} and {path.name}")
        found[name] = f"{reference_dir.name}/{path.name}"
    return found


def summary(page_text: str) -> str | None:
    """The page's summary: the line in italics between its title and its first code block, links as their text."""
    head = page_text.split("```", 1)[0]
    match = _SUMMARY.search(head)
    if match is None:
        return None
    return " ".join(_LINK.sub(r"\g<text>", match["text"]).split())


def extract(docs_dir: Path = DOCS_DIR, spec_path: Path = SPEC_PATH) -> dict[str, Any]:
    """``{schema: {"page": ..., "summary": ...}}`` for every schema of the spec, in the spec's order."""
    document = yaml.safe_load(spec_path.read_text(encoding="utf-8"))
    pages = page_types(docs_dir / "reference")
    entries: dict[str, Any] = {}
    for name in document["components"]["schemas"]:
        page = pages.get(type_of(name))
        text = None if page is None else summary((docs_dir / page).read_text(encoding="utf-8"))
        entries[name] = {"page": page, "summary": text}
    return {"generatedBy": "scripts/extract_type_pages.py", "schemas": entries}


def render(docs_dir: Path = DOCS_DIR, spec_path: Path = SPEC_PATH) -> str:
    """The data file's text."""
    return json.dumps(extract(docs_dir, spec_path), indent=2, ensure_ascii=False) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    """Write (or with ``--check`` compare) the data file; the exit code says whether it matched."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--docs", type=Path, default=DOCS_DIR, help="the UCloud docs folder (default: %(default)s)")
    parser.add_argument("--spec", type=Path, default=SPEC_PATH, help="the OpenAPI document (default: %(default)s)")
    parser.add_argument("--out", type=Path, default=OUT_FILE, help="the data file (default: %(default)s)")
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if the file would change")
    args = parser.parse_args(argv)
    if not (args.docs / "reference").is_dir():
        parser.error(f"no documentation folder with reference/ at {args.docs}")
    try:
        text = render(args.docs, args.spec)
    except (OSError, ValueError) as error:
        print(f"extract_type_pages: {error}", file=sys.stderr)
        return 2
    current = args.out.read_text(encoding="utf-8") if args.out.is_file() else None
    if args.check:
        if current != text:
            print(f"{args.out}: differs from the docs; run python scripts/extract_type_pages.py")
        return 0 if current == text else 1
    if current != text:
        args.out.write_text(text, encoding="utf-8")
        print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
