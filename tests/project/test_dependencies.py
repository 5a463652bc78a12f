"""The dependencies: pyproject.toml's ranges exclude the versions with published advisories,
and requirements.lock (what `make install` installs, with --require-hashes) pins every package
with hashes, within those ranges."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]
LOCK = ROOT / "requirements.lock"
PIN_RE = re.compile(r"^([A-Za-z0-9._-]+)==(\S+) \\$")

# package -> a version with a published advisory, fixed after it
VULNERABLE = {
    "h11": "0.15.0",  # CVE-2025-43859: malformed chunked bodies accepted (request smuggling)
    "starlette": "1.0.0",  # CVE-2026-48710: Host header; CVE-2025-62727: Range header DoS
    "python-multipart": "0.0.17",  # CVE-2024-53981: DoS on malformed multipart boundaries
}


def declared() -> dict[str, Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    lines = [*project["dependencies"], *project["optional-dependencies"]["test"]]
    return {r.name.lower(): r for r in map(Requirement, lines)}


def locked() -> dict[str, tuple[Version, int]]:
    """name -> (pinned version, number of hashes)."""
    pins: dict[str, tuple[Version, int]] = {}
    name = ""
    for line in LOCK.read_text().splitlines():
        match = PIN_RE.match(line)
        if match:
            name = match.group(1).lower()
            pins[name] = (Version(match.group(2)), 0)
        elif line.strip().startswith("--hash=sha256:") and name:
            version, hashes = pins[name]
            pins[name] = (version, hashes + 1)
    return pins


@pytest.mark.parametrize("package", sorted(VULNERABLE))
def test_the_declared_ranges_exclude_versions_with_advisories(package: str) -> None:
    requirement = declared()[package]
    assert not requirement.specifier.contains(VULNERABLE[package]), requirement


def test_the_lock_pins_every_declared_package_with_hashes_within_its_range() -> None:
    pins = locked()
    for name, requirement in declared().items():
        assert name in pins, f"{name} is not in requirements.lock (run make lock)"
        version, _ = pins[name]
        assert requirement.specifier.contains(version), (name, version, requirement)
    assert all(hashes for _, hashes in pins.values())  # pip --require-hashes needs them all
    assert "pip" in pins  # sqlite-utils requires pip: locked too (pip-compile --allow-unsafe)
