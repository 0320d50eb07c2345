"""browse and search (REFERENCE.md §1 PageV2, §4.6): order, page sizes, the next token, filters, sorting, search.

Expected pages are computed here, from the jobs the test created and the documented rules.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from tests.mockserver.support import QUEUE_DELAY_MS, SECOND_MS, T0, ApiClient, AppFactory, job_spec, world

HONOURED = [10, 25, 50, 100, 250, 1000]
DEFAULT_SIZE = 50


@dataclass(frozen=True)
class Made:
    """A job the test created, with what the filters look at."""

    id: str
    name: str | None
    application: str
    product: dict[str, str]
    created_at: int
    state: str


def _product(provider: str, category: str, product_id: str) -> dict[str, str]:
    return {"id": product_id, "category": category, "provider": provider}


@pytest.fixture
def catalogue(make_app: AppFactory) -> tuple[ApiClient, list[Made]]:
    """Twelve jobs of three applications on three products, created a second apart; some suspended or ended."""
    products = [_product("example", "cpu", "cpu-1"), _product("example", "gpu", "gpu-1"),
                _product("other", "cpu", "cpu-x")]
    client = ApiClient(make_app(profile="ucloud", scenario=world(*products)))
    apps = ["Alpha-Sim", "beta-render", "gamma"]
    names = ["Run One", None, "render frames", "run two", "LAST run", "sweep (3)"]
    made = []
    for index in range(12):
        spec = job_spec(name=names[index % len(names)],
                        application={"name": apps[index % 3], "version": "1"}, product=products[(index // 3) % 3])
        created_at = client.now()
        made.append(Made(client.create_job(**spec), spec["name"], apps[index % 3], spec["product"], created_at,
                         "IN_QUEUE"))
        client.advance(SECOND_MS)
    client.advance(QUEUE_DELAY_MS)  # every job is running now
    suspended, ended = [made[1].id, made[4].id], [made[7].id]
    client.act("suspend", *suspended)
    client.act("terminate", *ended)
    state = {**dict.fromkeys(suspended, "SUSPENDED"), **dict.fromkeys(ended, "SUCCESS")}
    return client, [Made(**{**m.__dict__, "state": state.get(m.id, "RUNNING")}) for m in made]


def ids(page: dict[str, Any]) -> list[str]:
    return [job["id"] for job in page["items"]]


def newest_first(made: list[Made], keep: Callable[[Made], bool] = lambda m: True) -> list[str]:
    return [m.id for m in reversed(made) if keep(m)]


def test_browse_is_newest_first(catalogue: tuple[ApiClient, list[Made]]) -> None:
    client, made = catalogue
    page = client.browse()
    assert ids(page) == newest_first(made)
    assert page["next"] is None


def test_browse_ascending_reverses_the_order(catalogue: tuple[ApiClient, list[Made]]) -> None:
    client, made = catalogue
    assert ids(client.browse(sortDirection="ascending")) == [m.id for m in made]


@pytest.fixture
def crowd(make_app: AppFactory) -> tuple[ApiClient, list[str]]:
    """1,100 jobs, oldest first."""
    client = ApiClient(make_app())
    created = client.create(*[job_spec()] * 1000) + client.create(*[job_spec()] * 100)
    return client, created


@pytest.mark.parametrize(("asked", "size"), [*((n, n) for n in HONOURED),
                                             *((n, DEFAULT_SIZE) for n in (1, 7, 0, -1, 20, 99, 999, 1001, 2**31 - 1)),
                                             (None, DEFAULT_SIZE)])
def test_items_per_page_honours_the_documented_sizes_and_gives_50_otherwise(
        crowd: tuple[ApiClient, list[str]], asked: int | None, size: int) -> None:
    client, created = crowd
    page = client.browse(itemsPerPage=asked)
    assert page["itemsPerPage"] == size
    assert ids(page) == created[::-1][:size]
    assert page["next"] is not None  # 1,100 jobs fill more than one page of any size


@pytest.mark.parametrize("size", [10, 25, 1000])
def test_the_next_token_walks_every_job_exactly_once(crowd: tuple[ApiClient, list[str]], size: int) -> None:
    client, created = crowd
    seen: list[str] = []
    pages = 0
    token = None
    while True:
        page = client.browse(itemsPerPage=size, next=token)
        pages += 1
        seen += ids(page)
        token = page["next"]
        if token is None:
            break
        assert len(page["items"]) == size
    assert seen == created[::-1]
    assert pages == math.ceil(len(created) / size)


def test_a_page_that_ends_exactly_at_the_last_job_has_no_next(make_app: AppFactory) -> None:
    client = ApiClient(make_app())
    created = client.create(*[job_spec()] * 20)
    first = client.browse(itemsPerPage=10)
    second = client.browse(itemsPerPage=10, next=first["next"])
    assert ids(first) + ids(second) == created[::-1]
    assert second["next"] is None


def test_items_to_skip_starts_the_page_later(catalogue: tuple[ApiClient, list[Made]]) -> None:
    client, made = catalogue
    assert ids(client.browse(itemsToSkip=5)) == newest_first(made)[5:]


def test_search_pages_walk_the_matches_exactly_once(catalogue: tuple[ApiClient, list[Made]]) -> None:
    client, made = catalogue
    seen: list[str] = []
    body: dict[str, Any] = {"query": "run", "flags": {}, "itemsPerPage": 10}
    while True:
        page = client.post("/api/jobs/search", body).json
        seen += ids(page)
        if page["next"] is None:
            break
        body["next"] = page["next"]
    assert seen == newest_first(made, lambda m: "run" in (m.name or "").lower())


FILTERS: dict[str, tuple[dict[str, Any], Callable[[Made], bool]]] = {
    "filterState": ({"filterState": "SUSPENDED"}, lambda m: m.state == "SUSPENDED"),
    "filterState lower case": ({"filterState": "running"}, lambda m: m.state == "RUNNING"),
    "filterApplication": ({"filterApplication": "gamma"}, lambda m: m.application == "gamma"),
    "filterApplication is exact": ({"filterApplication": "Gamma"}, lambda m: False),
    "filterIds": ({"filterIds": "62349,62355,999"}, lambda m: m.id in {"62349", "62355"}),
    "filterCreatedBy": ({"filterCreatedBy": "user"}, lambda m: True),
    "filterCreatedBy someone else": ({"filterCreatedBy": "alice"}, lambda m: False),
    "filterCreatedAfter": ({"filterCreatedAfter": T0 + 4 * SECOND_MS}, lambda m: m.created_at >= T0 + 4 * SECOND_MS),
    "filterCreatedBefore": ({"filterCreatedBefore": T0 + 4 * SECOND_MS},
                            lambda m: m.created_at <= T0 + 4 * SECOND_MS),
    "filterProvider": ({"filterProvider": "other"}, lambda m: m.product["provider"] == "other"),
    "filterProductId": ({"filterProductId": "gpu-1"}, lambda m: m.product["id"] == "gpu-1"),
    "filterProductCategory": ({"filterProductCategory": "cpu"}, lambda m: m.product["category"] == "cpu"),
    "hideProductId": ({"hideProductId": "gpu-1"}, lambda m: m.product["id"] != "gpu-1"),
    "hideProductCategory": ({"hideProductCategory": "cpu"}, lambda m: m.product["category"] != "cpu"),
    "hideProvider": ({"hideProvider": "example"}, lambda m: m.product["provider"] != "example"),
    "two filters": ({"filterApplication": "Alpha-Sim", "filterState": "RUNNING"},
                    lambda m: m.application == "Alpha-Sim" and m.state == "RUNNING"),
}


@pytest.mark.parametrize(("params", "keep"), FILTERS.values(), ids=FILTERS.keys())
def test_browse_filters(catalogue: tuple[ApiClient, list[Made]], params: dict[str, Any],
                        keep: Callable[[Made], bool]) -> None:
    client, made = catalogue
    assert ids(client.browse(**params)) == newest_first(made, keep)


@pytest.mark.parametrize(("params", "keep"), FILTERS.values(), ids=FILTERS.keys())
def test_search_applies_the_same_filters_from_its_nested_flags(catalogue: tuple[ApiClient, list[Made]],
                                                               params: dict[str, Any],
                                                               keep: Callable[[Made], bool]) -> None:
    client, made = catalogue
    flags = {name: value.upper() if name == "filterState" else value for name, value in params.items()}
    page = client.post("/api/jobs/search", {"query": "", "flags": flags}).json
    assert ids(page) == newest_first(made, keep)


def test_browse_sorts_by_name(make_app: AppFactory) -> None:
    client = ApiClient(make_app())
    names = ["delta", "alpha", "echo", "charlie", "bravo"]
    by_name = {name: client.create_job(name=name) for name in names}
    ascending = [by_name[name] for name in sorted(names)]
    assert ids(client.browse(sortBy="name")) == ascending
    assert ids(client.browse(sortBy="name", sortDirection="descending")) == ascending[::-1]
    first = client.browse(sortBy="name", itemsPerPage=10)
    assert first["next"] is None
    assert ids(first) == ascending


def _matches(query: str, m: Made) -> bool:
    needle = query.casefold()
    return any(needle in text.casefold() for text in (m.name or "", m.application, m.id))


@pytest.mark.parametrize("query", ["run", "RUN", "Alpha", "ALPHA-sim", "render", "62350", "6235", "(3)", "", "zzz",
                                   "sim", "beta-render"])
def test_search_matches_name_application_or_id_ignoring_case(catalogue: tuple[ApiClient, list[Made]],
                                                             query: str) -> None:
    client, made = catalogue
    page = client.post("/api/jobs/search", {"query": query, "flags": {}}).json
    assert ids(page) == newest_first(made, lambda m: _matches(query, m))


def test_search_takes_its_flags_nested_in_the_body(catalogue: tuple[ApiClient, list[Made]]) -> None:
    client, _ = catalogue
    nested = client.post("/api/jobs/search", {"query": "gamma", "flags": {"includeUpdates": True}}).json
    assert nested["items"]
    assert all(job["updates"] for job in nested["items"])
    flat = client.post("/api/jobs/search", {"query": "gamma", "flags": {}, "includeUpdates": True,
                                            "filterState": "SUSPENDED"}).json
    assert ids(flat) == ids(nested)  # top-level flags are unknown keys of the search body: ignored
    assert all(job["updates"] == [] for job in flat["items"])


def test_browse_takes_its_flags_flattened_in_the_query(catalogue: tuple[ApiClient, list[Made]]) -> None:
    client, _ = catalogue
    page = client.get("/api/jobs/browse?includeUpdates=true&flags.filterState=SUSPENDED").json
    assert len(page["items"]) == 12
    assert all(job["updates"] for job in page["items"])
