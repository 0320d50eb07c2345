"""Browse and search: which jobs a page holds, in which order, filtered by the include flags.

Pages follow UCloud's PageV2: newest first unless sorted, the honoured page sizes of the spec (any other size
gives the default), an opaque ``next`` token that is the offset of the following page, and ``itemsToSkip``
added to it.
"""

from __future__ import annotations

import itertools
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from contracts.vocabulary import Vocabulary
from mockserver.domain.jobs import Job

__all__ = ["Page", "matches_query", "page_of", "passes_filters"]

Page = Mapping[str, Any]

_FAR = sys.maxsize // 2


def page_of(jobs: Iterable[Job], page: Page, vocabulary: Vocabulary) -> tuple[list[Job], int, str | None]:
    """The jobs of the requested page (``jobs`` come newest first), the page size, and the next token."""
    # JSON Schema's integers include 10.0: the page arithmetic needs int.
    size = page.get("itemsPerPage")
    size = int(size) if size in vocabulary.page_sizes else vocabulary.default_page_size
    skip = int(page.get("itemsToSkip") or 0)
    # Past the last job the page is empty, whatever the offset (itemsToSkip may be a Long's maximum, more than
    # islice takes).
    offset = min(_offset(page.get("next")) + skip, _FAR)
    if page.get("sortBy") == "name":
        ordered = sorted(jobs, key=lambda job: ((job.specification.get("name") or "").casefold(), job.id))
        if page.get("sortDirection") == "descending":
            ordered.reverse()
        selected = ordered[offset: offset + size + 1]
    else:
        selected = list(itertools.islice(_directed(jobs, page), offset, offset + size + 1))
    more = len(selected) > size
    return selected[:size], size, str(offset + size) if more else None


def _offset(token: Any) -> int:
    """Where a page starts: a token the mock did not issue starts at the beginning.

    So does UCloud: K24's ``ResourceStore.browse`` reads ``next?.toLongOrNull() ?: -1L`` (and its sorted browse
    ``next?.toIntOrNull() ?: 0``), so a stale or made-up token is not an error.
    """
    if isinstance(token, str) and token.isascii() and token.isdigit() and len(token) <= 18:
        return int(token)
    return 0


def _directed(jobs: Iterable[Job], page: Page) -> Iterator[Job]:
    if page.get("sortDirection") == "ascending":
        return iter(reversed(list(jobs)))
    return iter(jobs)


def matches_query(query: str) -> Callable[[Job], bool]:
    """jobs.search: whether a job's name, application name or id contains ``query``, ignoring case."""
    needle = query.casefold()

    def matches(job: Job) -> bool:
        spec = job.specification
        name = spec.get("name") or ""
        return (needle in name.casefold() or needle in spec["application"]["name"].casefold()
                or needle in job.id.casefold())

    return matches


def passes_filters(job: Job, flags: Mapping[str, Any]) -> bool:
    """Whether the job passes the filters of the include flags."""
    spec = job.specification
    product = spec["product"]
    checks: tuple[tuple[str, Callable[[Any], bool]], ...] = (
        ("filterState", lambda v: job.state == v),
        ("filterApplication", lambda v: spec["application"]["name"] == v),
        ("filterCreatedBy", lambda v: job.created_by == v),
        ("filterCreatedAfter", lambda v: job.created_at >= v),
        ("filterCreatedBefore", lambda v: job.created_at <= v),
        ("filterProvider", lambda v: product["provider"] == v),
        ("filterProductId", lambda v: product["id"] == v),
        ("filterProductCategory", lambda v: product["category"] == v),
        ("filterIds", lambda v: job.id in v.split(",")),
        ("filterProviderIds", lambda v: False),  # the mock's provider generates no ids of its own
        ("hideProductId", lambda v: product["id"] != v),
        ("hideProductCategory", lambda v: product["category"] != v),
        ("hideProvider", lambda v: product["provider"] != v),
    )
    return all(check(flags[name]) for name, check in checks if flags.get(name) is not None)
