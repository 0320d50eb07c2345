"""Reading a request body: at most 1 MiB, UTF-8, JSON without NaN or infinities, nesting bounded."""

from __future__ import annotations

import json
import math
import re
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
        if not (length_text.isascii() and length_text.isdigit()):  # int() refuses "²", a Unicode digit
            raise ApiError(400, "Bad Request: the Content-Length header is not a number")
        length = int(length_text) if len(length_text) <= 18 else MAX_BODY_BYTES + 1  # int() stops at 4300 digits
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
        document = json.loads(text, parse_constant=_reject_constant, parse_float=_finite)
    except RecursionError:
        raise ApiError(400, "Bad Request: the JSON document is nested too deeply") from None
    except ValueError as error:
        raise ApiError(400, f"Bad Request: the request body is not valid JSON ({error})") from None
    if _SURROGATE_ESCAPE.search(text) is not None:
        _refuse_lone_surrogates(document)
    return document


# A \uD800-\uDFFF escape: half of a surrogate pair, fine in a pair ("\ud83d\ude00"), not on its own.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def _refuse_lone_surrogates(document: Any) -> None:
    """400 for a string holding half a surrogate pair: no UTF-8 answer could carry it back."""
    try:
        json.dumps(document, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise ApiError(400, "Bad Request: the JSON text escapes half of a surrogate pair (\\uD800-\\uDFFF "
                            "alone), which is not a Unicode character") from None
