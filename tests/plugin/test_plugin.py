"""The pytest plugin, used the way a consumer repository uses it.

Each test writes a small consumer test file into pytester's temporary folder and runs pytest on it in a
subprocess. There is no ``conftest.py`` and no ``pytest_plugins`` line there: the plugin must arrive through the
installed ``pytest11`` entry point alone, as it does for a user who has only run ``pip install``.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest

from mockserver.server import HttpServer
from mockserver.web.app import create_app
from tests.contracts.broken import terminate_ignored

WsgiApp = Callable[[dict[str, Any], Any], Iterable[bytes]]

# A helper module for the consumer files: plain urllib, the way a consumer without our package would call.
HTTP_HELPER = '''
import json
import urllib.error
import urllib.request

SPEC = {"application": {"name": "acme-batch", "version": "1.0.0"},
        "product": {"id": "example-compute", "category": "example-compute", "provider": "example"},
        "timeAllocation": {"hours": 1, "minutes": 0, "seconds": 0}}


def call(mock, method, path, body=None, token=None):
    data = None if body is None else json.dumps(body).encode()
    headers = {"Authorization": f"Bearer {token or mock.token}", "Content-Type": "application/json"}
    request = urllib.request.Request(mock.url + path, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())
'''


@pytest.fixture
def consumer(pytester: pytest.Pytester) -> pytest.Pytester:
    """Pytester's folder as a consumer repository: test files and the HTTP helper, no configuration at all."""
    pytester.makepyfile(jobs_http=HTTP_HELPER)
    return pytester


# Plugins of other packages that this environment has and that these runs do not need: loading them costs each
# run two seconds of CPU (most of it importing Hypothesis and Schemathesis). The example consumer's test runs
# with every installed plugin loaded, which shows ours living beside them.
OTHER_PLUGINS = ("-p", "no:schemathesis", "-p", "no:anyio", "-p", "no:hypothesispytest")


def run(pytester: pytest.Pytester, *args: str, every_plugin: bool = False) -> pytest.RunResult:
    """Run pytest in a subprocess, so that the plugin is loaded from its entry point as for any user."""
    others = () if every_plugin else OTHER_PLUGINS
    return pytester.runpytest_subprocess("-p", "no:cacheprovider", *others, *args, timeout=300)


def output(result: pytest.RunResult) -> str:
    """Everything the run printed."""
    return "\n".join(result.outlines + result.errlines)


# --------------------------------------------------------------------------- with no configuration


def test_the_fixtures_work_with_no_configuration(consumer: pytest.Pytester) -> None:
    consumer.makepyfile(test_consumer='''
        import pytest
        from jobs_http import SPEC, call
        from werkzeug.test import Client

        from contracts import ContractViolation
        from mockserver.web.app import MockApp

        T0 = 1633329776235


        def test_the_mock_on_a_socket(ucloud_mock):
            assert ucloud_mock.url.startswith("http://127.0.0.1:")
            assert ucloud_mock.headers == {"Authorization": f"Bearer {ucloud_mock.token}"}
            assert isinstance(ucloud_mock.app, MockApp)
            assert ucloud_mock.clock.now_ms == T0

            assert call(ucloud_mock, "POST", "/api/jobs", {"items": [SPEC]}) == (200, {"responses": [{"id": "1"}]})
            status, job = call(ucloud_mock, "GET", "/api/jobs/retrieve?id=1")
            assert (status, job["status"]["state"], job["createdAt"]) == (200, "IN_QUEUE", T0)

            assert ucloud_mock.clock.advance(seconds=5) == T0 + 5_000
            assert call(ucloud_mock, "GET", "/api/jobs/retrieve?id=1")[1]["status"]["state"] == "RUNNING"
            assert ucloud_mock.clock.set(T0 + 3_600_000) == T0 + 3_600_000
            assert ucloud_mock.clock.now_ms == T0 + 3_600_000
            assert call(ucloud_mock, "GET", "/api/jobs/retrieve?id=1")[1]["status"]["state"] == "EXPIRED"

            # token_for: another user, whom the mock keeps apart
            assert call(ucloud_mock, "GET", "/api/jobs/retrieve?id=1", token=ucloud_mock.token_for("alice"))[0] == 404

            # faults: one forced 503, then normal answers again
            ucloud_mock.faults.set({"operation": "jobs.retrieve", "status": 503, "times": 1})
            assert [fault["status"] for fault in ucloud_mock.faults.active] == [503]
            assert call(ucloud_mock, "GET", "/api/jobs/retrieve?id=1")[0] == 503
            assert call(ucloud_mock, "GET", "/api/jobs/retrieve?id=1")[0] == 200
            assert ucloud_mock.faults.active == []

            assert [(entry["operation"], entry["user"], entry["status"]) for entry in ucloud_mock.journal] == [
                ("jobs.create", "user", 200), ("jobs.retrieve", "user", 200), ("jobs.retrieve", "user", 200),
                ("jobs.retrieve", "user", 200), ("jobs.retrieve", "alice", 404), ("jobs.retrieve", "user", 503),
                ("jobs.retrieve", "user", 200)]

            # load_scenario: the seed's stage, whose ids start at the documented 62348
            ucloud_mock.load_scenario("extend-and-terminate")
            assert ucloud_mock.journal == []
            assert call(ucloud_mock, "POST", "/api/jobs", {"items": [SPEC]})[1] == {"responses": [{"id": "62348"}]}


        def test_the_app_in_process(ucloud_app):
            client = Client(ucloud_app)
            reply = client.post("/api/jobs", json={"items": [SPEC]}, headers={"Authorization": "Bearer anything"})
            assert (reply.status_code, reply.get_json()) == (200, {"responses": [{"id": "1"}]})
            assert client.get("/api/jobs/retrieve?id=1").status_code == 401


        def test_the_contract_helpers(ucloud_contract):
            ucloud_contract.assert_request("jobs.create", {"items": [SPEC]})
            ucloud_contract.assert_response("jobs.create", 200, {"responses": [{"id": "1"}]})
            with pytest.raises(ContractViolation):
                ucloud_contract.assert_request("jobs.create", {"items": []})
    ''')
    result = run(consumer, "-v")
    result.assert_outcomes(passed=3)
    # The plugin came from the installed distribution's entry point, not from anything in the folder.
    result.stdout.fnmatch_lines(["plugins:*ucloud-jobs-contract-*"])
    assert not list(consumer.path.glob("conftest.py"))


def test_a_session_that_does_not_use_the_fixtures_loads_nothing_heavy(consumer: pytest.Pytester) -> None:
    consumer.makepyfile(test_plain='''
        import sys

        def test_nothing_of_the_mock_or_the_validators_was_imported():
            assert "mockserver.pytest_plugin" in sys.modules
            heavy = [name for name in sys.modules
                     if name.split(".")[0] in ("jsonschema", "jsonschema_rs", "werkzeug", "httptools", "websockets",
                                               "yaml")
                     or (name.startswith("mockserver.") and name != "mockserver.pytest_plugin")
                     or name.startswith(("hypothesis.strategies", "hypothesis.stateful"))]
            assert heavy == []
    ''')
    # Other installed plugins are blocked: schemathesis's, for one, loads jsonschema itself.
    run(consumer, "-p", "no:schemathesis", "-p", "no:anyio").assert_outcomes(passed=1)


def test_importing_the_plugin_is_cheap() -> None:
    script = "import json, sys; import mockserver.pytest_plugin; print(json.dumps(sorted(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60)
    loaded = set(json.loads(done.stdout))
    assert "mockserver.pytest_plugin" in loaded
    heavy = sorted(name for name in loaded
                   if name.split(".")[0] in ("jsonschema", "jsonschema_rs", "werkzeug", "httptools", "websockets",
                                             "yaml", "referencing")
                   or (name.startswith("mockserver.") and name != "mockserver.pytest_plugin")
                   or name.startswith(("hypothesis.strategies", "hypothesis.stateful",
                                       "hypothesis.internal.conjecture")))
    assert heavy == []


# --------------------------------------------------------------------------- one server, reset per test


def test_the_server_starts_once_per_session_and_is_reset_before_each_test(consumer: pytest.Pytester) -> None:
    consumer.makepyfile(test_reset='''
        from jobs_http import SPEC, call

        T0 = 1633329776235
        seen = {}


        def test_first_leaves_a_mess(ucloud_mock):
            seen["port"], seen["server"] = ucloud_mock.url, id(ucloud_mock)
            assert call(ucloud_mock, "POST", "/api/jobs", {"items": [SPEC, SPEC]})[0] == 200
            ucloud_mock.clock.advance(hours=3)
            ucloud_mock.faults.set({"operation": "jobs.browse", "status": 503})
            ucloud_mock.load_scenario("extend-and-terminate", profile="ucloud")
            assert call(ucloud_mock, "POST", "/api/jobs", {"items": [SPEC]})[0] == 200
            assert len(ucloud_mock.journal) == 1


        def test_second_finds_a_fresh_mock_on_the_same_server(ucloud_mock):
            assert (ucloud_mock.url, id(ucloud_mock)) == (seen["port"], seen["server"])
            assert ucloud_mock.journal == []
            assert ucloud_mock.faults.active == []
            assert ucloud_mock.clock.now_ms == T0
            assert (ucloud_mock.app.engine.scenario.name, ucloud_mock.app.engine.profile.name) == ("blank", "docs")
            assert call(ucloud_mock, "GET", "/api/jobs/browse") == (200, {"itemsPerPage": 50, "items": [],
                                                                          "next": None})
            assert call(ucloud_mock, "GET", "/api/jobs/retrieve?id=62348")[0] == 404
            assert call(ucloud_mock, "POST", "/api/jobs", {"items": [SPEC]})[1] == {"responses": [{"id": "1"}]}


        def test_third_too(ucloud_mock):
            assert ucloud_mock.url == seen["port"]
            assert call(ucloud_mock, "GET", "/api/jobs/retrieve?id=1")[0] == 404
    ''')
    run(consumer, "-v").assert_outcomes(passed=3)


# --------------------------------------------------------------------------- choosing scenario and profile

FLOW = '''
from jobs_http import call

FIVE_HOURS = {"application": {"name": "acme-web-application", "version": "1.0.0"},
              "product": {"id": "example-compute", "category": "example-compute", "provider": "example"},
              "timeAllocation": {"hours": 5, "minutes": 0, "seconds": 0}}


def allocation_after_one_extension(mock):
    """The seed's first four steps; in the ucloud profile extend grows timeAllocation, in docs it stays."""
    job_id = call(mock, "POST", "/api/jobs", {"items": [FIVE_HOURS]})[1]["responses"][0]["id"]
    call(mock, "GET", f"/api/jobs/retrieve?id={job_id}")
    extend = {"items": [{"jobId": job_id, "requestedTime": {"hours": 1, "minutes": 0, "seconds": 0}}]}
    assert call(mock, "POST", "/api/jobs/extend", extend)[0] == 200
    return job_id, call(mock, "GET", f"/api/jobs/retrieve?id={job_id}")[1]["specification"]["timeAllocation"]
'''


def test_the_marker_chooses_scenario_and_profile(consumer: pytest.Pytester) -> None:
    consumer.makepyfile(flow=FLOW, test_marker='''
        import pytest
        from flow import allocation_after_one_extension


        @pytest.mark.ucloud_scenario("extend-and-terminate", profile="ucloud")
        def test_ucloud_profile(ucloud_mock):
            engine = ucloud_mock.app.engine
            assert (engine.scenario.name, engine.profile.name) == ("extend-and-terminate", "ucloud")
            assert allocation_after_one_extension(ucloud_mock) == ("62348", {"hours": 6, "minutes": 0, "seconds": 0})


        @pytest.mark.ucloud_scenario("extend-and-terminate")
        def test_the_scenarios_own_profile(ucloud_mock):
            assert ucloud_mock.app.engine.profile.name == "docs"
            assert allocation_after_one_extension(ucloud_mock) == ("62348", {"hours": 5, "minutes": 0, "seconds": 0})


        def test_without_the_marker(ucloud_mock):
            assert (ucloud_mock.app.engine.scenario.name, ucloud_mock.app.engine.profile.name) == ("blank", "docs")


        @pytest.mark.ucloud_scenario("extend-and-terminate", profile="ucloud")
        def test_the_marker_on_the_in_process_app(ucloud_app):
            assert (ucloud_app.engine.scenario.name, ucloud_app.engine.profile.name) == ("extend-and-terminate",
                                                                                         "ucloud")
    ''')
    # --strict-markers: the marker is registered by the plugin, not by the consumer.
    run(consumer, "-v", "--strict-markers").assert_outcomes(passed=4)


def test_the_options_choose_scenario_and_profile(consumer: pytest.Pytester) -> None:
    consumer.makepyfile(flow=FLOW, test_options='''
        import pytest
        from flow import allocation_after_one_extension


        def test_from_the_command_line(ucloud_mock):
            engine = ucloud_mock.app.engine
            assert (engine.scenario.name, engine.profile.name) == ("extend-and-terminate", "ucloud")
            assert allocation_after_one_extension(ucloud_mock)[1]["hours"] == 6


        def test_the_in_process_app_too(ucloud_app):
            assert (ucloud_app.engine.scenario.name, ucloud_app.engine.profile.name) == ("extend-and-terminate",
                                                                                         "ucloud")


        @pytest.mark.ucloud_scenario("blank")
        def test_a_marker_overrides_the_scenario_and_keeps_the_profile(ucloud_mock):
            assert (ucloud_mock.app.engine.scenario.name, ucloud_mock.app.engine.profile.name) == ("blank", "ucloud")
    ''')
    run(consumer, "-v", "--ucloud-scenario", "extend-and-terminate", "--ucloud-profile", "ucloud").assert_outcomes(
        passed=3)


STAGE_TESTS = '''
import os

import pytest


def stage(app):
    return app.engine.scenario.name, app.engine.profile.name, app.engine.profile.era


def expected():
    return tuple(os.environ["EXPECTED_STAGE"].split())


def test_the_session_stage(ucloud_mock):
    assert stage(ucloud_mock.app) == expected()


def test_the_in_process_app_too(ucloud_app):
    assert stage(ucloud_app) == expected()


@pytest.mark.ucloud_scenario("extend-and-terminate-2024")
def test_a_marker_beats_both_and_keeps_the_profile(ucloud_mock):
    assert stage(ucloud_mock.app) == ("extend-and-terminate-2024", *expected()[1:])
'''


def test_the_ini_file_chooses_scenario_profile_era_and_url(consumer: pytest.Pytester, serve: Callable[..., str],
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """pytest.ini of a consumer; --ucloud-verify takes the URL from it too (and the token from the environment)."""
    url = serve(create_app(scenario="blank", profile="ucloud"))  # verify expects the ini file's profile too
    consumer.makeini(f"""
        [pytest]
        ucloud_scenario = extend-and-terminate
        ucloud_profile = ucloud
        ucloud_era = 2024
        ucloud_url = {url}
    """)
    consumer.makepyfile(test_stage=STAGE_TESTS)
    monkeypatch.setenv("EXPECTED_STAGE", "extend-and-terminate ucloud 2024")
    monkeypatch.setenv("UCLOUD_TOKEN", "a-token-for-the-mock")
    result = run(consumer, "-v", "--strict-config", "--ucloud-verify", "--ucloud-examples", "2")
    result.assert_outcomes(passed=4)
    result.stdout.fnmatch_lines(["*ucloud_verify PASSED*"])


def test_the_command_line_beats_the_ini_file_and_a_bad_ini_value_fails_in_one_line(consumer: pytest.Pytester,
                                                                                  monkeypatch: pytest.MonkeyPatch
                                                                                  ) -> None:
    consumer.makepyprojecttoml("""
        [tool.pytest.ini_options]
        ucloud_scenario = "no-such-scenario"
        ucloud_profile = "ucloud"
        ucloud_era = 2024
    """)
    consumer.makepyfile(test_stage=STAGE_TESTS)
    monkeypatch.setenv("EXPECTED_STAGE", "blank docs 2021")
    run(consumer, "--strict-config", "--ucloud-scenario", "blank", "--ucloud-profile", "docs",
        "--ucloud-era", "2021").assert_outcomes(passed=3)
    # Without the command line, the ini file's scenario is tried, and named as the culprit in one line.
    monkeypatch.setenv("EXPECTED_STAGE", "no-such-scenario ucloud 2024")
    result = run(consumer)
    result.assert_outcomes(passed=1, errors=2)  # the marker's test does not read the ini file's scenario
    text = output(result)
    assert "ucloud_scenario in pyproject.toml: unknown scenario 'no-such-scenario'; known scenarios: blank, " in text
    assert "Traceback" not in text
    # An unknown profile or era in the ini file is a usage error, in one line, as on the command line.
    consumer.makepyprojecttoml("""
        [tool.pytest.ini_options]
        ucloud_profile = "staging"
    """)
    result = run(consumer)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert [line for line in result.errlines if line] == [
        "ERROR: ucloud_profile in pyproject.toml: unknown profile 'staging'; known profiles: docs, ucloud"]


def test_the_options_are_a_group_in_help(consumer: pytest.Pytester) -> None:
    result = run(consumer, "--help")
    assert result.ret == 0
    result.stdout.fnmatch_lines([
        "UCloud Jobs contract and mock server:",
        "*--ucloud-profile*",
        "*--ucloud-scenario*",
        "*--ucloud-url*",
        "*--ucloud-token*",
        "*--ucloud-verify*",
        "*--ucloud-examples*",
    ])
    result.stdout.fnmatch_lines(["  ucloud_scenario (string):*", "*like --ucloud-scenario; the command line wins",
                                 "  ucloud_profile (string):*", "  ucloud_era (string):*like --ucloud-era*",
                                 "  ucloud_url (string):*like --ucloud-url*"])
    markers = run(consumer, "--markers")
    markers.stdout.fnmatch_lines(["@pytest.mark.ucloud_scenario(name, profile=None, era=None):*"])


def test_an_unknown_profile_is_a_usage_error(consumer: pytest.Pytester) -> None:
    result = run(consumer, "--ucloud-profile", "staging")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--ucloud-profile: invalid choice: 'staging'*"])


# --------------------------------------------------------------------------- errors inside the server


def test_an_error_inside_the_server_fails_the_test_that_caused_it(consumer: pytest.Pytester) -> None:
    consumer.makepyfile(test_server_error='''
        import urllib.request

        from jobs_http import call
        from werkzeug.test import Client

        from mockserver.web import handlers


        def explode(ctx, caller):
            raise RuntimeError("the retrieve handler exploded")


        def test_before(ucloud_mock):
            assert call(ucloud_mock, "GET", "/api/jobs/retrieve?id=1")[0] == 404


        def test_breaks_the_server(ucloud_mock, monkeypatch):
            monkeypatch.setitem(handlers.API_HANDLERS, "jobs.retrieve", explode)
            # The consumer's own check passes: the 500 is what it expected. The plugin fails the teardown anyway.
            assert call(ucloud_mock, "GET", "/api/jobs/retrieve?id=1") == (500, {"why": "Internal Server Error",
                                                                                "errorCode": None})


        def test_fails_on_its_own_too(ucloud_mock, monkeypatch):
            monkeypatch.setitem(handlers.API_HANDLERS, "jobs.retrieve", explode)
            request = urllib.request.Request(ucloud_mock.url + "/api/jobs/retrieve?id=1", headers=ucloud_mock.headers)
            urllib.request.urlopen(request, timeout=10)  # raises HTTPError 500


        def test_breaks_the_in_process_app(ucloud_app, monkeypatch):
            monkeypatch.setitem(handlers.API_HANDLERS, "jobs.retrieve", explode)
            assert Client(ucloud_app).get("/api/jobs/retrieve?id=1", headers={"Authorization": "Bearer t"}
                                          ).status_code == 500


        def test_after(ucloud_mock):
            assert call(ucloud_mock, "GET", "/api/jobs/retrieve?id=1")[0] == 404
    ''')
    result = run(consumer, "-v")
    # Each test that made the mock fail gets an error at teardown; the report of its call is its own.
    result.assert_outcomes(passed=4, failed=1, errors=3)
    result.stdout.fnmatch_lines([
        "*test_server_error.py::test_before PASSED*",
        "*test_server_error.py::test_breaks_the_server ERROR*",
        "*test_server_error.py::test_fails_on_its_own_too ERROR*",
        "*test_server_error.py::test_breaks_the_in_process_app ERROR*",
        "*test_server_error.py::test_after PASSED*",
    ])
    text = output(result)
    # The server's own traceback is in the teardown report of each, pointing into the consumer's handler.
    for name in ("test_breaks_the_server", "test_fails_on_its_own_too", "test_breaks_the_in_process_app"):
        section = text.split(f"_ ERROR at teardown of {name} _", 1)[1].split("\n___", 1)[0]
        assert "GET /api/jobs/retrieve (jobs.retrieve) failed inside the mock server:" in section, name
        assert "Traceback (most recent call last):" in section, name
        assert 'raise RuntimeError("the retrieve handler exploded")' in section, name
        assert "RuntimeError: the retrieve handler exploded" in section, name
    own = text.split("_ test_fails_on_its_own_too _", 1)[1].split("\n___", 1)[0]
    assert "HTTPError" in own  # the test's own failure is kept, the server's traceback is added to it


# --------------------------------------------------------------------------- xdist


def test_each_xdist_worker_gets_its_own_server(consumer: pytest.Pytester) -> None:
    consumer.makepyfile(test_workers='''
        import os
        import pathlib

        import pytest
        from jobs_http import SPEC, call


        @pytest.mark.parametrize("n", range(10))
        def test_create(ucloud_mock, n):
            # Each test starts from a reset mock, so the first job is always job 1, on either worker.
            assert call(ucloud_mock, "POST", "/api/jobs", {"items": [SPEC]}) == (200, {"responses": [{"id": "1"}]})
            record = pathlib.Path(__file__).parent / "seen" / f"{n}.txt"
            record.parent.mkdir(exist_ok=True)
            record.write_text(f"{os.environ['PYTEST_XDIST_WORKER']} {ucloud_mock.url}")
    ''')
    run(consumer, "-n", "2").assert_outcomes(passed=10)
    seen = [path.read_text().split() for path in sorted((consumer.path / "seen").glob("*.txt"))]
    assert len(seen) == 10
    urls_by_worker: dict[str, set[str]] = {}
    for worker, url in seen:
        urls_by_worker.setdefault(worker, set()).add(url)
    assert sorted(urls_by_worker) == ["gw0", "gw1"]
    assert all(len(urls) == 1 for urls in urls_by_worker.values()), urls_by_worker  # one server per worker
    assert urls_by_worker["gw0"] != urls_by_worker["gw1"]  # ... each on its own port


# --------------------------------------------------------------------------- ucloud_contract


def test_a_contract_violation_is_a_plain_failure(consumer: pytest.Pytester) -> None:
    consumer.makepyfile(test_contract='''
        def test_a_bad_extend_request(ucloud_contract):
            ucloud_contract.assert_request("jobs.extend", {"items": [{"jobId": "62348"}]})


        def test_a_bad_job(ucloud_contract):
            ucloud_contract.validate({"id": 62348}, "Job")


        def test_the_library_called_directly():
            import contracts

            contracts.validate_response("jobs.create", 200, {"responses": [{"id": 1}]})
    ''')
    result = run(consumer)
    result.assert_outcomes(failed=3)
    # The failures point at the consumer's line; the library's own frames are hidden (__tracebackhide__).
    text = output(result)
    assert "contracts/validation.py" not in text
    assert "mockserver/pytest_plugin.py" not in text
    result.stdout.fnmatch_lines(["E * contracts.errors.ContractViolation: POST /api/jobs (jobs.create) answered 200: "
                                 "the body breaks the contract (1 violation):"])
    result.stdout.fnmatch_lines([
        "E * contracts.errors.ContractViolation: POST /api/jobs/extend (jobs.extend) request body breaks the "
        "contract (1 violation):",
        "E *   /items/0/requestedTime: required field is missing",
        "E * contracts.errors.ContractViolation: Job breaks the contract (6 violations):",
        "E *   /id: 62348 is not of type string",
    ])
    result.stdout.fnmatch_lines(["FAILED test_contract.py::test_a_bad_extend_request - contracts.errors.Contrac*",
                                 "FAILED test_contract.py::test_a_bad_job - contracts.errors.ContractViolation*",
                                 "FAILED test_contract.py::test_the_library_called_directly - contracts.errors.*"])


# --------------------------------------------------------------------------- --ucloud-verify


@pytest.fixture
def serve() -> Iterator[Callable[..., str]]:
    """Start an HttpServer in this process (optionally broken) and give its URL; stop it afterwards."""
    servers: list[HttpServer] = []

    def start(app: Any) -> str:
        server = HttpServer(app, "127.0.0.1", 0, websocket=getattr(app, "websocket", None)).start()
        servers.append(server)
        return server.url

    yield start
    for server in servers:
        server.stop()


@pytest.mark.parametrize("app_options", [{}, {"scenario": "blank", "profile": "ucloud"}],
                         ids=["as ucloud-jobs serve starts it (docs profile)", "ucloud profile"])
def test_verify_passes_the_mock(consumer: pytest.Pytester, serve: Callable[..., str],
                                app_options: dict[str, str]) -> None:
    url = serve(create_app(**app_options))
    result = run(consumer, "-v", "--ucloud-verify", "--ucloud-url", url, "--ucloud-token", "T",
                 "--ucloud-examples", "10")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*ucloud_verify PASSED*"])


def test_verify_fails_a_broken_provider_with_curl_lines_and_no_token(consumer: pytest.Pytester,
                                                                     serve: Callable[..., str],
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """The token comes from UCLOUD_TOKEN; the seed and shrink time are the command's; no output holds the token."""
    token = "plugin-secret-token-0123456789"
    monkeypatch.setenv("UCLOUD_TOKEN", token)
    url = serve(terminate_ignored(create_app(scenario="blank", profile="ucloud")))
    result = run(consumer, "--ucloud-verify", "--ucloud-url", url, "--ucloud-examples", "10", "--ucloud-seed", "3",
                 "--ucloud-shrink-time", "0", "--junitxml", "junit.xml")
    result.assert_outcomes(failed=1)
    text = output(result)
    assert "FAIL scenario extend-and-terminate" in text
    assert "invariant 'terminate ends the job'" in text
    assert "FAIL state machine (not shrunk)" in text
    assert "seed 3: --seed 3 repeats this run" in text
    curl = [line.strip() for line in text.splitlines() if line.strip().startswith("curl ")]
    assert any(f"{url}/api/jobs/terminate" in line for line in curl), text
    assert all(url in line and ('"Authorization: Bearer $UCLOUD_TOKEN"' in line
                                or '"Authorization: Bearer $UCLOUD_SECOND_TOKEN"' in line) for line in curl)
    assert any('"Authorization: Bearer $UCLOUD_TOKEN"' in line for line in curl)
    assert token not in text
    assert token not in (consumer.path / "junit.xml").read_text()


def test_verify_without_url_or_token_is_a_usage_error(consumer: pytest.Pytester,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("UCLOUD_TOKEN", raising=False)
    result = run(consumer, "--ucloud-verify")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--ucloud-verify needs --ucloud-url*"])
    result = run(consumer, "--ucloud-verify", "--ucloud-url", "http://127.0.0.1:9")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--ucloud-verify needs --ucloud-token or $UCLOUD_TOKEN as well as --ucloud-url"])


# --------------------------------------------------------------------------- the example consumer


def test_the_example_consumer_passes_as_a_repository_of_its_own(pytester: pytest.Pytester,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """examples/consumer, copied out of this repository: no configuration of ours applies, under xdist too. Its
    live tests skip: they run only against a deployment (tests/mockserver/test_proxy_consumer.py runs them)."""
    example = Path(__file__).resolve().parents[2] / "examples" / "consumer"
    shutil.copytree(example, pytester.path, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__"))
    for environment in ("UCLOUD_URL", "UCLOUD_TOKEN"):
        monkeypatch.delenv(environment, raising=False)
    run(pytester, every_plugin=True).assert_outcomes(passed=12, skipped=2)
    run(pytester, "-n", "2", every_plugin=True).assert_outcomes(passed=12, skipped=2)


# --------------------------------------------------------------------------- overrides and mistakes


def test_an_overridden_listen_address_is_used_and_a_bad_marker_fails_in_one_line(consumer: pytest.Pytester) -> None:
    with socket.socket() as probe:  # a port that was free a moment ago
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    consumer.makeconftest(f'''
        import pytest


        @pytest.fixture(scope="session")
        def ucloud_mock_listen_address():
            return ("127.0.0.1", {port})
    ''')
    consumer.makepyfile(test_overrides='''
        import pytest


        def test_the_server_listens_where_the_override_says(ucloud_mock):
            assert (ucloud_mock.host, ucloud_mock.port) == ("127.0.0.1", {port})
            assert ucloud_mock.url == "http://127.0.0.1:{port}"


        @pytest.mark.ucloud_scenario("no-such-scenario")
        def test_an_unknown_scenario(ucloud_mock):
            pass


        @pytest.mark.ucloud_scenario("blank", profile="no-such-profile")
        def test_an_unknown_profile(ucloud_app):
            pass
    '''.replace("{port}", str(port)))
    result = run(consumer, "-v")
    result.assert_outcomes(passed=1, errors=2)
    text = output(result)
    assert "@pytest.mark.ucloud_scenario: unknown scenario 'no-such-scenario'; known scenarios: blank, " \
           "extend-and-terminate" in text
    assert "@pytest.mark.ucloud_scenario: unknown profile 'no-such-profile'; known profiles: docs, ucloud" in text
    assert "Traceback" not in text
