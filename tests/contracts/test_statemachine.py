"""The invariants' state machine against the in-process mock, each invariant on hand-made jobs, and the transports.

The state machine must pass the mock in both profiles and must visit every rule (a machine that never reaches
a rule proves nothing about it). Each function of ``contracts.invariants`` is shown holding on a faithful
before/after pair and failing, under its exact invariant name, on a broken one. The two transports must agree
with each other on the seed's flow.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis.stateful import run_state_machine_as_test

from contracts.errors import ContractViolation
from contracts.scenario import resolve_scenario
from contracts.testing import invariants as inv
from contracts.testing.control import MockControl, Stage
from contracts.testing.statemachine import Target, build_state_machine
from contracts.testing.tally import Tally, TallyRow
from contracts.testing.transport import HttpTransport, Reply, Transport, WsgiTransport, mock_token, redactor
from contracts.testing.verify import run_state_machine
from contracts.validation import default_contract
from contracts.vocabulary import default_vocabulary
from mockserver.remote import HttpControl
from mockserver.server import HttpServer
from mockserver.web.app import MockApp, create_app

PROFILES = ["docs", "ucloud"]
VOCABULARY = default_vocabulary()
HOUR_MS = 3_600_000
T0 = 1633329776235

# The suite's Hypothesis profile (dev or ci) decides the database, the derandomisation and the printed blob;
# this module only bounds the size, so the whole file stays well under half a minute.
MACHINE = settings(max_examples=100, stateful_step_count=20, deadline=None,
                   suppress_health_check=[HealthCheck.too_slow])
# "Every rule was reached" must not depend on luck: with a dozen rules, some random runs of this size miss one.
# The coverage test runs the same derandomized examples every time (other tests explore).
COVERING = settings(MACHINE, max_examples=200, derandomize=True, database=None)
FIND_ONLY = (Phase.explicit, Phase.reuse, Phase.generate)


class CountingControl:
    """A mock's control that counts how often the clock was moved."""

    def __init__(self, inner: MockControl) -> None:
        self.inner = inner
        self.clock_moves = 0

    def reset(self) -> None:
        self.inner.reset()

    def advance(self, ms: int) -> int:
        self.clock_moves += 1
        return self.inner.advance(ms)

    def now_ms(self) -> int:
        return self.inner.now_ms()

    def stage(self) -> Stage:
        return self.inner.stage()

    def load_scenario(self, name: str, profile: str | None = None) -> None:
        self.inner.load_scenario(name, profile)


class CountingTransport:
    """A transport that notes which operations were called, by whom, and with what answer."""

    def __init__(self, inner: WsgiTransport) -> None:
        assert inner.control is not None
        self.inner = inner
        self.users = inner.users
        self.control = CountingControl(inner.control)
        self.seen: set[tuple[str, str, int]] = set()

    def call(self, operation_id: str, request: Any, *, user: str | None = None, project: str | None = None) -> Reply:
        reply = self.inner.call(operation_id, request, user=user, project=project)
        self.seen.add((operation_id, user or self.users[0], reply.status))
        return reply


def mock_app(profile: str, *, errors: list[MockApp] | None = None) -> MockApp:
    """The blank stage in ``profile``, checking its own answers against the contract."""
    app = create_app(scenario="blank", profile=profile, validate_responses=True)
    if errors is not None:
        errors.append(app)
    return app


def mock_transport(profile: str, errors: list[MockApp], **options: Any) -> WsgiTransport:
    """An in-process transport to ``mock_app(profile)``, with the mock's control."""
    app = mock_app(profile, errors=errors)
    return WsgiTransport(app, control=app.control, **options)


@pytest.fixture
def apps() -> Iterator[list[MockApp]]:
    """Apps built by a test; any server error inside one of them fails the test."""
    built: list[MockApp] = []
    yield built
    problems = [str(error) for app in built for error in app.take_errors()]
    assert not problems, "\n\n".join(problems)


# --------------------------------------------------------------------------- the state machine


@pytest.mark.parametrize("profile", PROFILES)
def test_the_state_machine_passes_the_mock(profile: str, apps: list[MockApp]) -> None:
    transport = CountingTransport(mock_transport(profile, apps))
    machine = build_state_machine(Target(transport, profile=profile, project="verify-project", member="other-user"))
    run_state_machine_as_test(machine, settings=COVERING)
    # Every rule was reached, with the answers it expects: the machine did not pass by doing nothing.
    owner, stranger = transport.users
    for operation in ("jobs.create", "jobs.retrieve", "jobs.browse", "jobs.extend", "jobs.terminate",
                      "jobs.suspend", "jobs.unsuspend", "jobs.openInteractiveSession", "jobs.retrieveProducts",
                      "jobs.retrieveUtilization", "jobs.updateAcl"):
        assert (operation, owner, 200) in transport.seen, operation
    assert ("jobs.openInteractiveSession", owner, 400) in transport.seen, "a session on a job not running"
    for operation in ("jobs.retrieve", "jobs.browse"):  # the member, with a grant and without
        assert (operation, stranger, 200) in transport.seen, f"{operation} as a member with READ"
    assert ("jobs.terminate", stranger, 404) in transport.seen, "terminate as a member with READ only"
    for operation in ("jobs.retrieve", "jobs.extend", "jobs.terminate"):
        assert (operation, stranger, 404) in transport.seen, f"{operation} as another user"
    for operation in ("jobs.extend", "jobs.terminate", "jobs.suspend"):
        assert (operation, owner, 404) in transport.seen, f"{operation} naming an unknown id"
    assert transport.control.clock_moves > 0


@pytest.mark.parametrize("profile", PROFILES)
def test_verify_runs_the_state_machine_on_the_mock_without_a_finding(profile: str, apps: list[MockApp]) -> None:
    target = Target(mock_transport(profile, apps), profile=profile)
    assert run_state_machine(target, examples=40) is None


@pytest.mark.parametrize(("mock_profile", "expected"), [
    ("ucloud", "extend: timeAllocation stays as it is (docs profile)"),
    ("docs", "extend: timeAllocation grows by the requested time (ucloud profile)"),
])
def test_the_machine_tells_the_profiles_apart(mock_profile: str, expected: str, apps: list[MockApp]) -> None:
    """Expecting the other profile fails: the profile-specific invariant is checked, in both directions.

    Found, not shrunk: that the shortest failing run is reported is test_verify's business, and shrinking
    costs far more time than finding.
    """
    other = "docs" if mock_profile == "ucloud" else "ucloud"
    machine = build_state_machine(Target(mock_transport(mock_profile, apps), profile=other))
    with pytest.raises(inv.InvariantViolation) as caught:
        run_state_machine_as_test(machine, settings=settings(MACHINE, phases=FIND_ONLY, print_blob=False))
    assert caught.value.invariant == expected


# --------------------------------------------------------------------------- hand-made jobs


def duration(hours: int = 0, minutes: int = 0, seconds: int = 0) -> dict[str, int]:
    return {"hours": hours, "minutes": minutes, "seconds": seconds}


def update(state: str | None, timestamp: int) -> dict[str, Any]:
    return {"state": state, "outputFolder": None, "status": None, "expectedState": None,
            "expectedDifferentState": None, "timestamp": timestamp}


def job(state: str = "RUNNING", *, expires: int | None = T0 + 5 * HOUR_MS,
        allocation: dict[str, int] | None = None, updates: list[dict[str, Any]] | None = None,
        job_id: str = "62348") -> dict[str, Any]:
    """A retrieved Job in the shape the contract gives it (only the fields the invariants read matter)."""
    return {
        "id": job_id,
        "owner": {"createdBy": "user", "project": None},
        "updates": updates if updates is not None else [update("IN_QUEUE", T0), update(state, T0 + 5_000)],
        "specification": {"application": {"name": "acme-web-application", "version": "1.0.0"},
                          "product": {"id": "example-compute", "category": "example-compute",
                                      "provider": "example"},
                          "timeAllocation": allocation if allocation is not None else duration(hours=5)},
        "status": {"state": state, "expiresAt": expires},
        "createdAt": T0,
    }


def changed(document: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A deep copy of ``document`` with the value at the slash-separated ``path`` replaced."""
    result = copy.deepcopy(document)
    *parents, last = path.split("/")
    target = result
    for key in parents:
        target = target[int(key)] if isinstance(target, list) else target[key]
    target[last] = value
    return result


def violation(check: Callable[[], None]) -> inv.InvariantViolation:
    with pytest.raises(inv.InvariantViolation) as caught:
        check()
    return caught.value


def test_duration_ms() -> None:
    assert inv.duration_ms(duration(hours=1, minutes=2, seconds=3)) == 3_723_000
    assert inv.duration_ms(duration()) == 0
    assert inv.duration_ms(None) is None


def test_an_invariant_violation_is_data_first_and_a_contract_violation() -> None:
    error = violation(lambda: inv.check_bulk_response("jobs.extend", [{"jobId": "1"}], {"responses": [{}, {}]}))
    assert isinstance(error, AssertionError)
    assert (error.invariant, error.job_id) == ("one response per item", None)
    [item] = error.violations
    assert (item.pointer, item.keyword, item.expected, item.actual) == ("/responses", "one response per item", "1",
                                                                         "2")
    assert str(error) == ("invariant 'one response per item' breaks the contract (1 violation):\n"
                          "  /responses: jobs.extend answered 200 but /responses has 2 entries for 1 item")


def test_bulk_one_response_per_item() -> None:
    inv.check_bulk_response("jobs.create", [{}, {}], {"responses": [{"id": "1"}, None]})
    inv.check_bulk_response("jobs.terminate", [{"id": "1"}], {"responses": [{}]})
    assert violation(lambda: inv.check_bulk_response("jobs.terminate", [{"id": "1"}, {"id": "2"}],
                                                     {"responses": [{}]})).invariant == "one response per item"
    missing = violation(lambda: inv.check_bulk_response("jobs.create", [{}], {}))
    assert missing.invariant == "one response per item"
    assert "/responses has no entries for 1 item" in str(missing)


def test_updates_timestamps_never_decrease() -> None:
    inv.check_updates(None, job(updates=[update("IN_QUEUE", T0), update("RUNNING", T0)]))  # equal is fine
    backwards = job(updates=[update("IN_QUEUE", T0), update("RUNNING", T0 - 1)])
    error = violation(lambda: inv.check_updates(None, backwards))
    assert (error.invariant, error.job_id) == ("update timestamps never decrease", "62348")
    assert error.violations[0].pointer == "/updates/1/timestamp"


def test_updates_the_newest_state_is_the_jobs_state() -> None:
    # An update without a state (a message only) does not count.
    inv.check_updates(None, job("RUNNING", updates=[update("RUNNING", T0), update(None, T0 + 1)]))
    inv.check_updates(None, job("IN_QUEUE", updates=[]))
    stale = job("SUCCESS", updates=[update("IN_QUEUE", T0), update("RUNNING", T0 + 5_000)])
    error = violation(lambda: inv.check_updates(None, stale))
    assert error.invariant == "the newest update's state is the job's state"
    assert (error.violations[0].expected, error.violations[0].actual) == ("RUNNING", "SUCCESS")


def test_updates_only_grow() -> None:
    before = job("RUNNING")
    grown = changed(job("SUCCESS"), "updates", [*before["updates"], update("SUCCESS", T0 + HOUR_MS)])
    inv.check_updates(before, grown)
    inv.check_updates(before, before)
    rewritten = changed(before, "updates/0/status", "a different message")
    assert violation(lambda: inv.check_updates(before, rewritten)).invariant == "updates only grow"
    shrunk = changed(before, "updates", before["updates"][1:])
    assert violation(lambda: inv.check_updates(before, shrunk)).invariant == "updates only grow"


def test_updates_may_drop_the_oldest_once_the_list_is_full() -> None:
    """UCloud keeps the newest 64 updates: past that, the oldest go and the list is no longer a prefix."""
    full = [update("RUNNING", T0 + n) for n in range(VOCABULARY.max_updates)]
    before = job("RUNNING", updates=full)
    after = job("RUNNING", updates=[*full[1:], update("RUNNING", T0 + VOCABULARY.max_updates)])
    inv.check_updates(before, after)


def test_final_states_never_change() -> None:
    for state in sorted(VOCABULARY.final_states):
        inv.check_final_unchanged(job(state), job(state))
    inv.check_final_unchanged(job("RUNNING"), job("SUSPENDED"))
    error = violation(lambda: inv.check_final_unchanged(job("EXPIRED"), job("RUNNING")))
    assert (error.invariant, error.job_id) == ("final states never change", "62348")
    assert (error.violations[0].expected, error.violations[0].actual) == ("EXPIRED", "RUNNING")


def test_unchanged_names_what_changed() -> None:
    inv.check_unchanged(job(), job(), "another user's request changes nothing")
    moved = changed(job(), "status/expiresAt", T0 + 6 * HOUR_MS)
    error = violation(lambda: inv.check_unchanged(job(), moved, "another user's request changes nothing"))
    assert error.invariant == "another user's request changes nothing"
    assert "the job changed (status differ)" in str(error)
    assert error.violations[0].pointer == "/status"


@pytest.mark.parametrize("profile", [*PROFILES, None])
def test_extend_moves_expires_at_by_exactly_the_request(profile: str | None) -> None:
    before = job("RUNNING", allocation=duration(hours=5))
    grown = duration(hours=5, minutes=30) if profile == "ucloud" else duration(hours=5)
    inv.check_extended(before, job("RUNNING", expires=T0 + 5 * HOUR_MS + 1_800_000, allocation=grown),
                       1_800_000, profile)
    twice = job("RUNNING", expires=T0 + 5 * HOUR_MS + 3_600_000, allocation=grown)
    error = violation(lambda: inv.check_extended(before, twice, 1_800_000, profile))
    assert error.invariant == "extend moves expiresAt by exactly the requested time"
    assert (error.violations[0].expected, error.violations[0].actual) == (str(T0 + 5 * HOUR_MS + 1_800_000),
                                                                          str(T0 + 5 * HOUR_MS + 3_600_000))


def test_extend_the_allocation_grows_in_the_ucloud_profile_and_stays_in_docs() -> None:
    before = job("RUNNING", allocation=duration(hours=5))
    expires = T0 + 6 * HOUR_MS
    six, five = job("RUNNING", expires=expires, allocation=duration(hours=6)), job("RUNNING", expires=expires)
    inv.check_extended(before, six, HOUR_MS, "ucloud")
    inv.check_extended(before, five, HOUR_MS, "docs")
    inv.check_extended(before, five, HOUR_MS, None)  # without a profile, only what both share is checked
    inv.check_extended(before, six, HOUR_MS, None)
    assert violation(lambda: inv.check_extended(before, five, HOUR_MS, "ucloud")).invariant == \
        "extend: timeAllocation grows by the requested time (ucloud profile)"
    assert violation(lambda: inv.check_extended(before, six, HOUR_MS, "docs")).invariant == \
        "extend: timeAllocation stays as it is (docs profile)"


def test_extend_leaves_a_job_without_allocation_or_an_ended_one_as_it_is() -> None:
    unlimited = changed(job("RUNNING", expires=None), "specification/timeAllocation", None)
    inv.check_extended(unlimited, unlimited, HOUR_MS, "ucloud")
    given_time = changed(unlimited, "status/expiresAt", T0 + HOUR_MS)
    error = violation(lambda: inv.check_extended(unlimited, given_time, HOUR_MS, "ucloud"))
    assert error.invariant == "extend leaves a job without allocation (or ended) as it is"

    ended = job("EXPIRED", expires=None)
    inv.check_extended(ended, ended, HOUR_MS, "ucloud")
    grown = changed(ended, "specification/timeAllocation", duration(hours=6))
    assert violation(lambda: inv.check_extended(ended, grown, HOUR_MS, "ucloud")).invariant == \
        "extend leaves a job without allocation (or ended) as it is"
    assert violation(lambda: inv.check_extended(ended, job("RUNNING"), HOUR_MS, "ucloud")).invariant == \
        "final states never change"


def test_terminate_ends_the_job() -> None:
    for state in ("IN_QUEUE", "RUNNING", "SUSPENDED"):
        inv.check_terminated(job(state), job("SUCCESS"), synchronous=True)
    for state in sorted(VOCABULARY.final_states):  # terminating a final job is harmless
        inv.check_terminated(job(state), job(state), synchronous=True)
    error = violation(lambda: inv.check_terminated(job("RUNNING"), job("RUNNING"), synchronous=True))
    assert (error.invariant, error.job_id) == ("terminate ends the job", "62348")
    # A user's cancellation ends in SUCCESS, not in another final state.
    assert violation(lambda: inv.check_terminated(job("RUNNING"), job("FAILURE"), synchronous=True)).invariant == \
        "terminate ends the job"
    assert violation(lambda: inv.check_terminated(job("SUCCESS"), job("RUNNING"), synchronous=True)).invariant == \
        "final states never change"


def test_terminate_on_a_live_provider_may_pass_through_canceling() -> None:
    inv.check_terminated(job("RUNNING"), job("CANCELING"), synchronous=False)
    inv.check_terminated(job("RUNNING"), job("FAILURE"), synchronous=False)
    assert violation(lambda: inv.check_terminated(job("FAILURE"), job("CANCELING"), synchronous=False)).invariant \
        == "final states never change"


@pytest.mark.parametrize(("check", "source", "target", "name"), [
    (inv.check_suspended, "RUNNING", "SUSPENDED", "suspend moves RUNNING to SUSPENDED"),
    (inv.check_unsuspended, "SUSPENDED", "RUNNING", "unsuspend moves SUSPENDED to RUNNING"),
])
def test_suspend_and_unsuspend(check: Callable[[dict[str, Any], dict[str, Any]], None], source: str, target: str,
                               name: str) -> None:
    check(job(source), job(target))
    check(job("IN_QUEUE"), job("IN_QUEUE"))  # any other state is left as it is
    check(job("SUCCESS"), job("SUCCESS"))
    error = violation(lambda: check(job(source), job(source)))
    assert (error.invariant, error.violations[0].expected, error.violations[0].actual) == (name, target, source)
    error = violation(lambda: check(job("IN_QUEUE"), job(target)))
    assert (error.invariant, error.violations[0].expected, error.violations[0].actual) == (name, "IN_QUEUE", target)
    assert violation(lambda: check(job("EXPIRED"), job(target))).invariant == "final states never change"


def test_unsuspend_past_the_deadline_runs_the_job_and_expires_it_at_once() -> None:
    """In the docs profile expiresAt stays put and only a running job expires: resumed late, a job expires."""
    deadline = T0 + HOUR_MS
    before = job("SUSPENDED", expires=deadline, updates=[update("RUNNING", T0), update("SUSPENDED", T0 + 1)])
    resumed = [*before["updates"], update("RUNNING", deadline + 5), update("EXPIRED", deadline + 5)]
    inv.check_unsuspended(before, job("EXPIRED", expires=None, updates=resumed))
    never_resumed = [*before["updates"], update("EXPIRED", deadline + 5)]
    assert violation(lambda: inv.check_unsuspended(before, job("EXPIRED", expires=None, updates=never_resumed))
                     ).invariant == "unsuspend moves SUSPENDED to RUNNING"
    early = [*before["updates"], update("RUNNING", deadline - 5), update("EXPIRED", deadline - 5)]
    assert violation(lambda: inv.check_unsuspended(before, job("EXPIRED", expires=None, updates=early))
                     ).invariant == "unsuspend moves SUSPENDED to RUNNING"
    unlimited = job("SUSPENDED", expires=None, updates=before["updates"])
    assert violation(lambda: inv.check_unsuspended(unlimited, job("EXPIRED", expires=None, updates=resumed))
                     ).invariant == "unsuspend moves SUSPENDED to RUNNING"


def test_ids_are_unique_across_runs_and_within_one_answer() -> None:
    inv.check_new_ids({"1", "2"}, [{"id": "3"}, None, {"id": "4"}])
    assert violation(lambda: inv.check_new_ids({"1"}, [{"id": "1"}])).invariant == "ids are unique"
    assert violation(lambda: inv.check_new_ids(set(), [{"id": "5"}, {"id": "5"}])).job_id == "5"


def test_created_at_is_never_after_the_clock() -> None:
    inv.check_created_at(job(), T0)
    error = violation(lambda: inv.check_created_at(job(), T0 - 1))
    assert (error.invariant, error.violations[0].expected, error.violations[0].actual) == (
        "createdAt is never after the clock", f"<= {T0 - 1}", str(T0))


def test_browse_shows_only_the_callers_jobs() -> None:
    mine, theirs = job(job_id="1"), changed(job(job_id="2"), "owner/createdBy", "someone-else")
    inv.check_browse_owner([mine, theirs], "user", {"1"})  # a job this run did not create is not judged
    error = violation(lambda: inv.check_browse_owner([mine, theirs], "user", {"1", "2"}))
    assert (error.invariant, error.job_id) == ("browse shows only the caller's jobs", "2")


def test_every_state_is_a_job_state() -> None:
    inv.check_state_known(job("SUSPENDED"))
    assert violation(lambda: inv.check_state_known(job("RUNNIN"))).invariant == "every state is a JobState"


def test_the_named_unchanged_checks() -> None:
    moved = changed(job(), "status/expiresAt", T0 + 6 * HOUR_MS)
    for check, name in [(inv.check_retrieves_agree, "two retrieves in a row are equal"),
                        (inv.check_foreign_request, "another user's request changes nothing"),
                        (inv.check_refused_bulk, "a bulk request naming an unknown id changes nothing")]:
        check(job(), job())
        assert violation(lambda check=check: check(job(), moved)).invariant == name
        assert inv.invariant_name(check) == name


def reply(status: int, body: Any, raw: bytes | None = None) -> Reply:
    return Reply(status, body, {}, raw if raw is not None else json.dumps(body).encode(), "GET /api/jobs/retrieve")


def test_the_contracts_checks_a_response_and_its_status() -> None:
    contract = default_contract()
    inv.check_response(contract, "jobs.retrieve", reply(404, {"why": "Unknown job", "errorCode": None}))
    with pytest.raises(ContractViolation, match=r"^GET /api/jobs/retrieve answered 502 breaks the contract"):
        inv.check_response(contract, "jobs.retrieve", reply(502, None, b"<html>Bad Gateway</html>"))
    inv.check_status(reply(404, {}), 404)
    with pytest.raises(ContractViolation) as caught:
        inv.check_status(reply(200, {"id": "1"}), 404, "step 2")
    assert str(caught.value) == ("step 2: GET /api/jobs/retrieve answered 200 breaks the contract (1 violation):\n"
                                 "  /: expected 404, got 200: {'id': '1'}")


def test_every_check_is_named_for_the_summary() -> None:
    checks = [name for name in inv.__all__ if name.startswith("check_") and name != "check_unchanged"]
    assert sorted(inv.invariant_name(getattr(inv, name)) for name in checks) == sorted(inv.invariant_names())
    assert len(set(inv.invariant_names())) == len(checks)
    with pytest.raises(KeyError):
        inv.invariant_name(inv.check_unchanged)  # it takes its name as an argument; the named ones wrap it


def test_the_tally_counts_each_check_and_its_failures() -> None:
    tally = Tally()
    tally(inv.check_final_unchanged, job("SUCCESS"), job("SUCCESS"))
    tally(inv.check_final_unchanged, job("RUNNING"), job("SUSPENDED"))
    with pytest.raises(inv.InvariantViolation):
        tally(inv.check_final_unchanged, job("EXPIRED"), job("RUNNING"))
    tally(inv.check_state_known, job())
    tally.counting = False
    with pytest.raises(inv.InvariantViolation):  # while not counting, the check still runs
        tally(inv.check_state_known, job("RUNNIN"))
    assert tally.rows() == [TallyRow("final states never change", 3, 2), TallyRow("every state is a JobState", 1, 1)]
    assert tally.rows()[0].failed == 1
    assert "final states never change" not in tally.unchecked()
    assert "ids are unique" in tally.unchecked()


@pytest.mark.parametrize(("profile", "state"), [("docs", "EXPIRED"), ("ucloud", "RUNNING")])
def test_the_sequence_the_state_machine_found(profile: str, state: str, apps: list[MockApp]) -> None:
    """Hypothesis's shrunk example: a 61 s job suspended at 60 s and resumed at 61 s, in each profile."""
    transport = mock_transport(profile, apps)
    [created] = transport.call("jobs.create", {"items": [job(allocation=duration(minutes=1, seconds=1))[
        "specification"]]}).body["responses"]
    retrieve = {"id": created["id"], "includeUpdates": True}
    assert transport.control is not None
    transport.control.advance(60_000)
    transport.call("jobs.suspend", {"items": [{"id": created["id"]}]})
    transport.control.advance(1_000)
    before = transport.call("jobs.retrieve", retrieve).body
    transport.call("jobs.unsuspend", {"items": [{"id": created["id"]}]})
    after = transport.call("jobs.retrieve", retrieve).body
    assert (before["status"]["state"], after["status"]["state"]) == ("SUSPENDED", state)
    inv.check_unsuspended(before, after)


# --------------------------------------------------------------------------- the transports


def not_the_mock(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
    """A plain WSGI app with no admin API: every path is 404."""
    body = json.dumps({"why": "Not Found", "errorCode": None}).encode()
    start_response("404 Not Found", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]


@pytest.fixture
def serve() -> Iterator[Callable[[Any], str]]:
    """Serve WSGI apps on sockets (port 0) and give their URLs; stop them afterwards."""
    servers: list[HttpServer] = []

    def start(app: Any) -> str:
        servers.append(HttpServer(app, "127.0.0.1", 0).start())
        return servers[-1].url

    yield start
    for server in servers:
        server.stop()


def replay(transport: Transport, steps: Iterable[Any]) -> list[Reply]:
    created: list[str] = []
    replies = []
    for step in steps:
        reply = transport.call(step.call, step.bind(created))
        if step.call == "jobs.create":
            created += [entry["id"] for entry in reply.body["responses"]]
        replies.append(reply)
    return replies


def test_wsgi_and_http_transports_give_the_same_replies_for_the_seed(serve: Callable[[Any], str],
                                                                      apps: list[MockApp]) -> None:
    seed = resolve_scenario("extend-and-terminate")
    in_process = WsgiTransport(create_app(scenario=seed))
    app = create_app(scenario=seed)
    apps.append(app)
    url = serve(app)
    over_http = HttpTransport(url, {"user": mock_token("user")})
    try:
        wsgi_replies, http_replies = replay(in_process, seed.steps), replay(over_http, seed.steps)
    finally:
        over_http.close()
    assert len(wsgi_replies) == len(seed.steps) == 6
    for step, by_wsgi, by_http in zip(seed.steps, wsgi_replies, http_replies, strict=True):
        assert (by_http.status, by_http.body, by_http.raw) == (by_wsgi.status, by_wsgi.body, by_wsgi.raw), step.note
        assert by_http.request_line == by_wsgi.request_line
        assert by_http.curl == by_wsgi.curl.replace("http://ucloud.invalid", url)
        assert by_http.headers["Content-Type"] == by_wsgi.headers["Content-Type"] == "application/json; charset=utf-8"
    # The replies are the documented flow's, not merely equal to each other.
    assert wsgi_replies[0].body == {"responses": [{"id": "62348"}]}
    assert [reply.body["status"]["state"] for reply in wsgi_replies[1::2]] == ["RUNNING", "RUNNING", "SUCCESS"]
    assert wsgi_replies[3].body["status"]["expiresAt"] - wsgi_replies[1].body["status"]["expiresAt"] == HOUR_MS


def test_a_mock_token_is_taken_as_its_user(apps: list[MockApp]) -> None:
    app = mock_app("docs", errors=apps)
    transport = WsgiTransport(app, users=("alice", "bob"))
    assert transport.tokens == {"alice": mock_token("alice"), "bob": mock_token("bob")}
    job_id = transport.call("jobs.create", {"items": [job()["specification"]]}).body["responses"][0]["id"]
    mine = transport.call("jobs.retrieve", {"id": job_id}, user="alice")
    assert (mine.status, mine.body["owner"]["createdBy"]) == (200, "alice")
    assert transport.call("jobs.retrieve", {"id": job_id}, user="bob").status == 404
    assert [entry["user"] for entry in app.journal.snapshot()["entries"]] == ["alice", "alice", "bob"]


def test_a_control_is_found_only_where_the_target_is_a_mock(serve: Callable[[Any], str],
                                                           apps: list[MockApp]) -> None:
    assert HttpControl.probe(serve(not_the_mock)) is None
    url = serve(mock_app("docs", errors=apps))
    control = HttpControl.probe(url)
    assert control is not None
    assert control.now_ms() == T0
    assert control.advance(5_000) == T0 + 5_000
    assert control.stage() == Stage("blank", "docs")
    control.load_scenario("extend-and-terminate", "ucloud")
    assert control.stage() == Stage("extend-and-terminate", "ucloud")
    with pytest.raises(LookupError, match="unknown scenario 'nope'"):
        control.load_scenario("nope")
    control.reset()
    assert control.now_ms() == T0


def test_http_transport_refuses_what_it_cannot_use() -> None:
    with pytest.raises(ValueError, match="is not an http"):
        HttpTransport("ftp://example.org", {"user": "t"})
    with pytest.raises(ValueError, match="at least one user's token"):
        HttpTransport("http://127.0.0.1:9", {})


def test_curl_lines_read_each_users_token_from_the_environment() -> None:
    transport = WsgiTransport(create_app(), tokens={"user": "first-secret-token", "other": "second-secret-token"})
    reply = transport.call("jobs.retrieve", {"id": "1"}, user="other")
    assert reply.curl == ("curl -X GET -H \"Authorization: Bearer $UCLOUD_SECOND_TOKEN\" "
                          "'http://ucloud.invalid/api/jobs/retrieve?id=1'")
    assert "secret" not in transport.call("jobs.create", {"items": []}).curl


def test_the_redactor_replaces_each_token_by_its_variable() -> None:
    redact = redactor({"UCLOUD_TOKEN": "abcdefgh-1", "UCLOUD_SECOND_TOKEN": "abcdefgh-12", "UNSET": None})
    assert redact("Bearer abcdefgh-12 and Bearer abcdefgh-1.") == \
        "Bearer $UCLOUD_SECOND_TOKEN and Bearer $UCLOUD_TOKEN."  # the longer first: one is a prefix of the other
    assert redactor({"UCLOUD_TOKEN": "T"})("Terminate") == "Terminate"  # too short to tell from text
