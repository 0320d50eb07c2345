"""The timeline's quick answers for the page agree with its whole, sorted list of what is to come.

``first`` walks the heap instead of sorting it and ``of`` reads a job's own entries instead of scanning every
job's; ``upcoming`` (a plain sort of every live entry) is the reference both are held to, whatever mix of
scripted events, rescheduled natural ones and events that fell due came before.
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from mockserver.domain.lifecycle import Expired, ProviderUpdate, Started
from mockserver.domain.timeline import Timeline

JOBS = ("1", "2", "3", "4")
TIMES = st.integers(min_value=0, max_value=50)
ACTIONS = st.lists(st.one_of(
    st.tuples(st.just("schedule"), st.sampled_from(JOBS), TIMES),
    st.tuples(st.just("track"), st.sampled_from(JOBS), TIMES),
    st.tuples(st.just("forget"), st.sampled_from(JOBS), TIMES),
    st.tuples(st.just("pop"), st.sampled_from(JOBS), TIMES),
), max_size=40)


def _played(actions: list[tuple[str, str, int]]) -> Timeline:
    timeline = Timeline()
    for action, job_id, at in actions:
        if action == "schedule":
            timeline.schedule(at, job_id, ProviderUpdate(status=f"at {at}"))
        elif action == "track":
            timeline.track(job_id, (at, Expired() if at % 2 else Started()))
        elif action == "forget":
            timeline.track(job_id, None)
        else:
            list(timeline.pop_due(at))
    return timeline


@given(ACTIONS, st.integers(min_value=0, max_value=12))
def test_the_first_events_are_the_head_of_the_sorted_list(actions: list[tuple[str, str, int]], limit: int) -> None:
    timeline = _played(actions)
    assert timeline.first(limit) == timeline.upcoming()[:limit]
    assert timeline.first(limit, lambda job_id: job_id != "2") == \
        [event for event in timeline.upcoming() if event[1] != "2"][:limit]


@given(ACTIONS)
def test_a_jobs_events_are_its_part_of_the_sorted_list(actions: list[tuple[str, str, int]]) -> None:
    timeline = _played(actions)
    for job_id in JOBS:
        assert timeline.of(job_id) == [(at, event) for at, owner, event in timeline.upcoming() if owner == job_id]


def test_an_event_that_fell_due_is_no_longer_to_come() -> None:
    timeline = Timeline()
    timeline.schedule(10, "1", ProviderUpdate(status="early"))
    timeline.schedule(30, "1", ProviderUpdate(status="late"))
    timeline.track("1", (20, Started()))
    assert [at for at, _ in timeline.of("1")] == [10, 20, 30]
    assert [at for at, _, _ in timeline.pop_due(20)] == [10, 20]
    assert timeline.of("1") == [(30, ProviderUpdate(status="late"))]
    timeline.track("1", (40, Expired()))
    timeline.track("1", (50, Expired()))  # rescheduled: the entry at 40 is superseded
    assert timeline.of("1") == [(30, ProviderUpdate(status="late")), (50, Expired())]
    assert timeline.first(5) == [(30, "1", ProviderUpdate(status="late")), (50, "1", Expired())]


def test_a_natural_event_rescheduled_back_to_an_earlier_time_is_to_come_once() -> None:
    timeline = Timeline()
    timeline.track("1", (10, Expired()))
    timeline.track("1", (20, Expired()))
    timeline.track("1", (10, Expired()))  # back to 10: a new entry, the first one at 10 stays superseded
    assert timeline.upcoming() == [(10, "1", Expired())]
    assert timeline.first(5) == [(10, "1", Expired())]
    assert [at for at, _, _ in timeline.pop_due(30)] == [10]
