"""The consumer example's live run (examples/consumer/live/run-through-proxy.sh), as a team runs it against a real
deployment: here the deployment is ``ucloud-jobs serve``, then a provider that breaks the contract."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from mockserver.web.app import create_app
from tests.contracts import broken
from tests.mockserver.proxy_support import upstream
from tests.serve_process import served

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "examples" / "consumer" / "live" / "run-through-proxy.sh"
TOKEN = "a-team-token-0123456789"
RUN_TIMEOUT = 300  # seconds; reached only when something hangs

pytestmark = pytest.mark.skipif(shutil.which("bash") is None, reason="the example's script is a bash script")


def run_live(deployment: str, folder: Path, *extra: str) -> tuple[subprocess.CompletedProcess[str], Path, Path]:
    """The example's script against ``deployment``, with the project's ``ucloud-jobs`` and ``python`` first on PATH;
    its result, the report and the recording it names. The tests run in one process (this repository's
    configuration asks for xdist's ``-n auto``; the script passes its arguments on to pytest)."""
    report, recording = folder / "proxy-report.xml", folder / "live-session.yaml"
    environment = {**os.environ, "UCLOUD_TOKEN": TOKEN, "UPSTREAM": deployment, "REPORT": str(report),
                   "RECORD": str(recording), "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    environment.pop("PYTEST_ADDOPTS", None)
    environment.pop("PYTEST_XDIST_WORKER", None)
    result = subprocess.run(["bash", str(SCRIPT), "-n", "0", "-p", "no:cacheprovider", *extra], env=environment,
                            capture_output=True, text=True, timeout=RUN_TIMEOUT, check=False)
    return result, report, recording


def junit_counts(report: Path) -> tuple[int, int]:
    """Tests and failures in the proxy's JUnit report."""
    suite = ET.parse(report).getroot().find("testsuite")
    assert suite is not None
    return int(suite.get("tests", "0")), int(suite.get("failures", "0"))


def test_the_live_tests_through_the_proxy_pass_and_leave_a_clean_report_and_a_recording(tmp_path: Path) -> None:
    with served("--port", "0", "-q") as (_, deployment):
        result, report, recording = run_live(deployment, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 passed" in result.stdout
    assert "0 request violations (the client's), 0 response violations (drift), 0 upstream failures" in result.stderr
    tests, failures = junit_counts(report)
    assert tests >= 2 * 8  # both sides of each call: create, retrieve and terminate, then browse and extend
    assert failures == 0
    text = recording.read_text(encoding="utf-8")
    assert TOKEN not in text
    assert TOKEN not in result.stderr
    assert "call: jobs.extend" in text


def test_a_deployment_that_breaks_the_contract_fails_the_run_though_the_teams_tests_pass(tmp_path: Path) -> None:
    with upstream(broken.wrong_type(create_app())) as deployment:
        result, report, _ = run_live(deployment, tmp_path)
    assert "2 passed" in result.stdout  # the client copes; the proxy still sees the drift
    assert result.returncode == 1, result.stdout + result.stderr
    assert "violation: #" in result.stderr
    assert "jobs.retrieve response /createdAt: '" in result.stderr
    assert junit_counts(report)[1] >= 1
