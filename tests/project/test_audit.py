"""`make audit` (.ci/audit.py around pip-audit): an advisory on a locked version fails the
build, naming it and its fix; an advisory database out of reach is one clear line and no
failure, and never reads as "audited" (pip-audit alone says "No known vulnerabilities found"
when every package was skipped as not found)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
AUDIT = ROOT / ".ci" / "audit.py"


def audit(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(AUDIT), *args], capture_output=True, text=True, check=False
    )


def report(tmp_path: Path, dependencies: list[dict[str, object]]) -> str:
    path = tmp_path / "report.json"
    path.write_text(json.dumps({"dependencies": dependencies, "fixes": []}))
    return str(path)


def test_an_advisory_fails_naming_the_package_and_its_fix(tmp_path: Path) -> None:
    vuln = {"id": "GHSA-xxxx", "aliases": ["CVE-2026-0001"], "fix_versions": ["0.0.35"]}
    deps = [
        {"name": "python-multipart", "version": "0.0.34", "vulns": [vuln]},
        {"name": "h11", "version": "0.16.0", "vulns": []},
    ]
    result = audit("--report", report(tmp_path, deps))
    assert result.returncode == 1
    assert "  python-multipart 0.0.34: GHSA-xxxx / CVE-2026-0001 (fixed in 0.0.35)" in (
        result.stdout.splitlines()
    )


def test_no_advisory_passes(tmp_path: Path) -> None:
    deps = [{"name": "h11", "version": "0.16.0", "vulns": []}]
    result = audit("--report", report(tmp_path, deps))
    assert (result.returncode, result.stdout.strip()) == (
        0,
        "pip-audit: 1 locked packages audited, no known advisories",
    )


def test_every_package_skipped_is_said_not_audited_without_failing(tmp_path: Path) -> None:
    deps = [
        {"name": n, "skip_reason": f"Dependency not found on PyPI and could not be audited: {n}"}
        for n in ("h11", "starlette")
    ]
    result = audit("--report", report(tmp_path, deps))
    assert result.returncode == 0
    assert result.stdout.strip() == (
        "pip-audit: the advisory database could not be reached (all 2 packages were skipped "
        "as not found); the dependencies were NOT audited"
    )


def test_pip_audit_failing_to_connect_is_one_line_without_failing(tmp_path: Path) -> None:
    """pip-audit writes no report and a traceback when it cannot connect (OSV, no DNS)."""
    offline = tmp_path / "pip-audit"
    offline.write_text(
        "#!/bin/sh\necho 'Traceback (most recent call last):' >&2\n"
        "echo 'socket.gaierror: [Errno -2] Name or service not known' >&2\nexit 1\n"
    )
    offline.chmod(0o755)
    result = audit("--pip-audit", str(offline), str(ROOT / "requirements.lock"))
    assert result.returncode == 0
    assert result.stdout.strip() == (
        "pip-audit: the advisory database could not be reached (socket.gaierror: [Errno -2] "
        "Name or service not known); the dependencies were NOT audited"
    )
