"""One dependency set: a plain install resolves the versions that the test install runs.

pip takes the newest version that every requirement admits. If a test dependency caps a runtime dependency
lower than pyproject.toml does (schemathesis pins jsonschema-rs to one 0.x minor), `pip install .` and
`pip install '.[test]'` resolve different versions, and the tests prove nothing about what users run. So for
every runtime dependency, no version newer than the installed one may be admitted by the runtime range and
refused by a requirement anywhere in the test extra's dependency tree (read from the installed metadata).
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10, where pytest brings tomli
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
RUNTIME = [Requirement(text) for text in PROJECT["dependencies"]]
TEST_EXTRA = [Requirement(text) for text in PROJECT["optional-dependencies"]["test"]]


def _installed(name: str) -> Version:
    return Version(metadata.version(name))


def constraints(roots: Iterable[Requirement], names: set[str]) -> Iterator[tuple[str, Requirement]]:
    """Every requirement on one of ``names`` in the installed tree under ``roots``, with who makes it.

    Markers are evaluated for this interpreter with no extra selected: only what pip would install counts.
    """
    queue = [(root, "the test extra") for root in roots]
    seen: set[str] = set()
    while queue:
        requirement, origin = queue.pop()
        name = canonicalize_name(requirement.name)
        if requirement.marker is not None and not requirement.marker.evaluate({"extra": ""}):
            continue
        if name in names:
            yield origin, requirement
        if name in seen:
            continue
        seen.add(name)
        distribution = metadata.distribution(name)  # PackageNotFoundError: the test extra is not installed
        queue += [(Requirement(text), distribution.metadata["Name"]) for text in distribution.requires or ()]


def _probes(*specifiers: SpecifierSet) -> set[Version]:
    """Each version a specifier names, and the next micro, minor and major release after it."""
    found: set[Version] = set()
    for specifier in (single for group in specifiers for single in group):
        try:
            version = Version(specifier.version.removesuffix(".*"))
        except InvalidVersion:  # `===` takes any string; none is used here
            continue
        major, minor, micro = (*version.release, 0, 0)[:3]
        found |= {version, Version(f"{major}.{minor}.{micro + 1}"), Version(f"{major}.{minor + 1}"),
                  Version(f"{major + 1}")}
    return found


def admitted_beyond(runtime: SpecifierSet, constraint: SpecifierSet, installed: Version) -> list[Version]:
    """Versions newer than ``installed`` that ``runtime`` admits and ``constraint`` refuses.

    Specifiers cut the line of versions only at the versions they name, so testing those and the releases
    just after them finds every gap.
    """
    return sorted(probe for probe in _probes(runtime, constraint)
                  if probe > installed and probe in runtime and probe not in constraint)


def findings(runtime: Iterable[Requirement], test_extra: Iterable[Requirement]) -> list[str]:
    """Where a plain install would resolve a runtime dependency newer than the test install does."""
    by_name = {canonicalize_name(requirement.name): requirement for requirement in runtime}
    found = []
    for origin, requirement in constraints(test_extra, set(by_name)):
        name = canonicalize_name(requirement.name)
        ours = by_name[name].specifier
        beyond = admitted_beyond(ours, requirement.specifier, _installed(name))
        if beyond:
            found.append(f"{name}: {ours} admits {beyond[0]}, which {origin} ({requirement}) refuses")
    return sorted(set(found))


def test_the_test_extra_is_installed() -> None:
    # The checks below read the test extra's installed metadata; the README's test command installs it.
    assert [str(requirement) for requirement in TEST_EXTRA
            if _installed(requirement.name) not in requirement.specifier] == []


def test_each_runtime_dependency_is_installed_at_a_version_its_range_admits() -> None:
    assert [f"{requirement.name} {_installed(requirement.name)} is outside {requirement.specifier}"
            for requirement in RUNTIME if _installed(requirement.name) not in requirement.specifier] == []


def test_no_test_requirement_refuses_the_installed_runtime_versions() -> None:
    names = {canonicalize_name(requirement.name) for requirement in RUNTIME}
    refused = [f"{origin} requires {requirement}; {_installed(requirement.name)} is installed"
               for origin, requirement in constraints(TEST_EXTRA, names)
               if _installed(requirement.name) not in requirement.specifier]
    assert refused == []


def test_a_plain_install_resolves_what_the_test_install_runs() -> None:
    assert findings(RUNTIME, TEST_EXTRA) == []


def test_the_old_open_range_of_jsonschema_rs_is_found() -> None:
    # What pyproject.toml said before: a plain install took jsonschema-rs 0.61, the test install 0.60.
    (cap,) = [requirement for origin, requirement in constraints(TEST_EXTRA, {"jsonschema-rs"})
              if origin == "schemathesis"]
    first = admitted_beyond(SpecifierSet(">=0.29"), cap.specifier, _installed("jsonschema-rs"))[0]
    assert findings([Requirement("jsonschema-rs>=0.29")], TEST_EXTRA) == [
        f"jsonschema-rs: >=0.29 admits {first}, which schemathesis ({cap}) refuses"]


def test_the_gap_finder() -> None:
    installed = Version("0.60.3")
    assert admitted_beyond(SpecifierSet(">=0.29"), SpecifierSet(">=0.60.1,<0.61.0"), installed) == [
        Version("0.61.0"), Version("0.61.1"), Version("0.62"), Version("1")]
    assert admitted_beyond(SpecifierSet(">=0.60.1,<0.61"), SpecifierSet(">=0.60.1,<0.61.0"), installed) == []
    assert admitted_beyond(SpecifierSet("<0.61"), SpecifierSet("<=0.60.3"), installed) == [Version("0.60.4")]
    assert admitted_beyond(SpecifierSet("<7"), SpecifierSet("==6.*"), Version("6.170")) == []
    assert admitted_beyond(SpecifierSet("<8"), SpecifierSet("==6.*"), Version("6.170")) == [Version("7")]
    # Older versions than the installed one are the user's business: lower bounds stay the project's own.
    assert admitted_beyond(SpecifierSet(">=7.4"), SpecifierSet(">=8.4"), Version("9.2")) == []
