"""The position scanner: a JSON pointer's value is found where it starts in the text, in any layout."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from contracts.explain import pointer_of
from contracts.positions import Position, locate, parse_pointer

TEXT = """{
  "id": "62348",
  "status": {"state": "RUNNIN", "list": [1, {"deep": true}, []]},
  "a/b": {"~": 3},
  "naïve": "é", "after": 1
}"""


def at(line: int, column: int) -> tuple[int, int]:
    return line, column


def where(text: str, *pointers: str) -> dict[str, tuple[int, int]]:
    return {pointer: (found.line, found.column) for pointer, found in locate(text, pointers).items()}


def test_each_value_is_found_at_its_line_and_column() -> None:
    assert where(TEXT, "", "/id", "/status", "/status/state", "/status/list/1/deep", "/status/list/2") == {
        "": at(1, 1), "/id": at(2, 9), "/status": at(3, 13), "/status/state": at(3, 23),
        "/status/list/1/deep": at(3, 54), "/status/list/2": at(3, 61)}


def test_a_missing_member_is_placed_at_its_parent() -> None:
    # A missing required property has no value of its own: the object that lacks it is where to look.
    assert where(TEXT, "/status/owner", "/status/list/9", "/nothing/below") == {
        "/status/owner": at(3, 13), "/status/list/9": at(3, 41), "/nothing/below": at(1, 1)}


def test_escaped_keys_and_columns_in_characters() -> None:
    assert where(TEXT, "/a~1b/~0", "/after") == {"/a~1b/~0": at(4, 16), "/after": at(5, 26)}
    assert parse_pointer("/a~1b/~0/~01") == ("a/b", "~", "~1")


def test_the_last_of_repeated_keys_counts_as_in_json_loads() -> None:
    text = '{"dup": {"inner": 1},\n "dup": {"other": 2}}'
    assert json.loads(text) == {"dup": {"other": 2}}
    # /dup/inner is not in the document json.loads reads: it falls back to the /dup that is.
    assert where(text, "/dup", "/dup/inner", "/dup/other") == {
        "/dup": at(2, 9), "/dup/inner": at(2, 9), "/dup/other": at(2, 19)}


def test_keys_with_escapes_are_compared_decoded() -> None:
    assert where('{"\\u0061": [0, "\\"]\\\\", 2]}', "/a/2") == {"/a/2": at(1, 25)}


def test_a_scalar_document_and_leading_space() -> None:
    assert where('\n\n   "text"  ', "", "/x") == {"": at(3, 4), "/x": at(3, 4)}


def test_text_that_is_not_json_gives_no_positions_rather_than_wrong_ones() -> None:
    assert locate('{"a": [1, 2', ["/a/1"]) == {}


def test_positions_order_by_offset() -> None:
    found = locate(TEXT, ["/status/state", "/id"])
    assert sorted(found, key=found.__getitem__) == ["/id", "/status/state"]
    assert found["/id"] == Position(offset=10, line=2, column=9)


# ---------------------------------------------------------------------------------------------- any document
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
    max_leaves=25,
)


def paths(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], Any]]:
    yield path, value
    if isinstance(value, dict):
        for key, item in value.items():
            yield from paths(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from paths(item, (*path, index))


@given(document=JSON, indent=st.sampled_from([None, 0, 2, "\t"]), ascii_only=st.booleans())
def test_every_value_of_any_document_is_found_where_it_starts(document: Any, indent: int | str | None,
                                                              ascii_only: bool) -> None:
    text = json.dumps(document, indent=indent, ensure_ascii=ascii_only)
    everything = dict(paths(document))
    found = locate(text, [pointer_of(path) for path in everything])
    decoder = json.JSONDecoder()
    lines = text.split("\n")
    for path, value in everything.items():
        position = found[pointer_of(path)]
        assert decoder.raw_decode(text, position.offset)[0] == value
        assert sum(len(line) + 1 for line in lines[: position.line - 1]) + position.column - 1 == position.offset
