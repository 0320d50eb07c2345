"""A scenario's script at run time: the clock reading for each request served, and what happens after it."""

from __future__ import annotations

from contracts.scenario import Scenario

__all__ = ["Script"]


class Script:
    """Counts the requests served and says where the clock stands for the next one.

    The k-th request is served at the k-th step's time (the clock never goes back); once the steps are used
    up, the clock holds, or moves by the scenario's tick per request.
    """

    def __init__(self, scenario: Scenario) -> None:
        self._scenario = scenario
        self.served = 0

    def next_request(self, now: int) -> int:
        """The clock reading at which the next request is served (``now`` or later); counts the request."""
        index = self.served
        self.served += 1
        scripted = self._scenario.step_time(index)
        if scripted is not None:
            return max(scripted, now)
        return now + self._scenario.tick_after_script_ms
