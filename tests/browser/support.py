"""What the browser tests and their fixtures share: the screenshot script (its browser, stage and reading of the
page) and how fast the page polls."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parent.parent.parent
#: Poll fast: the page asks for changes every 100 ms here, once a second by default.
POLL = "?poll=100"
WAIT_S = 10


def _screenshot_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("ui_screenshot", ROOT / "scripts" / "ui_screenshot.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


SCRIPT = _screenshot_script()
