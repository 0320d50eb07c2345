"""The mock's control plane: reset, clock, scenarios, faults and journal, in Python words.

The admin API, the Python API and the pytest plugin all go through here, so each control is written once. It
implements ``contracts.testing.control.MockControl`` in process. Mistakes raise ``ValueError`` (a bad time, a
malformed fault) or ``LookupError`` (an unknown scenario or profile) with a plain sentence.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

from contracts.errors import ContractError
from contracts.profiles import DEFAULT_ERA, ERAS
from contracts.scenario import Scenario, list_scenarios, resolve_scenario
from contracts.testing.control import Stage
from contracts.validation import Contract
from mockserver.domain.engine import Engine
from mockserver.domain.profiles import PROFILES, Profile, profile_named
from mockserver.web.faults import Fault, FaultError, Faults, parse_faults
from mockserver.web.journal import Journal
from mockserver.web.verdicts import Verdicts

__all__ = ["Control", "ScenarioNotFound"]


class ScenarioNotFound(LookupError):
    """An unknown scenario or profile; the message lists the known ones."""


class Cache(Protocol):
    """A memo of the request path that a reset empties."""

    def clear(self) -> None:
        """Forget everything."""


class Control:
    """Everything a test or a developer may do to a running mock besides calling the Jobs API."""

    def __init__(self, engine: Engine, *, faults: Faults, journal: Journal, contract: Contract,
                 scenario_dirs: Sequence[Path] = ()) -> None:
        self.engine = engine
        self.faults = faults
        self.journal = journal
        self.contract = contract
        #: The contract's verdicts on the journal's entries, for the page's traffic view.
        self.verdicts = Verdicts(contract)
        self.scenario_dirs = tuple(scenario_dirs)
        #: Memos of the request path (the web layer's), emptied by every reset.
        self.caches: list[Cache] = []
        self._parsed: dict[tuple[str, int, int], Scenario] = {}
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ MockControl
    def reset(self) -> None:
        """Forget every job and restart the current scenario (its faults too); the journal starts empty."""
        self.start(self.engine.scenario, self.engine.profile)

    def advance(self, ms: int) -> int:
        """Move the virtual clock forward by ``ms``; ``ValueError`` for a negative step or a wall clock."""
        return self.engine.advance(ms)

    def set_time(self, ms: int) -> int:
        """Move the virtual clock to ``ms``; ``ValueError`` for a time in the past or a wall clock."""
        return self.engine.set_time(ms)

    def now_ms(self) -> int:
        """The clock, after what fell due."""
        return self.engine.now()

    def stage(self) -> Stage:
        """The scenario, profile and era being played."""
        return Stage(self.engine.scenario.name, self.engine.profile.name, self.engine.profile.era)

    def load_scenario(self, name: str, profile: str | None = None, era: str | None = None, *,
                      allow_paths: bool = False) -> None:
        """Start a bundled or configured scenario by name (or by file path, where allowed: not over HTTP).

        ``profile`` and ``era`` replace the scenario's own; ``LookupError`` for an unknown one.
        """
        scenario = self.scenario(name, allow_paths=allow_paths)
        chosen = None
        if profile is not None or era is not None:
            chosen = self.profile(profile or scenario.profile, era or scenario.era)
        self.start(scenario, chosen)

    # ------------------------------------------------------------------ the rest
    def start(self, scenario: Scenario, profile: Profile | None = None) -> None:
        """Start ``scenario`` from the beginning (its own profile unless given); its faults replace the active.

        Everything the mock held is let go: the jobs, the journal, the memos of the request path; and the C
        heap's free memory is given back to the system, so that a reset brings the process back near its size
        when idle. A scenario whose faults are malformed raises ``ContractError`` and changes nothing.
        """
        faults = self.scenario_faults(scenario)
        self.engine.reset(scenario, profile)
        self.faults.replace(faults)
        self.journal.clear()
        for cache in self.caches:
            cache.clear()
        trim = _malloc_trim()
        if trim is not None:
            trim(0)

    def scenario(self, name: str, *, allow_paths: bool = False) -> Scenario:
        """A bundled or configured scenario by name, each file parsed once while it is unchanged.

        With ``allow_paths`` (the command line, the Python API) a file path is taken too.
        """
        known = list_scenarios(self.scenario_dirs)
        if allow_paths and name not in known:
            try:
                return resolve_scenario(name, self.scenario_dirs, allow_paths=True)
            except ContractError as error:
                raise ScenarioNotFound(str(error)) from None
        try:
            path = known[name]
            stat = path.stat()
        except (KeyError, OSError):
            raise ScenarioNotFound(f"unknown scenario {name!r}; known scenarios: {', '.join(sorted(known))}") \
                from None
        key = (str(path), stat.st_mtime_ns, stat.st_size)
        with self._lock:
            found = self._parsed.get(key)
        if found is None:
            found = resolve_scenario(name, self.scenario_dirs, allow_paths=False)
            with self._lock:
                self._parsed[key] = found
        return found

    @staticmethod
    def profile(name: str, era: str = DEFAULT_ERA) -> Profile:
        """A profile by name, in an era; ``ScenarioNotFound`` listing the known ones."""
        try:
            return profile_named(name, era)
        except ValueError as error:
            raise ScenarioNotFound(str(error)) from None

    def available(self) -> list[str]:
        """The scenarios that can be loaded by name."""
        return sorted(list_scenarios(self.scenario_dirs))

    @staticmethod
    def profiles() -> list[str]:
        """The profiles by name."""
        return sorted(PROFILES)

    @staticmethod
    def eras() -> list[str]:
        """The eras of the documentation."""
        return sorted(ERAS)

    def scenario_faults(self, scenario: Scenario) -> list[Fault]:
        """The faults a scenario sets; ``ContractError`` naming the scenario file and the fault if one is bad."""
        try:
            return parse_faults(list(scenario.faults), self.contract.spec.operations)
        except FaultError as error:
            raise ContractError(f"{scenario.source}: {error}") from None

    def set_faults(self, faults: Any) -> list[dict[str, Any]]:
        """Replace the active faults with these (their JSON form); ``FaultError`` (a ValueError) if malformed."""
        self.faults.replace(parse_faults(faults, self.contract.spec.operations))
        return self.faults.snapshot()

    def state(self) -> dict[str, Any]:
        """What the mock is doing, for people: scenario, profile, clock, jobs and requests served."""
        engine = self.engine
        script = engine.script
        following = script.next_step
        return {"scenario": engine.scenario.name, "profile": engine.profile.name, "era": engine.profile.era,
                "nowMs": engine.now(), "jobs": len(engine.store), "evicted": engine.evicted,
                "requests": engine.requests_seen,
                "script": {"played": script.cursor, "steps": len(engine.scenario.steps),
                           "next": None if following is None else following.call},
                "limits": {"maxJobs": engine.limits.max_jobs, "maxJobBytes": engine.limits.max_job_bytes,
                           "journalSize": self.journal.capacity, "journalBytes": self.journal.byte_limit}}


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    """glibc's ``malloc_trim``, which hands the heap's free pages back to the system; None without glibc."""
    import ctypes  # noqa: PLC0415 - only when the mock is reset

    try:
        trim: Callable[[int], int] = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):  # not glibc (macOS, Windows, musl)
        return None
    return trim
