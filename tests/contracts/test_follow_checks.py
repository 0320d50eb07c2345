"""The checks verify makes of a jobs.follow stream, each shown to fail on the stream that breaks it, and the
follow phase run on the mock in process (a transport with the mock's own streams)."""

from __future__ import annotations

from typing import Any

import pytest

from contracts.errors import ContractViolation
from contracts.testing import invariants as inv
from contracts.testing.stream_checks import check_stream
from contracts.testing.tally import Tally
from contracts.testing.transport import WsgiTransport
from contracts.testing.verify import follow_phase
from contracts.validation import default_contract
from mockserver.web.app import create_app

STATUS = {"state": "IN_QUEUE", "jobParametersJson": None, "startedAt": None, "expiresAt": None,
          "resolvedApplication": None, "resolvedSupport": None, "resolvedProduct": None}
UPDATE = {"state": "RUNNING", "outputFolder": None, "status": "running", "expectedState": None,
          "expectedDifferentState": None, "timestamp": 5}


def message(state: str, *updates: dict[str, Any], log: list[Any] | None = None) -> dict[str, Any]:
    return {"type": "message", "streamId": "0",
            "payload": {"updates": list(updates), "log": log or [], "newStatus": {**STATUS, "state": state}}}


END = {"type": "response", "streamId": "0", "payload": {}, "status": 200}
GOOD = [message("IN_QUEUE"), message("RUNNING", UPDATE), message("SUCCESS", {**UPDATE, "state": "SUCCESS"}), END]


def test_a_good_stream_passes_every_check() -> None:
    tally = Tally()
    check_stream(GOOD, default_contract(), tally)
    assert tally.checked[inv.invariant_name(inv.check_frame)] == 4
    assert not tally.failed


@pytest.mark.parametrize(("frames", "check"), [
    pytest.param([message("IN_QUEUE", UPDATE), *GOOD[1:]], inv.check_follow_first, id="history-re-sent"),
    pytest.param([GOOD[0], message("SUCCESS"), message("RUNNING"), END], inv.check_follow_forward,
                 id="out-of-a-final-state"),
    pytest.param([GOOD[0], message("RUNNING", UPDATE), message("IN_QUEUE"), END], inv.check_follow_forward,
                 id="back-to-the-queue"),
    pytest.param([GOOD[0], GOOD[1], message("RUNNING", UPDATE), GOOD[2], END], inv.check_follow_updates_once,
                 id="an-update-twice"),
    pytest.param([GOOD[0], GOOD[1], END], inv.check_follow_end, id="ended-while-running"),
    pytest.param([*GOOD, message("SUCCESS")], inv.check_follow_end, id="a-frame-after-the-end"),
    pytest.param([GOOD[0], {"type": "message", "streamId": "0", "payload": {"log": [{"rank": "0"}]}}, END],
                 inv.check_frame, id="a-frame-the-contract-refuses"),
])
def test_each_check_fails_on_the_stream_that_breaks_it(frames: list[dict[str, Any]], check: Any) -> None:
    tally = Tally()
    with pytest.raises(ContractViolation):
        check_stream(frames, default_contract(), tally)
    assert dict(tally.failed) == {inv.invariant_name(check): 1}


@pytest.mark.parametrize("profile", ["docs", "ucloud"])
def test_the_follow_phase_passes_the_mock(profile: str) -> None:
    app = create_app(scenario="blank", profile=profile)
    transport = WsgiTransport(app, control=app.control,
                              follower=lambda job_id, user, project: app.follow(job_id, user=user, project=project))
    tally = Tally()
    assert follow_phase(transport, tally=tally) is None
    assert tally.checked[inv.invariant_name(inv.check_follow_end)] == 1
    assert not tally.failed


def test_the_follow_phase_finds_a_stream_that_never_ends() -> None:
    app = create_app(scenario="blank")

    def stuck(job_id: str, user: str, project: str | None) -> Any:
        return iter([next(app.follow(job_id, user=user, project=project))])  # the first message, then nothing

    transport = WsgiTransport(app, control=app.control, follower=stuck)
    finding = follow_phase(transport, wait=0.01)
    assert finding is not None
    assert "the stream did not end" in finding.problem
    assert len(finding.curl) == 2  # the create and the terminate reproduce it
