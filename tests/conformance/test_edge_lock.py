"""No request holds the engine's lock for work that grows with its input times the store (issue 10 §4).

A browse whose ``filterIds`` named many jobs split the list once per job, and sorted the workspace, and rendered
its page, all under the engine's lock, while every other request waited. Now the filters are prepared before the
lock (``filterIds`` a set), the workspace's job references are copied under it, and filtering, sorting
(``queries.page_of``) and rendering happen after it. Each test here runs over a real socket and looks at the lock
from another thread at the moment the work happens: a non-blocking acquire succeeds only when no request holds it.
No test measures time: ``benchmarks/bench_lock.py`` measures retrieve's p99 under the worst browse.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from mockserver.domain import queries
from mockserver.domain.engine import Engine
from tests.conformance.support import IO_TIMEOUT, Live, job_spec, live_server

THREAD_TIMEOUT = 30.0  # seconds; longer than IO_TIMEOUT, so that a retrieve stuck behind the lock fails first


def lock_is_free(engine: Engine) -> bool:
    """Whether another thread could take the engine's lock right now (nobody holds it)."""
    taken: list[bool] = []

    def attempt() -> None:
        got = engine.lock.acquire(blocking=False)
        taken.append(got)
        if got:
            engine.lock.release()

    prober = threading.Thread(target=attempt)
    prober.start()
    prober.join(timeout=THREAD_TIMEOUT)
    return taken == [True]


@pytest.fixture
def live() -> Iterator[Live]:
    with live_server(profile="ucloud", scenario="blank") as server:
        server.create(*[job_spec(name=f"job {n:03}") for n in range(30)])
        yield server


def _watch(monkeypatch: pytest.MonkeyPatch, live: Live) -> tuple[list[bool], list[bool]]:
    """Record whether the lock is free whenever a page is selected and whenever a job is rendered."""
    engine = live.app.engine
    selected: list[bool] = []
    rendered: list[bool] = []
    page_of = queries.page_of
    render = engine.profile.render

    def watched_page_of(*args: Any, **kwargs: Any) -> Any:
        selected.append(lock_is_free(engine))
        return page_of(*args, **kwargs)

    def watched_render(*args: Any, **kwargs: Any) -> Any:
        rendered.append(lock_is_free(engine))
        return render(*args, **kwargs)

    monkeypatch.setattr(queries, "page_of", watched_page_of)
    monkeypatch.setattr(engine.profile, "render", watched_render)
    return selected, rendered


@pytest.mark.parametrize(("method", "target", "body"), [
    ("GET", "/api/jobs/browse?itemsPerPage=100&sortBy=name&filterIds=" + ",".join(str(n) for n in range(5000)),
     None),
    ("GET", "/api/jobs/browse?itemsPerPage=100&sortDirection=ascending&includeUpdates=true", None),
    ("POST", "/api/jobs/search", {"query": "job", "itemsPerPage": 100, "sortBy": "name",
                                  "flags": {"filterIds": ",".join(str(n) for n in range(5000))}}),
])
def test_filtering_sorting_and_rendering_a_page_hold_no_lock(monkeypatch: pytest.MonkeyPatch, live: Live,
                                                             method: str, target: str, body: Any) -> None:
    selected, rendered = _watch(monkeypatch, live)
    answer = live.request(method, target, body)
    assert answer.status == 200, answer.body
    assert len(answer.json["items"]) == 30
    assert selected == [True]
    assert rendered == [True] * 30


def test_a_retrieve_is_answered_while_a_browse_is_sorting(monkeypatch: pytest.MonkeyPatch, live: Live) -> None:
    """The browse stops inside its selection until a retrieve on another connection has been answered."""
    sorting, retrieved = threading.Event(), threading.Event()
    page_of = queries.page_of
    waited: list[bool] = []

    def paused_page_of(*args: Any, **kwargs: Any) -> Any:
        sorting.set()
        waited.append(retrieved.wait(timeout=THREAD_TIMEOUT))  # reached only if the retrieve never came back
        return page_of(*args, **kwargs)

    monkeypatch.setattr(queries, "page_of", paused_page_of)
    browsed: list[int] = []
    browser = threading.Thread(target=lambda: browsed.append(
        live.request("GET", "/api/jobs/browse?sortBy=name&filterIds=" + ",".join(map(str, range(3000)))).status))
    browser.start()
    try:
        assert sorting.wait(timeout=IO_TIMEOUT)
        answer = live.request("GET", "/api/jobs/retrieve?id=1")  # times out after IO_TIMEOUT if it must wait
        assert answer.status == 200, answer.body
    finally:
        retrieved.set()
        browser.join(timeout=THREAD_TIMEOUT)
    assert (browsed, waited) == ([200], [True])


def _paused(what: Callable[..., Any], started: threading.Event, go_on: threading.Event) -> Callable[..., Any]:
    def paused(*args: Any, **kwargs: Any) -> Any:
        started.set()
        go_on.wait(timeout=THREAD_TIMEOUT)
        return what(*args, **kwargs)
    return paused


def test_a_job_is_not_rendered_under_the_lock_while_other_requests_change_the_store(
        monkeypatch: pytest.MonkeyPatch, live: Live) -> None:
    """While a browse renders its page, another client creates and terminates jobs; the page is the snapshot."""
    rendering, go_on = threading.Event(), threading.Event()
    engine = live.app.engine
    monkeypatch.setattr(engine.profile, "render", _paused(engine.profile.render, rendering, go_on))
    pages: list[Any] = []
    browser = threading.Thread(target=lambda: pages.append(live.request("GET", "/api/jobs/browse?itemsPerPage=100")))
    browser.start()
    try:
        assert rendering.wait(timeout=IO_TIMEOUT)
        monkeypatch.undo()  # the other requests render as usual
        created = live.create(job_spec(name="newer"))
        assert live.request("POST", "/api/jobs/terminate", {"items": [{"id": "1"}]}).status == 200
    finally:
        go_on.set()
        browser.join(timeout=THREAD_TIMEOUT)
    page = pages[0].json
    assert [job["id"] for job in page["items"]] == [str(n) for n in range(30, 0, -1)]
    assert created[0] not in {job["id"] for job in page["items"]}
    assert page["items"][-1]["status"]["state"] == "IN_QUEUE"  # as it stood when the page was taken
