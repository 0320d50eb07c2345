"""Reading a request body: at most 1 MiB, UTF-8, JSON without NaN or infinities, nesting bounded."""

from __future__ import annotations

import json
import math
from typing import TYPE_CHECKING, Any

from mockserver.errors import ApiError

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment

__all__ = ["MAX_BODY_BYTES", "parse_json", "read_body"]

MAX_BODY_BYTES = 1024 * 1024


def read_body(environ: WSGIEnvironment) -> bytes:
    """The raw body of a request; 413 past 1 MiB (judged from Content-Length before reading, when given)."""
    length_text = (environ.get("CONTENT_LENGTH") or "").strip()
    stream = environ["wsgi.input"]
    if length_text:
        if not length_text.isdigit():
            raise ApiError(400, "Bad Request: the Content-Length header is not a number")
        length = int(length_text)
        if length > MAX_BODY_BYTES:
            raise ApiError(413, "Payload Too Large")
        return bytes(stream.read(length)) if length else b""
    if environ.get("wsgi.input_terminated"):
        raw = bytes(stream.read(MAX_BODY_BYTES + 1))
        if len(raw) > MAX_BODY_BYTES:
            raise ApiError(413, "Payload Too Large")
        return raw
    return b""


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text} is out of range for a JSON number")
    return value


def parse_json(raw: bytes) -> Any:
    """A JSON document from a request body, or ``ApiError(400)`` saying what is wrong with it."""
    if not raw.strip():
        raise ApiError(400, "Bad Request: the request body is empty; it must be JSON")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ApiError(400, f"Bad Request: the request body is not UTF-8 (byte {error.start})") from None
    try:
        return json.loads(text, parse_constant=_reject_constant, parse_float=_finite)
    except RecursionError:
        raise ApiError(400, "Bad Request: the JSON document is nested too deeply") from None
    except ValueError as error:
        raise ApiError(400, f"Bad Request: the request body is not valid JSON ({error})") from None
