"""Where two JSON documents differ, as JSON pointers: strict about types (1 is not true, 1.0 is not 1)."""

from __future__ import annotations

import json
from typing import Any

__all__ = ["differences"]


def _pointer(pointer: str, key: Any) -> str:
    return f"{pointer}/{str(key).replace('~', '~0').replace('/', '~1')}"


def differences(expected: Any, actual: Any, pointer: str = "", limit: int = 20) -> list[str]:
    """Each place where ``actual`` differs from ``expected`` (at most ``limit``), as ``POINTER: what``."""
    found: list[str] = []
    _walk(expected, actual, pointer, found, limit)
    return found


def _walk(expected: Any, actual: Any, pointer: str, found: list[str], limit: int) -> None:
    if len(found) >= limit:
        return
    if isinstance(expected, dict) and isinstance(actual, dict):
        for key in sorted(expected.keys() | actual.keys()):
            where = _pointer(pointer, key)
            if key not in actual:
                found.append(f"{where}: missing (expected {json.dumps(expected[key])[:200]})")
            elif key not in expected:
                found.append(f"{where}: not expected (got {json.dumps(actual[key])[:200]})")
            else:
                _walk(expected[key], actual[key], where, found, limit)
        return
    if isinstance(expected, list) and isinstance(actual, list):
        for index, (one, other) in enumerate(zip(expected, actual, strict=False)):
            _walk(one, other, _pointer(pointer, index), found, limit)
        if len(expected) != len(actual):
            found.append(f"{pointer or '/'}: {len(actual)} items, expected {len(expected)}")
        return
    if type(expected) is not type(actual) or expected != actual:
        found.append(f"{pointer or '/'}: expected {json.dumps(expected)[:200]}, got {json.dumps(actual)[:200]}")
