"""The layering of the code, read from the source: who may import whom, honest public APIs, a lazy package.

`openapi/` is data; `contracts` reads it; `mockserver` serves it and may use `contracts`; `contracts` never
imports `mockserver` (the pytest plugin, which wires the two, lives in `mockserver`). Inside `mockserver`, the
domain (`mockserver.domain`) knows no HTTP, and the web layer uses only the domain's facade, not its insides.
The proxy's checks (`contracts.proxy`) are pure functions of the calls handed to them; its edge
(`mockserver.proxy`) moves the bytes and keeps no jobs, so it imports nothing of the mock's domain.
No module imports itself back through others, no module passes 400 lines and no function 60 (DESIGN.md).
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
# The pytest plugin: imported by pytest in every run of a consumer's suite, so it must import nothing heavy.
PLUGIN = "mockserver.pytest_plugin"
# What the domain must not import: HTTP, the server, the layers above it.
NOT_FOR_THE_DOMAIN = ("werkzeug", "httptools", "websockets", "asyncio", "http", "mockserver.web", "mockserver.server",
                      "mockserver.api", "mockserver.cli", "mockserver.control", "mockserver.remote")
# What the contract's proxy checks must not import: they are pure functions of the calls handed to them, and
# mockserver.proxy is the edge that moves bytes.
NOT_FOR_THE_PROXY_CHECKS = ("http", "socket", "ssl", "asyncio", "werkzeug", "httptools", "websockets",
                            "urllib.request")
# What the proxy's edge must not import: it keeps no jobs of its own (a recording is checked through the app).
NOT_FOR_THE_PROXY = ("mockserver.domain", "mockserver.control", "mockserver.remote", "mockserver.api")
# The domain's facade: what the layers above it may import from it.
DOMAIN_FACADE = ("mockserver.domain.engine", "mockserver.domain.errors", "mockserver.domain.access",
                 "mockserver.domain.clock", "mockserver.domain.profiles")
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60
# Folders that are not importable code of the distribution: nothing shipped may import them.
NOT_SHIPPED = ("tests", "scripts", "benchmarks", "examples")
# What `import contracts` must not pull in: the package loads each name on first use (contracts/__init__.py).
HEAVY = ("jsonschema", "jsonschema_rs", "referencing", "yaml", "hypothesis", "werkzeug", "mockserver")
# What `mockserver` may load of itself when its plugin is imported: the package and the plugin module.
PLUGIN_ITSELF = ("mockserver", PLUGIN)


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


def _forbidden(module: str, name: str) -> bool:
    if any(_within(name, top) for top in NOT_SHIPPED):
        return True
    if _within(module, "contracts.proxy") and any(_within(name, top) for top in NOT_FOR_THE_PROXY_CHECKS):
        return True
    if _within(module, "contracts"):
        return _within(name, "mockserver")
    if _within(module, "mockserver.proxy"):
        return any(_within(name, top) for top in NOT_FOR_THE_PROXY)
    if _within(module, "mockserver.domain"):
        return any(_within(name, top) for top in NOT_FOR_THE_DOMAIN)
    if _within(module, "mockserver") and _within(name, "mockserver.domain"):
        return name != "mockserver.domain" and not any(_within(name, top) for top in DOMAIN_FACADE)
    return False


def layer_violations(module: str, source: str, is_package: bool = False) -> list[str]:
    """The imports of ``module`` that break the layering, as ``module:line imports name``."""
    return [f"{module}:{line} imports {name}" for line, name in imported_modules(source, module, is_package)
            if _forbidden(module, name)]


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
        ("contracts.spec", "from mockserver.web.app import create_app",
         ["contracts.spec:1 imports mockserver.web.app", "contracts.spec:1 imports mockserver.web.app.create_app"]),
        ("contracts.sub.x", "def f():\n    from mockserver import app",
         ["contracts.sub.x:2 imports mockserver", "contracts.sub.x:2 imports mockserver.app"]),
        ("contracts.spec", "import importlib\nimportlib.import_module('mockserver.engine')",
         ["contracts.spec:2 imports mockserver.engine"]),
        ("contracts.spec", "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import mockserver.clock",
         ["contracts.spec:3 imports mockserver.clock"]),
        ("mockserver.app", "from tests.helpers import x",
         ["mockserver.app:1 imports tests.helpers", "mockserver.app:1 imports tests.helpers.x"]),
        ("contracts.plugin", "from mockserver import create_app",
         ["contracts.plugin:1 imports mockserver", "contracts.plugin:1 imports mockserver.create_app"]),
        ("mockserver.app", "from contracts import validate", []),
        ("mockserver.domain.engine", "from werkzeug.exceptions import NotFound",
         ["mockserver.domain.engine:1 imports werkzeug.exceptions",
          "mockserver.domain.engine:1 imports werkzeug.exceptions.NotFound"]),
        ("mockserver.domain.engine", "import http.client", ["mockserver.domain.engine:1 imports http.client"]),
        ("mockserver.domain.store", "from mockserver.web.errors import ApiError",
         ["mockserver.domain.store:1 imports mockserver.web.errors",
          "mockserver.domain.store:1 imports mockserver.web.errors.ApiError"]),
        ("mockserver.web.app", "from mockserver.domain.engine import Engine", []),
        ("mockserver.web.app", "from mockserver.domain.timeline import Timeline",
         ["mockserver.web.app:1 imports mockserver.domain.timeline",
          "mockserver.web.app:1 imports mockserver.domain.timeline.Timeline"]),
        ("contracts.spec", "from .errors import ContractError\nimport mockserverish", []),
        ("contracts.proxy.checks", "import http.client", ["contracts.proxy.checks:1 imports http.client"]),
        ("contracts.proxy.checks", "from urllib.parse import parse_qs", []),
        ("mockserver.proxy.app", "from mockserver.domain.engine import Engine",
         ["mockserver.proxy.app:1 imports mockserver.domain.engine",
          "mockserver.proxy.app:1 imports mockserver.domain.engine.Engine"]),
        ("mockserver.proxy.replay", "from mockserver.web.app import create_app", []),
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
    completed = subprocess.run(
        [sys.executable, "-c", _PROBE.format(heavy=list(HEAVY), module=module)],
        cwd=ROOT, capture_output=True, text=True, check=True, timeout=60,
    )
    probe = json.loads(completed.stdout)
    assert probe["before"] == [], "the interpreter loads these before any import; the probe cannot see them"
    assert [name for name in probe["after_import"] if name not in PLUGIN_ITSELF] == []
    # control: the probe does see an import once a name is used
    assert "yaml" in probe["after_use"]


# ---------------------------------------------------------------------------------------------- size and cycles


def _module_level_imports(name: str, path: Path, known: set[str]) -> set[str]:
    """The project modules ``name`` imports when it is loaded (type-only imports count; lazy ones in functions
    do not, since they run after every module is loaded)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    nodes: list[ast.stmt] = list(tree.body)
    while nodes:
        node = nodes.pop()
        if isinstance(node, ast.If | ast.Try):
            nodes += [*node.body, *getattr(node, "orelse", []), *getattr(node, "finalbody", []),
                      *(stmt for handler in getattr(node, "handlers", []) for stmt in handler.body)]
            continue
        if not isinstance(node, ast.Import | ast.ImportFrom):
            continue
        source = ast.unparse(node)
        for _, imported in imported_modules(source, name, path.name == "__init__.py"):
            if imported in known and imported != name:
                found.add(imported)
    return found


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every cycle of ``graph`` (module -> modules it imports), each once, as a path back to its start."""
    cycles: list[list[str]] = []
    seen: set[frozenset[str]] = set()

    def walk(start: str, node: str, path: list[str]) -> None:
        for following in sorted(graph.get(node, ())):
            if following == start:
                key = frozenset(path)
                if key not in seen:
                    seen.add(key)
                    cycles.append([*path, start])
            elif following not in path and following > start:
                walk(start, following, [*path, following])

    for start in sorted(graph):
        walk(start, start, [start])
    return cycles


def test_no_module_imports_itself_back() -> None:
    modules = dict(_modules())
    known = set(modules)
    graph = {name: {imported for imported in _module_level_imports(name, path, known)
                    # a package's __init__ is loaded on the way to each of its modules: not a cycle of theirs
                    if not name.startswith(imported + ".")}
             for name, path in modules.items()}
    assert import_cycles(graph) == []


def test_the_cycle_finder_finds_cycles() -> None:
    assert import_cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c", "a"]]
    assert import_cycles({"a": {"b"}, "b": set()}) == []


def _long_functions(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [f"{path.relative_to(ROOT)}:{node.lineno} {node.name} has {node.end_lineno - node.lineno + 1} lines"
            for node in ast.walk(tree)
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.end_lineno is not None
            and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES]


def test_modules_and_functions_stay_small() -> None:
    too_long = [f"{path.relative_to(ROOT)} has {lines} lines" for _, path in _modules()
                if (lines := len(path.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES]
    assert too_long == []
    assert [problem for _, path in _modules() for problem in _long_functions(path)] == []
