"""``ucloud-jobs spec``: the contract written out as YAML (the file as written) or JSON (the same document)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from contracts.errors import ContractError
from contracts.paths import spec_path
from contracts.spec import Spec
from contracts.spec_text import spec_bytes
from mockserver.cli import main

BUNDLED = spec_path().read_text(encoding="utf-8")


def test_spec_writes_the_bundled_yaml_as_written(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["spec"]) == 0
    out, err = capsys.readouterr()
    assert (out, err) == (BUNDLED, "")
    assert main(["spec", "--format", "yaml"]) == 0
    assert capsys.readouterr().out == BUNDLED


def test_spec_writes_the_same_document_as_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["spec", "--format", "json"]) == 0
    out = capsys.readouterr().out
    assert json.loads(out) == yaml.safe_load(BUNDLED)
    assert out.startswith('{\n  "openapi": "3.1.0",')
    assert out.endswith("}\n")


@pytest.mark.parametrize(("arguments", "name", "fmt"), [
    (["-o", "jobs.json"], "jobs.json", "json"),
    (["-o", "jobs.JSON"], "jobs.JSON", "json"),
    (["--output", "jobs.yaml"], "jobs.yaml", "yaml"),
    (["-o", "contract.txt"], "contract.txt", "yaml"),
    (["--format", "yaml", "-o", "odd.json"], "odd.json", "yaml"),
    (["--format", "json", "-o", "odd.yaml"], "odd.yaml", "json"),
])
def test_spec_writes_a_file_in_the_format_asked_or_named(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                        arguments: list[str], name: str, fmt: str) -> None:
    arguments = [str(tmp_path / argument) if argument == name else argument for argument in arguments]
    assert main(["spec", *arguments]) == 0
    assert capsys.readouterr() == ("", "")
    assert [path.name for path in tmp_path.iterdir()] == [name]
    written = (tmp_path / name).read_text(encoding="utf-8")
    if fmt == "yaml":
        assert written == BUNDLED
    else:
        assert json.loads(written) == yaml.safe_load(BUNDLED)


@pytest.mark.parametrize(("arguments", "message"), [
    (["spec", "-o", "{missing}/jobs.yaml"], "ucloud-jobs spec: error: cannot write the spec to {missing}/jobs.yaml: "
                                            "No such file or directory\n"),
    (["spec", "--format", "toml"], "ucloud-jobs spec: error: argument --format: invalid choice: 'toml' (choose from "
                                   "yaml, json) (see 'ucloud-jobs spec --help')\n"),
])
def test_a_usage_error_is_one_line_and_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                             arguments: list[str], message: str) -> None:
    missing = str(tmp_path / "missing")
    assert main([argument.format(missing=missing) for argument in arguments]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.replace("'yaml', 'json'", "yaml, json") == message.format(missing=missing)


def test_a_spec_held_in_memory_is_dumped_as_yaml() -> None:
    spec = Spec({"openapi": "3.1.0", "info": {"title": "t", "version": "1"}, "paths": {}, "components": {}})
    assert yaml.safe_load(spec_bytes("yaml", spec)) == spec.document
    assert spec_bytes("yaml", spec).startswith(b"openapi: 3.1.0\n")
    with pytest.raises(ContractError, match=r"^unknown format 'toml' of the spec; known formats: yaml, json$"):
        spec_bytes("toml", spec)
