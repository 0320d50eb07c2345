"""Browse and search: which jobs a page holds, in which order, filtered by the include flags.

Pages follow UCloud's PageV2: newest first unless sorted, the honoured page sizes of the spec (any other size
gives the default), an opaque ``next`` token that is the offset of the following page, and ``itemsToSkip``
added to it.
"""

from __future__ import annotations

import itertools
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from contracts.vocabulary import Vocabulary
from mockserver.domain.jobs import Job

__all__ = ["Filters", "Page", "matches_query", "page_of"]

Page = Mapping[str, Any]

_FAR = sys.maxsize // 2


def page_of(jobs: Sequence[Job], keep: Callable[[Job], bool], page: Page,
            vocabulary: Vocabulary) -> tuple[list[Job], int, str | None]:
    """The jobs of the requested page among ``jobs`` (oldest first) that ``keep`` keeps, the page size, and the
    next token.

    The engine calls this on a snapshot of a workspace, outside its lock: filtering and sorting take time in
    proportion to the workspace (and, for sorting, its logarithm), and no other request waits for them.
    """
    # JSON Schema's integers include 10.0: the page arithmetic needs int.
    size = page.get("itemsPerPage")
    size = int(size) if size in vocabulary.page_sizes else vocabulary.default_page_size
    skip = int(page.get("itemsToSkip") or 0)
    # Past the last job the page is empty, whatever the offset (itemsToSkip may be a Long's maximum, more than
    # islice takes).
    offset = min(_offset(page.get("next")) + skip, _FAR)
    ascending = page.get("sortDirection") == "ascending"
    if page.get("sortBy") == "name":
        ordered = sorted(filter(keep, reversed(jobs)), key=_by_name)
        if page.get("sortDirection") == "descending":
            ordered.reverse()
        selected = ordered[offset: offset + size + 1]
    else:
        kept = filter(keep, jobs if ascending else reversed(jobs))
        selected = list(itertools.islice(kept, offset, offset + size + 1))
    more = len(selected) > size
    return selected[:size], size, str(offset + size) if more else None


def _by_name(job: Job) -> tuple[str, str]:
    return ((job.specification.get("name") or "").casefold(), job.id)


def _offset(token: Any) -> int:
    """Where a page starts: a token the mock did not issue starts at the beginning.

    So does UCloud: K24's ``ResourceStore.browse`` reads ``next?.toLongOrNull() ?: -1L`` (and its sorted browse
    ``next?.toIntOrNull() ?: 0``), so a stale or made-up token is not an error.
    """
    if isinstance(token, str) and token.isascii() and token.isdigit() and len(token) <= 18:
        return int(token)
    return 0


def matches_query(query: str) -> Callable[[Job], bool]:
    """jobs.search: whether a job's name, application name or id contains ``query``, ignoring case."""
    needle = query.casefold()

    def matches(job: Job) -> bool:
        spec = job.specification
        name = spec.get("name") or ""
        return (needle in name.casefold() or needle in spec["application"]["name"].casefold()
                or needle in job.id.casefold())

    return matches


class Filters:
    """The filters of the include flags, prepared once per request: ``filterIds`` becomes a set, so that each
    job is checked in constant time however long the list is."""

    def __init__(self, flags: Mapping[str, Any]) -> None:
        self._checks = [_check(name, value) for name, value in flags.items()
                        if (name in _CHECKS or name == "filterIds") and value is not None]

    def __call__(self, job: Job) -> bool:
        """Whether the job passes every filter."""
        return all(check(job) for check in self._checks)


def _check(name: str, value: Any) -> Callable[[Job], bool]:
    if name == "filterIds":
        ids = frozenset(str(value).split(","))
        return lambda job: job.id in ids
    test = _CHECKS[name]
    return lambda job: test(job, value)


def _product(job: Job) -> Mapping[str, Any]:
    return job.product


_CHECKS: dict[str, Callable[[Job, Any], bool]] = {
    "filterState": lambda job, v: job.state == v,
    "filterApplication": lambda job, v: job.specification["application"]["name"] == v,
    "filterCreatedBy": lambda job, v: job.created_by == v,
    "filterCreatedAfter": lambda job, v: job.created_at >= v,
    "filterCreatedBefore": lambda job, v: job.created_at <= v,
    "filterProvider": lambda job, v: _product(job)["provider"] == v,
    "filterProductId": lambda job, v: _product(job)["id"] == v,
    "filterProductCategory": lambda job, v: _product(job)["category"] == v,
    "filterProviderIds": lambda job, v: False,  # the mock's provider generates no ids of its own
    "hideProductId": lambda job, v: _product(job)["id"] != v,
    "hideProductCategory": lambda job, v: _product(job)["category"] != v,
    "hideProvider": lambda job, v: _product(job)["provider"] != v,
}
