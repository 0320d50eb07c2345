"""Does a recording hold? Replay it on the mock, in process, and say where its answers differ from the recorded.

The recorder infers a scenario from what it saw; this plays that scenario's calls against the mock that
``ucloud-jobs serve --scenario FILE`` would run, and lists each answer that is not JSON-equal to the
upstream's: what the scenario format could not hold.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from contracts.errors import ContractError
from contracts.proxy.diff import differences
from contracts.proxy.histories import Call
from contracts.scenario import Scenario
from contracts.testing.transport import WsgiTransport
from mockserver.web.app import create_app

__all__ = ["replay_differences"]

_SHOWN = 20  # calls whose differences are listed; the rest are counted


def replay_differences(document: Mapping[str, Any], calls: Sequence[Call]) -> list[str]:
    """Each recorded call whose replayed answer differs from the upstream's, with the differing keys."""
    try:
        scenario = Scenario.from_mapping(dict(document), source="the recording")
    except ContractError as error:
        return [f"the recording is not a valid scenario: {error}"]
    users = tuple(dict.fromkeys([str(document.get("user", "user")),
                                 *(call.user for call in calls if call.user)]))
    transport = WsgiTransport(create_app(scenario=scenario), users=users)
    found: list[str] = []
    differing = 0
    for index, call in enumerate(calls):
        if call.request is None and transport.spec.operation(call.call).method == "POST":
            continue  # a body that broke the contract was listed already; the replay cannot send it as it was
        reply = transport.call(call.call, call.request, user=call.user or users[0], project=call.project)
        problems = [f"status {reply.status}, recorded {call.status}"] if reply.status != call.status else []
        problems += differences(call.response, reply.body, limit=5)
        if problems:
            differing += 1
            if differing <= _SHOWN:
                found.append(f"call {index + 1} ({call.call}) replays differently: " + "; ".join(problems))
    if differing > _SHOWN:
        found.append(f"... and {differing - _SHOWN} more calls replay differently")
    return found
