"""Reading a request: Werkzeug's ``Request`` with UCloud's rules for bodies and queries.

A body is at most 1 MiB of UTF-8 JSON without NaN, infinities, lone surrogates or runaway nesting; it is
validated against the operation's request schema and stripped of keys the schema does not name, as UCloud's
deserialiser does. A GET request's query is typed by the operation's parameters (``contracts.wire``).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from typing import Any

from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Request

from contracts.errors import ContractViolation
from contracts.shape import prune
from contracts.validation import Contract
from contracts.wire import decode_query
from mockserver.web.errors import TOO_LARGE, ApiError

__all__ = ["LARGE_BODY_BYTES", "MAX_BODY_BYTES", "ApiRequest", "bad_request", "large_body", "parse_json",
           "typed_query"]

MAX_BODY_BYTES = 1024 * 1024
#: A request whose body is larger waits for any other such request to be answered (``MockApp``): parsed, a
#: body of JSON can take 25 times its size in memory, and four of 1 MiB at once would take 100 MB.
LARGE_BODY_BYTES = 64 * 1024
#: How many violations of a request body are explained at most: a body of 349,000 broken items would
#: otherwise take minutes and gigabytes to explain whole.
MAX_EXPLAINED = 50


def large_body(environ: Mapping[str, Any]) -> bool:
    """Whether a request's body is past LARGE_BODY_BYTES, or streamed (chunked) with no length given; read from
    the environ, as every request asks (a header lookup through Werkzeug costs several times more)."""
    length = environ.get("CONTENT_LENGTH") or ""
    if length:
        return length.isascii() and length.isdigit() and int(length) > LARGE_BODY_BYTES
    return "chunked" in str(environ.get("HTTP_TRANSFER_ENCODING", "")).lower()


class ApiRequest(Request):
    """A request to the mock; the body is read once, at most 1 MiB (413 past it)."""

    max_content_length = MAX_BODY_BYTES
    #: The body, once a handler has read it (the journal records what was read).
    body_read = b""

    @property
    def large(self) -> bool:
        """Whether the body is past LARGE_BODY_BYTES, or streamed (chunked) with no length given."""
        return large_body(self.environ)

    def raw_body(self) -> bytes:
        """The body as sent (an empty body when there is none); 400 for a Content-Length that is no number."""
        length = (self.headers.get("Content-Length") or "").strip()
        if length and not (length.isascii() and length.isdigit()):  # int() would take "²", a Unicode digit
            raise ApiError(400, "Bad Request: the Content-Length header is not a number")
        if not length and self.environ.get("wsgi.input_terminated"):
            # A streamed (chunked) body: Werkzeug's limited stream would cut it at the limit without a word.
            raw = bytes(self.environ["wsgi.input"].read(MAX_BODY_BYTES + 1))
            if len(raw) > MAX_BODY_BYTES:
                raise ApiError(413, TOO_LARGE)
            self.body_read = raw
        else:
            self.body_read = self.get_data(cache=True)
        return self.body_read

    def json_body(self, contract: Contract, operation_id: str) -> Any:
        """The JSON body, valid for the operation, without the keys its schema does not name."""
        document = parse_json(self.raw_body())
        _refuse_too_many_items(contract, operation_id, document)
        try:
            contract.validate_request(operation_id, document, limit=MAX_EXPLAINED)
        except ContractViolation as violation:
            raise bad_request(violation) from None
        schema = contract.spec.operation(operation_id).request_schema
        return document if schema is None else prune(contract.spec, document, schema)

def _refuse_too_many_items(contract: Contract, operation_id: str, document: Any) -> None:
    """A bulk request with more items than its schema's ``maxItems`` is refused before it is validated: a body of
    349,000 empty objects costs the validators as much again as its parsing, and leaves the heap fragmented."""
    schema = contract.spec.operation(operation_id).request_schema
    if schema is None or not isinstance(document, dict) or not isinstance(document.get("items"), list):
        return
    items = contract.spec.schema(schema).get("properties", {}).get("items")
    most = None if items is None else contract.spec.resolve(items).get("maxItems")
    if isinstance(most, int) and len(document["items"]) > most:
        raise ApiError(400, f"Request cannot exceed {most} items")


def typed_query(contract: Contract, operation_id: str, args: MultiDict[str, str]) -> tuple[tuple[str, Any], ...]:
    """The query parameters, typed by the operation's parameter schemas (the first of repeated ones wins)."""
    try:
        return tuple(decode_query(contract.spec.operation(operation_id), args.to_dict()).items())
    except ContractViolation as violation:
        raise bad_request(violation) from None


def bad_request(violation: ContractViolation) -> ApiError:
    """A 400 whose ``why`` names the field and the rule, in UCloud's words where UCloud has them."""
    for item in violation.violations:
        if item.pointer == "/items" and item.keyword == "minItems":
            return ApiError(400, "Request must not be empty")
        if item.pointer == "/items" and item.keyword == "maxItems":
            return ApiError(400, f"Request cannot exceed {item.expected.removeprefix('at most ')}")
        if item.pointer == "/itemsToSkip":
            return ApiError(400, "Invalid offset")
        if item.keyword == "not" and item.pointer.endswith("/timeAllocation"):  # the spec's "not a zero duration"
            return ApiError(400, "Time allocated for job is too short.")
    shown = "; ".join(str(item) for item in violation.violations[:5])
    more = len(violation.violations) - 5
    if violation.more:
        return ApiError(400, f"Bad Request: {shown} (and at least {more} more)")
    return ApiError(400, f"Bad Request: {shown}" + (f" (and {more} more)" if more > 0 else ""))


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
