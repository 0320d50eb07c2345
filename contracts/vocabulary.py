"""The API's names and limits as the spec states them: job states, which are final, bulk and page sizes.

Everything here is read from the OpenAPI document, so that the mock, the invariants and the strategies never
type a state or a limit again: change the spec and they follow.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from contracts.errors import ContractError
from contracts.spec import Spec, default_spec

__all__ = ["Vocabulary", "default_vocabulary"]


@dataclass(frozen=True)
class Vocabulary:
    """The enums and limits of one spec."""

    job_states: tuple[str, ...]
    final_states: frozenset[str]
    #: The states each state may move to in one step (``x-transitions`` of JobState).
    transitions: Mapping[str, frozenset[str]]
    max_updates: int
    max_bulk_items: int
    page_sizes: frozenset[int]
    default_page_size: int
    permissions: tuple[str, ...]
    long_max: int
    int_max: int

    @classmethod
    def of(cls, spec: Spec) -> Vocabulary:
        """Read the vocabulary of ``spec``; ``ContractError`` names what the spec lacks."""
        states = spec.schema("JobState")
        page = spec.schema("ItemsPerPage")
        return cls(
            job_states=tuple(_required(states, "enum", "JobState")),
            final_states=frozenset(_required(states, "x-final", "JobState")),
            transitions={state: frozenset(moves)
                         for state, moves in _required(states, "x-transitions", "JobState").items()},
            max_updates=int(_required(spec.schema("Job")["properties"]["updates"], "maxItems", "Job.updates")),
            max_bulk_items=int(_required(_items(spec, "BulkRequest_FindByStringId"), "maxItems",
                                         "BulkRequest_FindByStringId.items")),
            page_sizes=frozenset(_required(page, "x-honoured", "ItemsPerPage")),
            default_page_size=int(_required(page, "default", "ItemsPerPage")),
            permissions=tuple(_required(spec.schema("Permission"), "enum", "Permission")),
            long_max=int(_required(spec.schema("Long"), "maximum", "Long")),
            int_max=int(_required(spec.schema("Int"), "maximum", "Int")),
        )


def _items(spec: Spec, name: str) -> dict[str, Any]:
    items: dict[str, Any] = spec.schema(name)["properties"]["items"]
    return items


def _required(schema: dict[str, Any], key: str, where: str) -> Any:
    try:
        return schema[key]
    except KeyError:
        raise ContractError(f"the spec's {where} has no {key!r}; the mock and the invariants read it from there") \
            from None


@functools.cache
def default_vocabulary() -> Vocabulary:
    """The vocabulary of the bundled spec, read once."""
    return Vocabulary.of(default_spec())
