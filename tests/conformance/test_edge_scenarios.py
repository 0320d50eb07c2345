"""Scenario files with limits (issue 10 §3): no alias bombs, no huge files, no FIFOs, no escaping the folder.

A scenario folder is read by name through the admin API, and a file on the command line by path. A 370-byte
alias bomb used to expand to 351 MB (32 s and a 968 MB peak here); a FIFO named x.yaml blocked every worker
thread that tried to load it; a symlink to a file outside the folder was listed, loaded, and its contents shown
in the error message. Each case here is refused with a ContractError (a 404 from the admin API, exit 2 from
serve) that names the scenario and shows neither the file's contents nor a path outside the folder.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from contracts.errors import ContractError
from contracts.scenario import list_scenarios, load_scenario, resolve_scenario
from contracts.scenario_files import MAX_ALIASES, MAX_NODES, MAX_SCENARIO_BYTES
from mockserver.cli import main
from tests.conformance.support import Answer, Live, live_server

THREAD_TIMEOUT = 30.0  # seconds; reached only when a load hangs
SECRET = "the-secret-in-a-file-outside-the-folder"
GOOD = "name: good\nclock: {start: 1700000000000}\nids: {first: 7}\n"


def bomb(levels: int = 7) -> str:
    """A billion-laughs scenario: each level is nine aliases of the one before; the title names the last."""
    anchors = ["&a [lol,lol,lol,lol,lol,lol,lol,lol,lol]"]
    for level in range(levels):
        previous = "a" if level == 0 else f"x{level - 1}"
        anchors.append(f"&x{level} [" + ",".join([f"*{previous}"] * 9) + "]")
    return f"name: bomb\ndescription: [{', '.join(anchors)}]\ntitle: *x{levels - 1}\n"


def load_scenario_through_the_admin_api(live: Live, name: str) -> Answer:
    """POST /_mock/scenario by name."""
    return live.request("POST", "/_mock/scenario", {"name": name}, token=None)


def refused_by_serve(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, *args: str) -> str:
    """Run ``serve ARGS``, expecting a one-line usage error before any server starts; the line."""
    def refuse(*a: object, **k: object) -> None:
        raise AssertionError("serve started a server despite the usage error")
    monkeypatch.setattr("mockserver.cli.serve.MockServer", refuse)
    assert main(["serve", "--port", "0", *args]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("ucloud-jobs serve: error: "), err
    assert err.count("\n") == 1, err
    return err


def finishes(work: Callable[[], Any]) -> Any:
    """``work()`` in a thread that must finish within THREAD_TIMEOUT (a FIFO used to block it for ever)."""
    result: list[Any] = []
    failure: list[BaseException] = []

    def run() -> None:
        try:
            result.append(work())
        except BaseException as error:  # handed to the test's thread
            failure.append(error)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(THREAD_TIMEOUT)
    assert not thread.is_alive(), f"still blocked after {THREAD_TIMEOUT} s"
    if failure:
        raise failure[0]
    return result[0] if result else None


@contextlib.contextmanager
def fifo(path: Path) -> Iterator[Path]:
    """A FIFO at ``path``; on exit, anything still blocked opening it for reading is released."""
    os.mkfifo(path)
    try:
        yield path
    finally:
        with contextlib.suppress(OSError):  # ENXIO: nobody is blocked on it, as it should be
            os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))


# ---------------------------------------------------------------------------------------------- aliases and size


def test_the_alias_bomb_is_refused_at_once(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "bomb.yaml"
    path.write_text(bomb(), encoding="utf-8")
    assert path.stat().st_size < 400
    with pytest.raises(ContractError, match=rf"the scenario {path} is not valid YAML \(line 2, column \d+\): "
                                            rf"its aliases expand to more than {MAX_NODES} nodes"):
        load_scenario(path)
    err = refused_by_serve(capsys, monkeypatch, "--scenario", str(path))
    assert "expand to more than" in err
    with live_server(scenario_dirs=[tmp_path]) as live:
        answer = load_scenario_through_the_admin_api(live, "bomb")
        assert answer.status == 404
        assert answer.json["why"].startswith("the scenario 'bomb' is not valid YAML (line 2, column ")
        assert str(tmp_path) not in answer.json["why"]
        assert live.request("GET", "/_mock/scenario", token=None).json["scenario"] == "extend-and-terminate"


def test_many_aliases_are_refused_but_a_few_are_fine(tmp_path: Path) -> None:
    many = tmp_path / "many.yaml"
    many.write_text("name: many\ndescription: &d x\nsteps: [" + ", ".join(
        ["{call: jobs.browse, note: *d}"] * (MAX_ALIASES + 1)) + "]\n", encoding="utf-8")
    with pytest.raises(ContractError, match=f"more than {MAX_ALIASES} aliases"):
        load_scenario(many)
    few = tmp_path / "few.yaml"
    few.write_text("name: few\nsteps:\n  - {call: jobs.create, request: &body {items: [{application: "
                   "{name: a, version: '1'}, product: {id: p, category: c, provider: x}}]}}\n"
                   "  - {call: jobs.create, request: *body}\n", encoding="utf-8")
    steps = load_scenario(few).steps
    assert steps[0].request == steps[1].request == {"items": [{"application": {"name": "a", "version": "1"},
                                                               "product": {"id": "p", "category": "c",
                                                                           "provider": "x"}}]}


def test_a_recursive_alias_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "loop.yaml"
    path.write_text("name: loop\nsteps: [{call: jobs.create, request: &r {items: [*r]}}]\n", encoding="utf-8")
    with pytest.raises(ContractError, match="refers to itself"):
        load_scenario(path)


def test_a_file_over_the_size_limit_is_refused_without_reading_it_all(tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    with path.open("w", encoding="utf-8") as out:
        out.write(GOOD)
        out.write("#" + "x" * (MAX_SCENARIO_BYTES - len(GOOD) - 1) + "\n")
    assert path.stat().st_size == MAX_SCENARIO_BYTES + 1
    with pytest.raises(ContractError, match=rf"the scenario {path} is larger than 1 MiB"):
        load_scenario(path)
    with path.open("r+b") as out:
        out.truncate(MAX_SCENARIO_BYTES)  # the last byte was the newline after the comment
    assert load_scenario(path).first_id == 7


# ---------------------------------------------------------------------------------------------- FIFOs and symlinks


def test_a_fifo_named_like_a_scenario_blocks_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "good.yaml").write_text(GOOD, encoding="utf-8")
    with fifo(tmp_path / "x.yaml") as path:
        assert sorted(finishes(lambda: list_scenarios([tmp_path]))) == sorted([*list_scenarios(), "good"])
        with pytest.raises(ContractError, match="unknown scenario 'x'"):
            finishes(lambda: resolve_scenario("x", [tmp_path]))
        with pytest.raises(ContractError, match=rf"the scenario {path} is not a regular file"):
            finishes(lambda: load_scenario(path))
        err = finishes(lambda: refused_by_serve(capsys, monkeypatch, "--scenario", str(path)))
        assert "is not a regular file" in err
        with live_server(scenario_dirs=[tmp_path], threads=1) as live:  # one worker: a hang would stop all
            answer = finishes(lambda: load_scenario_through_the_admin_api(live, "x"))
            assert (answer.status, answer.json["why"].split(";")[0]) == (404, "unknown scenario 'x'")
            assert "x" not in live.request("GET", "/_mock/scenario", token=None).json["available"]
            assert load_scenario_through_the_admin_api(live, "good").status == 200


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A file outside the scenario folder whose text is a YAML error on its first line, with a secret in it."""
    secret = tmp_path / "private" / "notes.txt"
    secret.parent.mkdir()
    secret.write_text(f"{SECRET}: [unclosed\n", encoding="utf-8")
    return secret


def test_a_symlink_out_of_the_folder_is_not_a_scenario(tmp_path: Path, outside: Path) -> None:
    folder = tmp_path / "scenarios"
    folder.mkdir()
    (folder / "leak.yaml").symlink_to(outside)
    (folder / "good.yaml").write_text(GOOD, encoding="utf-8")
    (folder / "alias.yaml").symlink_to(folder / "good.yaml")  # a link inside the folder is fine
    assert {"leak", "good", "alias"} & set(list_scenarios([folder])) == {"good", "alias"}
    with pytest.raises(ContractError, match="unknown scenario 'leak'") as raised:
        resolve_scenario("leak", [folder])
    assert SECRET not in str(raised.value)
    assert resolve_scenario("alias", [folder]).first_id == 7
    with live_server(scenario_dirs=[folder]) as live:
        answer = load_scenario_through_the_admin_api(live, "leak")
        assert answer.status == 404
        assert SECRET not in answer.json["why"]
        assert str(outside) not in answer.json["why"]
        assert "leak" not in live.request("GET", "/_mock/scenario", token=None).json["available"]


@pytest.mark.parametrize("text", [f"name: broken\ntitle: {SECRET}: [unclosed\n", f"name: broken\n\t{SECRET}\n",
                                  f"name: broken\ntitle: !!python/object/apply:{SECRET} []\n",
                                  f"name: broken\ntitle: *{SECRET}\n"])
def test_a_yaml_error_names_the_scenario_and_its_line_not_its_contents(tmp_path: Path, text: str,
                                                                       capsys: pytest.CaptureFixture[str],
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text(text, encoding="utf-8")
    with live_server(scenario_dirs=[tmp_path]) as live:
        why = load_scenario_through_the_admin_api(live, "broken").json["why"]
    assert why.startswith("the scenario 'broken' is not valid YAML (line "), why
    assert SECRET not in why
    assert str(tmp_path) not in why
    err = refused_by_serve(capsys, monkeypatch, "--scenario", str(path))
    assert f"the scenario {path} is not valid YAML (line " in err
    assert SECRET not in err


def test_a_field_error_names_the_scenario_by_name_or_by_the_path_given(tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "odd.yaml").write_text("name: odd\ncolour: blue\n", encoding="utf-8")
    with live_server(scenario_dirs=[tmp_path]) as live:
        why = load_scenario_through_the_admin_api(live, "odd").json["why"]
    assert why.startswith("scenario 'odd': /: Additional properties are not allowed ('colour' was unexpected)"), why
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ContractError, match=r"^odd\.yaml: /: Additional properties are not allowed"):
        resolve_scenario("odd.yaml")


def test_an_unreadable_file_is_named_without_the_systems_text_of_its_path(tmp_path: Path) -> None:
    path = tmp_path / "gone.yaml"
    with pytest.raises(ContractError) as raised:
        load_scenario(path)
    assert str(raised.value) == f"cannot read the scenario {path}: No such file or directory"
    assert "[Errno" not in str(raised.value)
