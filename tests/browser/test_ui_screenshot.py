"""The README's screenshot of the page (docs/ui.png) still shows what the page renders: the same stage, built by
scripts/ui_screenshot.py, gives the same rows, states and traffic as docs/ui.json, which that script wrote from
the page it photographed. Regenerate both with ``python scripts/ui_screenshot.py``."""

from __future__ import annotations

import json
import struct
from typing import Any

import pytest

from mockserver import MockServer
from tests.browser.support import POLL, ROOT, SCRIPT

pytestmark = pytest.mark.xdist_group("browser")


def test_the_page_renders_what_the_screenshot_shows(browser: Any, mock: MockServer) -> None:
    expected = json.loads(SCRIPT.SHOWN.read_text(encoding="utf-8"))
    job_id = SCRIPT.stage(mock)
    browser.get(f"{mock.url}/_mock/ui{POLL}#job={job_id}")
    SCRIPT.rendered(browser, job_id)
    assert SCRIPT.observe(browser) == expected
    assert [row["state"] for row in expected["jobs"]] == ["RUNNING"]  # the seed's job, after the extension


def test_the_screenshot_is_in_the_readme() -> None:
    picture = SCRIPT.PICTURE.read_bytes()
    assert picture[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", picture[16:24])[0] == SCRIPT.WINDOW[0]
    assert "](docs/ui.png)" in (ROOT / "README.md").read_text(encoding="utf-8")
