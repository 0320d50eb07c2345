"""JSON as the mock writes it: compact, UTF-8, with one encoder built once."""

from __future__ import annotations

import json
from typing import Any

__all__ = ["JSON_TYPE", "encode"]

JSON_TYPE = "application/json; charset=utf-8"

_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))  # json.dumps() would build one per call


#: A page with more items is encoded an item at a time (``encode``).
PIECEWISE_ITEMS = 32


def encode(payload: Any) -> bytes:
    """``payload`` as compact UTF-8 JSON.

    A page of many items (a browse of 1000 jobs is about 1 MB) is encoded an item at a time: the encoder is one
    C call that holds the interpreter's lock throughout, about 40 ms for such a page, while the server's loop
    thread would wait for it; between items the loop gets its turn. The bytes are the same.
    """
    items = payload.get("items") if isinstance(payload, dict) else None
    if not isinstance(items, list) or len(items) <= PIECEWISE_ITEMS:
        return _ENCODER.encode(payload).encode("utf-8")
    encode_one = _ENCODER.encode
    parts = ["{"]
    for key, value in payload.items():
        if len(parts) > 1:
            parts.append(",")
        parts += [encode_one(key), ":"]
        parts.append("[" + ",".join([encode_one(item) for item in items]) + "]" if value is items
                     else encode_one(value))
    parts.append("}")
    return "".join(parts).encode("utf-8")
