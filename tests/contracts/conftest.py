"""Fixtures of the contract's tests."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A scratch folder that is also the working directory, so that reports show short relative names."""
    monkeypatch.chdir(tmp_path)
    return tmp_path
