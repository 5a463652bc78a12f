"""The dependencies: pyproject.toml's ranges exclude the versions with published advisories,
and three locks pin every package with hashes, within those ranges: requirements.lock (the
runtime: what `make install` installs, with --require-hashes), requirements-build.lock (pip,
setuptools and wheel, installed before the bot is built without build isolation) and
requirements-dev.lock (the runtime and the test extra, for `make test`). The test tools never
reach an operator's install."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]
LOCK = ROOT / "requirements.lock"
BUILD_LOCK = ROOT / "requirements-build.lock"
DEV_LOCK = ROOT / "requirements-dev.lock"
MAKEFILE = ROOT / "Makefile"
PIN_RE = re.compile(r"^([A-Za-z0-9._-]+)==(\S+) \\$")

# package -> a version with a published advisory, fixed after it
VULNERABLE = {
    "h11": "0.15.0",  # CVE-2025-43859: malformed chunked bodies accepted (request smuggling)
    "starlette": "1.0.0",  # CVE-2026-48710: Host header; CVE-2025-62727: Range header DoS
    "python-multipart": "0.0.18",  # CVE-2024-53981 before 0.0.18; 2026 advisories after it
}


def project() -> dict:  # type: ignore[type-arg]
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def requirements(lines: list[str]) -> dict[str, Requirement]:
    return {r.name.lower(): r for r in map(Requirement, lines)}


def runtime() -> dict[str, Requirement]:
    return requirements(project()["dependencies"])


def dev_extra() -> dict[str, Requirement]:
    return requirements(project()["optional-dependencies"]["test"])


def locked(lock: Path) -> dict[str, tuple[Version, int]]:
    """name -> (pinned version, number of hashes)."""
    pins: dict[str, tuple[Version, int]] = {}
    name = ""
    for line in lock.read_text().splitlines():
        match = PIN_RE.match(line)
        if match:
            name = match.group(1).lower()
            pins[name] = (Version(match.group(2)), 0)
        elif line.strip().startswith("--hash=sha256:") and name:
            version, hashes = pins[name]
            pins[name] = (version, hashes + 1)
    return pins


def assert_pinned(lock: Path, declared: dict[str, Requirement]) -> None:
    pins = locked(lock)
    for name, requirement in declared.items():
        assert name in pins, f"{name} is not in {lock.name} (run make lock)"
        version, _ = pins[name]
        assert requirement.specifier.contains(version), (name, version, requirement)
    assert all(hashes for _, hashes in pins.values())  # pip --require-hashes needs them all


@pytest.mark.parametrize("package", sorted(VULNERABLE))
def test_the_declared_ranges_exclude_versions_with_advisories(package: str) -> None:
    requirement = {**runtime(), **dev_extra()}[package]
    assert not requirement.specifier.contains(VULNERABLE[package]), requirement


def test_the_runtime_lock_pins_the_runtime_and_nothing_of_the_test_extra() -> None:
    assert_pinned(LOCK, runtime())
    pins = locked(LOCK)
    assert "pip" in pins  # sqlite-utils requires pip: locked too (pip-compile --allow-unsafe)
    for tool in ("pytest", "hypothesis", "ruff", "libfaketime", "import-linter"):
        assert tool not in pins, f"{tool} would land in production installs"


def test_the_dev_lock_pins_everything_declared_at_the_runtime_versions() -> None:
    assert_pinned(DEV_LOCK, {**runtime(), **dev_extra()})
    dev = locked(DEV_LOCK)
    for name, (version, _) in locked(LOCK).items():
        assert dev[name][0] == version, (name, dev[name][0], version)


def test_the_build_tools_are_pinned_with_hashes_at_the_runtime_versions() -> None:
    pins = locked(BUILD_LOCK)
    assert {"pip", "setuptools", "wheel"} <= set(pins)
    assert all(hashes for _, hashes in pins.values())
    assert pins["pip"][0] == locked(LOCK)["pip"][0]


def test_make_install_runs_nothing_unpinned() -> None:
    """`make install`: the build tools and the runtime from their hashed locks, then the bot
    built with those tools (no isolated build pulling the newest setuptools, no pip upgrade)."""
    text = MAKEFILE.read_text()
    recipe = text.split("$(STAMP): pyproject.toml", 1)[1].split("\n\n", 1)[0]
    installs = [line.strip() for line in recipe.splitlines() if "pip install" in line]
    assert installs == [
        "$(BIN)/python -m pip install --quiet --require-hashes -r $(BUILD_LOCK)",
        "$(BIN)/python -m pip install --quiet --require-hashes -r $(LOCK)",
        "$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .",
    ]
    assert "--upgrade" not in recipe
