"""Safe defaults (issue 5 §5): loopback unless told otherwise, an admin API for loopback clients only, YAML loaded
safely, and scenario names that resolve only inside the bundled and configured folders.

Already proven elsewhere, and not repeated here: every admin call refused for a remote ``REMOTE_ADDR``, loopback
addresses admitted, ``AdminPolicy(allow_remote=True)`` and the admin token through the WSGI app
(tests/mockserver/test_admin.py, "who may use it"); ``--host 0.0.0.0`` warns
(tests/mockserver/test_serve_cli.py::test_a_host_other_than_loopback_gets_a_warning); the admin API refuses
paths and traversal as scenario names (tests/mockserver/test_scenarios.py::test_the_admin_api_loads_scenarios_by_
name_only, and over a socket in tests/conformance/test_hostile.py).
"""

from __future__ import annotations

import contextlib
import http.client
import ipaddress
import json
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from werkzeug.test import Client

from contracts.errors import ContractError
from contracts.scenario import load_scenario, resolve_scenario
from mockserver.cli import main
from mockserver.server import HttpServer
from mockserver.web.admin import AdminPolicy
from mockserver.web.app import create_app
from tests.serve_process import ServeProcess, served

STARTUP_TIMEOUT = 30.0  # seconds; reached only when something is wrong
IO_TIMEOUT = 10.0
WARNING = "ucloud-jobs serve: warning: listening on"


def _non_loopback_address() -> str | None:
    """An IPv4 address of this machine that is not loopback and can be bound, or None."""
    candidates: list[str] = []
    with contextlib.suppress(OSError), socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.connect(("192.0.2.123", 9))  # no packet is sent: this asks the routing table for our address
        candidates.append(probe.getsockname()[0])
    with contextlib.suppress(OSError):
        candidates += [info[4][0] for info in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET)]
    for address in candidates:
        if ipaddress.ip_address(address).is_loopback or address == "0.0.0.0":
            continue
        with contextlib.suppress(OSError), socket.socket() as sock:
            sock.bind((address, 0))
            return str(address)
    return None


NON_LOOPBACK = _non_loopback_address()
needs_non_loopback = pytest.mark.skipif(
    NON_LOOPBACK is None, reason="this machine has no non-loopback IPv4 address to bind to, so no client can be "
                                 "remote; the REMOTE_ADDR tests through the WSGI app cover the policy")


@contextlib.contextmanager
def serving(*args: str, cwd: Path | None = None) -> Iterator[ServeProcess]:
    """``serve --port 0 -q ARGS``; yields the running process (stopped, and its stderr readable, afterwards)."""
    with served("--port", "0", "-q", *args, cwd=cwd) as (server, _):
        yield server


def _call(host: str, port: int, method: str, target: str, body: Any = None, *,
          headers: dict[str, str] | None = None, source: str | None = None) -> tuple[int, Any]:
    connection = http.client.HTTPConnection(host, port, timeout=IO_TIMEOUT,
                                            source_address=(source, 0) if source else None)
    try:
        sent = {"Authorization": "Bearer t"} if body is None else {"Authorization": "Bearer t",
                                                                   "Content-Type": "application/json"}
        connection.request(method, target, body=None if body is None else json.dumps(body),
                           headers={**sent, **(headers or {})})
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()


def _listening(port: int) -> set[str]:
    """The local addresses on which some socket listens on ``port`` (from /proc/net/tcp and tcp6)."""
    found = set()
    for table, family in (("/proc/net/tcp", socket.AF_INET), ("/proc/net/tcp6", socket.AF_INET6)):
        with contextlib.suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                local, state = line.split()[1], line.split()[3]
                address, hex_port = local.split(":")
                if state != "0A" or int(hex_port, 16) != port:  # 0A: LISTEN
                    continue
                raw = bytes.fromhex(address)  # IPv4: one little-endian word; IPv6: four
                raw = raw[::-1] if family == socket.AF_INET else b"".join(raw[i:i + 4][::-1] for i in range(0, 16, 4))
                found.add(socket.inet_ntop(family, raw))
    return found


# ---------------------------------------------------------------------------------------------- where it listens


def test_serve_listens_on_127_0_0_1_by_default_and_says_nothing_about_it() -> None:
    with serving() as server:
        assert server.url == f"http://127.0.0.1:{server.port}"
        if Path("/proc/net/tcp").exists():
            assert _listening(server.port) == {"127.0.0.1"}
        assert _call("127.0.0.1", server.port, "GET", "/_mock/clock")[0] == 200
        if NON_LOOPBACK is not None:
            with pytest.raises(ConnectionRefusedError):
                _call(NON_LOOPBACK, server.port, "GET", "/_mock/clock")
    assert WARNING not in server.stderr(), server.stderr()


@pytest.mark.parametrize("host", ["localhost", "127.0.0.2", "::1"])
def test_a_loopback_host_gets_no_warning(host: str) -> None:
    with serving("--host", host) as server:
        assert _call(host.strip("[]"), server.port, "GET", "/_mock/clock")[0] == 200
    assert WARNING not in server.stderr(), server.stderr()


@needs_non_loopback
def test_a_non_loopback_host_is_used_and_warned_about() -> None:
    assert NON_LOOPBACK is not None
    with serving("--host", NON_LOOPBACK) as server:
        assert server.url == f"http://{NON_LOOPBACK}:{server.port}"
        assert _listening(server.port) == {NON_LOOPBACK}
        assert _call(NON_LOOPBACK, server.port, "GET", "/api/jobs/browse")[0] == 200
    assert f"{WARNING} {NON_LOOPBACK}, reachable from other machines" in server.stderr(), server.stderr()


# ---------------------------------------------------------------------------------------------- the admin API

SPOOFS = [{}, {"X-Forwarded-For": "127.0.0.1"}, {"Forwarded": "for=127.0.0.1"}, {"X-Real-IP": "127.0.0.1"},
          {"Host": "localhost"}, {"X-Mock-Admin-Token": ""}]


@needs_non_loopback
def test_the_admin_api_refuses_a_client_on_a_real_non_loopback_address() -> None:
    assert NON_LOOPBACK is not None
    with serving("--host", NON_LOOPBACK) as server:
        for headers in SPOOFS:  # no header makes a remote client loopback
            status, body = _call(NON_LOOPBACK, server.port, "POST", "/_mock/clock", {"advanceMs": 1000},
                                 headers=headers, source=NON_LOOPBACK)
            assert status == 403, (headers, body)
            assert "loopback" in body["why"]
        assert _call(NON_LOOPBACK, server.port, "GET", "/api/jobs/browse", source=NON_LOOPBACK)[0] == 200
        status, clock = _call(NON_LOOPBACK, server.port, "GET", "/_mock/clock", source=NON_LOOPBACK)
        assert status == 403, clock


@needs_non_loopback
def test_admin_token_opens_the_admin_api_to_a_remote_client_that_sends_it() -> None:
    assert NON_LOOPBACK is not None
    token = "s3cret-of-sixteen"
    with serving("--host", NON_LOOPBACK, "--admin-token", token) as server:
        call = {"host": NON_LOOPBACK, "port": server.port, "source": NON_LOOPBACK}
        assert _call(**call, method="GET", target="/_mock/clock")[0] == 403
        for wrong in ("", token.upper(), token[:-1], token + "2"):  # (spaces around a header value are not part of it)
            assert _call(**call, method="GET", target="/_mock/clock", headers={"X-Mock-Admin-Token": wrong})[0] \
                == 403, wrong
        status, clock = _call(**call, method="POST", target="/_mock/clock", body={"advanceMs": 1000},
                              headers={"X-Mock-Admin-Token": token})
        assert (status, clock["nowMs"]) == (200, 1633329776235 + 1000)


@needs_non_loopback
def test_allow_remote_admin_opens_the_admin_api_to_everyone() -> None:
    assert NON_LOOPBACK is not None
    with serving("--host", NON_LOOPBACK, "--allow-remote-admin") as server:
        status, clock = _call(NON_LOOPBACK, server.port, "POST", "/_mock/clock", {"advanceMs": 1000},
                              source=NON_LOOPBACK)
        assert (status, clock["nowMs"]) == (200, 1633329776235 + 1000)


@pytest.mark.parametrize("address", ["192.0.2.7", "::ffff:127.0.0.1", "0.0.0.0", "::", "localhost", "garbage",
                                     "127.0.0.1, 192.0.2.7", "fe80::1%lo"])
def test_only_an_address_that_is_loopback_counts_as_loopback(address: str) -> None:
    # The IPv4-mapped loopback is refused too (Python < 3.13 does not call it loopback): refusing a local client
    # is safe; admitting a remote one is not. Waitress binds "::" to IPv6 only, so it never reports one.
    client = Client(create_app())
    response = client.get("/_mock/clock", environ_overrides={"REMOTE_ADDR": address},
                          headers={"X-Forwarded-For": "127.0.0.1"})
    assert response.status_code == 403
    allowed = Client(create_app(admin=AdminPolicy(token="t")))
    assert allowed.get("/_mock/clock", environ_overrides={"REMOTE_ADDR": address},
                       headers={"X-Mock-Admin-Token": "t"}).status_code == 200


# ---------------------------------------------------------------------------------------------- YAML, loaded safely

TAGS = {
    "object/apply": '!!python/object/apply:os.system ["touch {marker}"]',
    "object/new": '!!python/object/new:os.system ["touch {marker}"]',
    "subprocess": '!!python/object/apply:subprocess.check_call [["touch", "{marker}"]]',
    "name": "!!python/name:os.system",
    "module": "!!python/module:os",
}


def _evil_scenario(folder: Path, tag: str, where: str) -> tuple[Path, Path]:
    marker = folder / "executed"
    value = TAGS[tag].format(marker=marker)
    text = {"top": f"name: evil\ntitle: {value}\n",
            "nested": f"name: evil\nsteps:\n  - call: jobs.retrieve\n    request: {{id: {value}}}\n",
            "document": f"{value}\n"}[where]
    path = folder / "evil.yaml"
    path.write_text(text, encoding="utf-8")
    return path, marker


@pytest.mark.parametrize("where", ["top", "nested", "document"])
@pytest.mark.parametrize("tag", TAGS)
def test_a_python_tag_in_a_scenario_is_refused_and_nothing_runs(tmp_path: Path, tag: str, where: str) -> None:
    path, marker = _evil_scenario(tmp_path, tag, where)
    with pytest.raises(ContractError, match="not valid YAML"):
        load_scenario(path)
    with pytest.raises(ContractError):
        create_app(scenario=str(path))
    app = create_app(scenario_dirs=[tmp_path])
    response = Client(app).post("/_mock/scenario", json={"name": "evil"})
    assert response.status_code == 404
    assert "not valid YAML" in response.json["why"]
    assert app.engine.scenario.name == "extend-and-terminate"
    assert not marker.exists()


def test_serve_refuses_a_scenario_with_a_python_tag_in_one_line(tmp_path: Path) -> None:
    path, marker = _evil_scenario(tmp_path, "object/apply", "top")
    done = subprocess.run([sys.executable, "-m", "mockserver", "serve", "--port", "0", "--scenario", str(path)],
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=STARTUP_TIMEOUT,
                          check=False)
    assert (done.returncode, done.stdout) == (2, ""), done.stderr
    assert done.stderr.startswith("ucloud-jobs serve: error: the scenario "), done.stderr
    assert "not valid YAML" in done.stderr
    assert done.stderr.count("\n") == 1, done.stderr
    assert not marker.exists()


# ---------------------------------------------------------------------------------------------- names and paths

SCENARIO = "name: local\nclock: {start: 1700000000000}\nids: {first: 500}\n"


def test_a_name_resolves_only_inside_the_bundled_and_configured_folders(tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "local.yaml").write_text(SCENARIO, encoding="utf-8")
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    monkeypatch.chdir(tmp_path)  # a file of that name in the working directory is not a scenario folder
    with pytest.raises(ContractError, match="unknown scenario 'local'"):
        resolve_scenario("local")
    with pytest.raises(ContractError, match="unknown scenario 'local'"):
        resolve_scenario("local", [outside])
    assert resolve_scenario("local", [tmp_path]).first_id == 500
    for path in ("./local.yaml", "local.yaml", str(tmp_path / "local.yaml")):  # paths, only where allowed
        with pytest.raises(ContractError, match="unknown scenario"):
            resolve_scenario(path, [outside], allow_paths=False)
        assert resolve_scenario(path, [outside]).first_id == 500
    app = create_app(scenario_dirs=[outside])
    for name in ("local", "./local.yaml", "local.yaml", str(tmp_path / "local.yaml"), "../local"):
        response = Client(app).post("/_mock/scenario", json={"name": name})
        assert response.status_code == 404, name
    assert app.engine.scenario.name == "extend-and-terminate"


def test_serve_takes_an_explicit_path_but_not_a_bare_name_from_the_working_directory(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "local.yaml").write_text(SCENARIO, encoding="utf-8")
    monkeypatch.chdir(tmp_path)

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("serve started a server despite the usage error")

    monkeypatch.setattr("mockserver.cli.serve.MockServer", refuse)
    assert main(["serve", "--port", "0", "--scenario", "local"]) == 2
    assert "unknown scenario 'local'" in capsys.readouterr().err
    monkeypatch.undo()
    with serving("--scenario", "./local.yaml", cwd=tmp_path) as server:
        assert "(scenario local," in server.banner
    with serving("--scenario", "local", "--scenario-dir", str(tmp_path)) as server:
        assert "(scenario local," in server.banner


def test_the_mock_server_class_binds_where_it_is_told() -> None:
    server = HttpServer(create_app(), "127.0.0.1", 0)
    try:
        assert server.url.startswith("http://127.0.0.1:")
        if Path("/proc/net/tcp").exists():
            assert _listening(server.port) == {"127.0.0.1"}
    finally:
        server.stop()
