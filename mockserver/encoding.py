"""JSON as the mock writes it: compact, UTF-8, with one encoder built once."""

from __future__ import annotations

import json
from typing import Any

__all__ = ["Encoded", "encode"]

_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))  # json.dumps() would build one per call


class Encoded(bytes):
    """A JSON body already encoded: a handler may return one, and the app sends it as it is."""


def encode(payload: Any) -> Encoded:
    """``payload`` as compact UTF-8 JSON."""
    return Encoded(_ENCODER.encode(payload).encode("utf-8"))
