"""JSON as the mock writes it: compact, UTF-8, with one encoder built once."""

from __future__ import annotations

import json
from typing import Any

__all__ = ["JSON_TYPE", "encode"]

JSON_TYPE = "application/json; charset=utf-8"

_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))  # json.dumps() would build one per call


def encode(payload: Any) -> bytes:
    """``payload`` as compact UTF-8 JSON."""
    return _ENCODER.encode(payload).encode("utf-8")
