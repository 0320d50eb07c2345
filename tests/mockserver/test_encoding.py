"""A large page is encoded an item at a time (so the server's loop thread gets its turn between items), to the
same bytes as in one piece; ``benchmarks/bench_lock.py`` measures what that buys."""

from __future__ import annotations

import json
from typing import Any

import pytest

from mockserver.web.encoding import PIECEWISE_ITEMS, encode

ODD = {"é": "\u2028 \"quoted\" \\ \x00", "n": [1, -2.5, None, True, {"deep": [[]]}]}


@pytest.mark.parametrize("payload", [
    {"itemsPerPage": 1000, "items": [{**ODD, "id": str(n)} for n in range(PIECEWISE_ITEMS * 3)], "next": "x"},
    {"items": [ODD] * (PIECEWISE_ITEMS + 1)},
    {"next": None, "items": list(range(PIECEWISE_ITEMS + 1)), "itemsPerPage": 50},
    {"items": [ODD] * PIECEWISE_ITEMS, "next": None},
    {"items": []},
    {"items": "not a list", "other": ODD},
    [ODD, {"items": [1] * 100}],
])
def test_a_page_encodes_to_the_same_bytes_as_in_one_piece(payload: Any) -> None:
    assert encode(payload) == json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
