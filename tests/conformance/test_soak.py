"""The soak's audit, short: a few seconds at 10 connections, 0 errors and 0 lost updates (issue 5 §3).

benchmarks/soak.py is the real thing (60 s at 50 connections, with RSS), run by hand; this runs the same code
against the same ``python -m mockserver serve`` subprocess on loopback, bounded in time and in requests. Memory
figures belong to the benchmark, not here.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

SOAK_PATH = Path(__file__).resolve().parents[2] / "benchmarks" / "soak.py"


@pytest.fixture(scope="module")
def soak() -> ModuleType:
    """benchmarks/soak.py, imported from its file (benchmarks/ is not a package)."""
    spec = importlib.util.spec_from_file_location("soak_benchmark", SOAK_PATH)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


def test_a_short_soak_loses_nothing(soak: ModuleType) -> None:
    result = soak.run_soak(duration=3.0, warmup=0.0, connections=10, processes=1, hot_jobs=3, extends=10,
                           max_requests=40_000)
    assert result.error_samples == []
    assert result.lost_samples == []
    assert result.server_errors == []
    assert (result.errors, result.lost_updates) == (0, 0)
    # It did something: every connection finished cycles, and the hot jobs were extended by everyone.
    assert result.requests > 500
    assert result.jobs_created > 10


def test_the_audit_sees_a_lost_update(soak: ModuleType) -> None:
    """The audit can fail: claims of extensions the server never applied are lost updates."""
    server = soak.Server()
    try:
        connection = soak.Connection(server.port, soak.Tally())
        created = connection.call("POST", "/api/jobs", {"items": [soak._spec("a", soak.OWN_ALLOCATION_MS),
                                                                  soak._spec("hot", soak.HOT_ALLOCATION_MS)]})
        own_id, hot_id = (item["id"] for item in created["responses"])
        connection.call("POST", "/api/jobs/extend",
                        {"items": [{"jobId": own_id, "requestedTime": soak._duration(2000)}]})
        connection.http.close()
        honest = soak.Tally(own={own_id: soak.Own(steps=[2000])})
        assert soak.audit(server.port, honest, {hot_id: soak.HOT_ALLOCATION_MS}) == []
        claims = soak.Tally(own={own_id: soak.Own(steps=[2000, 3000], terminated=True)}, hot={hot_id: 5000})
        lost = soak.audit(server.port, claims, {hot_id: soak.HOT_ALLOCATION_MS})
        assert len(lost) == 3, lost  # the allocation, the state, and the hot job's allocation
    finally:
        server.stop()
