"""Every schema's description starts with the summary of its type page in UCloud's reference, word for word.

The summaries are data (``tests/data/docs/type_pages.json``, written by ``scripts/extract_type_pages.py`` from
the documentation), so these tests run without the documentation; where it is present, the data file is
checked against a fresh extraction.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from contracts import default_spec

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT.parent / "shared" / "ucloud" / "docs"
SCRIPT = ROOT / "scripts" / "extract_type_pages.py"
SPEC = ROOT / "openapi" / "jobs.yaml"
DATA = ROOT / "tests" / "data" / "docs" / "type_pages.json"

needs_docs = pytest.mark.skipif(not DOCS.is_dir(), reason=f"the UCloud documentation is not at {DOCS}; the "
                                                          "committed data file stands in for it")


@pytest.fixture(scope="module")
def script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("extract_type_pages", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["extract_type_pages"] = module
    spec.loader.exec_module(module)
    return module


def _pages() -> dict[str, Any]:
    entries: dict[str, Any] = json.loads(DATA.read_text(encoding="utf-8"))["schemas"]
    return entries


def test_the_data_file_lists_every_schema_of_the_spec_in_its_order() -> None:
    assert list(_pages()) == list(default_spec().schemas)


def test_each_description_starts_with_its_type_page_s_summary() -> None:
    schemas = default_spec().schemas
    differing = [f"{name}: {entry['summary']!r} (from {entry['page']})" for name, entry in _pages().items()
                 if entry["summary"] and not schemas[name]["description"].startswith(entry["summary"])]
    assert differing == []


def test_the_summaries_come_from_the_reference_and_most_documented_types_have_one() -> None:
    pages = _pages()
    summarised = {name for name, entry in pages.items() if entry["summary"]}
    assert {"Job", "JobState", "JobSpecification", "AppParameterValue", "CommonErrorMessage",
            "BulkRequest_JobSpecification"} <= summarised
    assert pages["Job"] == {"page": "reference/dk.sdu.cloud.app.orchestrator.api.Job.md", "summary":
                            "A `Job` in UCloud is the core abstraction used to describe a unit of computation."}
    assert pages["Int"] == {"page": None, "summary": None}  # no type page: the description is the project's
    assert all(entry["page"] is None or entry["page"].startswith("reference/dk.sdu.cloud.")
               for entry in pages.values())


@needs_docs
def test_the_data_file_equals_a_fresh_extraction(script: ModuleType, tmp_path: Path) -> None:
    assert DATA.read_text(encoding="utf-8") == script.render(DOCS, SPEC), \
        "run python scripts/extract_type_pages.py"
    assert script.main(["--docs", str(DOCS), "--check"]) == 0
    assert script.main(["--docs", str(DOCS), "--out", str(tmp_path / "t.json"), "--check"]) == 1


# ------------------------------------------------------------------------------------------ the rules
def test_a_generic_is_documented_by_its_type_s_page(script: ModuleType) -> None:
    assert script.type_of("BulkRequest_JobSpecification") == "BulkRequest"
    assert script.type_of("ResolvedSupport_Product.Compute_ComputeSupport") == "ResolvedSupport"
    assert script.type_of("AppParameterValue.File") == "AppParameterValue.File"


def test_a_page_s_type_starts_at_its_first_capitalised_segment(script: ModuleType, tmp_path: Path) -> None:
    reference = tmp_path / "reference"
    reference.mkdir()
    for name in ("dk.sdu.cloud.app.store.api.AppParameterValue.File.md", "dk.sdu.cloud.PageV2.md",
                 "dk.sdu.cloud.calls.BulkRequest.md", "jobs.create.md", "dk.sdu.cloud.lowercase.md"):
        (reference / name).write_text("", encoding="utf-8")
    assert script.page_types(reference) == {
        "AppParameterValue.File": "reference/dk.sdu.cloud.app.store.api.AppParameterValue.File.md",
        "BulkRequest": "reference/dk.sdu.cloud.calls.BulkRequest.md",
        "PageV2": "reference/dk.sdu.cloud.PageV2.md"}
    (reference / "dk.sdu.cloud.other.api.PageV2.md").write_text("", encoding="utf-8")
    with pytest.raises(ValueError, match="two pages document PageV2"):
        script.page_types(reference)


@pytest.mark.parametrize(("page", "summary"), [
    ("# `X`\n\n_A classifier for a [`Product`](/docs/reference/x.md)_\n\n```kotlin\n```\n",
     "A classifier for a `Product`"),
    ("# `X`\n\n_Represents a single 'page'   of results_  \n```kotlin\n", "Represents a single 'page' of results"),
    ("# `X`\n\n```kotlin\n```\n_An italic line after the code is no summary_\n", None),
    ("# `X`\n\nNo italics here.\n", None),
])
def test_the_summary_is_the_italic_line_before_the_code(script: ModuleType, page: str, summary: str | None) -> None:
    assert script.summary(page) == summary
