"""The layering of the code, read from the source: who may import whom, honest public APIs, a lazy package.

`openapi/` is data; `contracts` reads it; `mockserver` serves it and may use `contracts`; `contracts` never
imports `mockserver`, except its pytest plugin (`contracts/plugin.py`), which wires the two (DESIGN.md).
"""

from __future__ import annotations

import ast
import importlib
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("contracts", "mockserver")
# The one module of `contracts` that may import `mockserver`: it wires both into pytest.
PLUGIN = "contracts.plugin"
# Folders that are not importable code of the distribution: nothing shipped may import them.
NOT_SHIPPED = ("tests", "scripts", "benchmarks", "examples")
# What `import contracts` must not pull in: the package loads each name on first use (contracts/__init__.py).
HEAVY = ("jsonschema", "jsonschema_rs", "referencing", "yaml", "hypothesis", "werkzeug", "mockserver")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> list[tuple[str, Path]]:
    paths = [path for package in PACKAGES for path in sorted((ROOT / package).rglob("*.py"))]
    found = [(_module_name(path), path) for path in paths]
    return [(name, path) for name, path in found if "__pycache__" not in path.parts]


def imported_modules(source: str, module: str, is_package: bool = False) -> Iterator[tuple[int, str]]:
    """Every module name that ``source`` (the text of ``module``) imports, with its line, wherever it happens.

    ``from a import b`` yields ``a`` and ``a.b`` (``b`` may be a module); relative imports are made absolute;
    ``importlib.import_module("x")`` and ``__import__("x")`` with a literal name count too.
    """
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base_parts = package.split(".")
                base = ".".join(base_parts[: len(base_parts) - node.level + 1])
                origin = f"{base}.{node.module}" if node.module else base
            else:
                origin = node.module or ""
            yield node.lineno, origin
            for alias in node.names:
                if alias.name != "*":
                    yield node.lineno, f"{origin}.{alias.name}"
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            function = node.func
            called = function.attr if isinstance(function, ast.Attribute) else getattr(function, "id", "")
            if called in {"import_module", "__import__"} and isinstance(node.args[0].value, str):
                yield node.lineno, node.args[0].value


def _within(name: str, top: str) -> bool:
    return name == top or name.startswith(top + ".")


def layer_violations(module: str, source: str, is_package: bool = False) -> list[str]:
    """The imports of ``module`` that break the layering, as ``module:line imports name``."""
    broken = []
    for line, name in imported_modules(source, module, is_package):
        forbidden = any(_within(name, top) for top in NOT_SHIPPED)
        if _within(module, "contracts") and module != PLUGIN and _within(name, "mockserver"):
            forbidden = True
        if forbidden:
            broken.append(f"{module}:{line} imports {name}")
    return broken


def test_the_layering_holds_in_every_module() -> None:
    modules = _modules()
    names = {name for name, _ in modules}
    assert {"contracts", "contracts.spec", "contracts.validation", "mockserver"} <= names
    broken = []
    for name, path in modules:
        broken += layer_violations(name, path.read_text(encoding="utf-8"), path.name == "__init__.py")
    assert broken == []


@pytest.mark.parametrize(
    ("module", "source", "expected"),
    [
        ("contracts.spec", "import mockserver", ["contracts.spec:1 imports mockserver"]),
        ("contracts.spec", "from mockserver.app import create_app",
         ["contracts.spec:1 imports mockserver.app", "contracts.spec:1 imports mockserver.app.create_app"]),
        ("contracts.sub.x", "def f():\n    from mockserver import app",
         ["contracts.sub.x:2 imports mockserver", "contracts.sub.x:2 imports mockserver.app"]),
        ("contracts.spec", "import importlib\nimportlib.import_module('mockserver.engine')",
         ["contracts.spec:2 imports mockserver.engine"]),
        ("contracts.spec", "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import mockserver.clock",
         ["contracts.spec:3 imports mockserver.clock"]),
        ("mockserver.app", "from tests.helpers import x",
         ["mockserver.app:1 imports tests.helpers", "mockserver.app:1 imports tests.helpers.x"]),
        ("contracts.plugin", "from mockserver import create_app", []),
        ("mockserver.app", "from contracts import validate", []),
        ("contracts.spec", "from .errors import ContractError\nimport mockserverish", []),
    ],
)
def test_the_import_walker_sees_what_it_must(module: str, source: str, expected: list[str]) -> None:
    assert layer_violations(module, source) == expected


def test_relative_imports_resolve_against_the_package() -> None:
    assert list(imported_modules("from .spec import Spec", "contracts", is_package=True)) == \
        [(1, "contracts.spec"), (1, "contracts.spec.Spec")]
    assert list(imported_modules("from ..errors import E", "contracts.sub.x")) == \
        [(1, "contracts.errors"), (1, "contracts.errors.E")]
    assert list(imported_modules("from . import errors", "contracts.spec")) == \
        [(1, "contracts"), (1, "contracts.errors")]


# ---------------------------------------------------------------------------------------------- public API


def _defined_names(path: Path) -> set[str]:
    """The names a module defines at top level (functions, classes, assignments), not the ones it imports."""
    names: set[str] = set()
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names |= {target.id for target in node.targets if isinstance(target, ast.Name)}
        elif isinstance(node, ast.AnnAssign | ast.AugAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
    return names


@pytest.mark.parametrize("package", PACKAGES)
def test_package_all_is_honest(package: str) -> None:
    module = importlib.import_module(package)
    exported = getattr(module, "__all__", None)
    if exported is None:
        # A package without __all__ must not define public names of its own either.
        public = {name for name in _defined_names(ROOT / package / "__init__.py") if not name.startswith("_")}
        assert public == set(), f"{package} defines {sorted(public)} but has no __all__"
        return
    assert len(exported) == len(set(exported)), "a name is listed twice"
    unresolved = [name for name in exported if not hasattr(module, name)]
    assert unresolved == []
    if hasattr(module, "__dir__"):
        assert dir(module) == sorted(exported)


def test_contracts_dir_is_its_all() -> None:
    contracts = importlib.import_module("contracts")
    assert dir(contracts) == sorted(contracts.__all__)
    with pytest.raises(AttributeError, match="module 'contracts' has no attribute 'nonsense'"):
        _ = contracts.nonsense


@pytest.mark.parametrize("name", [name for name, _ in _modules() if not name.endswith(".__main__")])
def test_module_all_names_resolve(name: str) -> None:
    module = importlib.import_module(name)
    exported = getattr(module, "__all__", [])
    assert [item for item in exported if not hasattr(module, item)] == []


# ---------------------------------------------------------------------------------------------- lazy import

_PROBE = """
import importlib, json, sys
heavy = {heavy!r}
loaded = lambda: sorted(m for m in sys.modules if m.split(".")[0] in heavy)
before = loaded()
module = importlib.import_module({module!r})
after_import = loaded()
importlib.import_module("contracts").Spec
after_use = loaded()
print(json.dumps({{"before": before, "after_import": after_import, "after_use": after_use}}))
"""


@pytest.mark.parametrize("module", ["contracts", PLUGIN])
def test_importing_is_lazy(module: str) -> None:
    # pytest imports the plugin (a pytest11 entry point) in every run: it must cost nothing until used.
    if module == PLUGIN and not (ROOT / "contracts" / "plugin.py").is_file():
        pytest.skip(f"{PLUGIN} does not exist yet")
    completed = subprocess.run(
        [sys.executable, "-c", _PROBE.format(heavy=list(HEAVY), module=module)],
        cwd=ROOT, capture_output=True, text=True, check=True, timeout=60,
    )
    probe = json.loads(completed.stdout)
    assert probe["before"] == [], "the interpreter loads these before any import; the probe cannot see them"
    assert probe["after_import"] == []
    # control: the probe does see an import once a name is used
    assert "yaml" in probe["after_use"]
