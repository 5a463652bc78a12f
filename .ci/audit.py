"""`make audit`: the locked dependencies against the published advisories, with pip-audit.

    python .ci/audit.py [--pip-audit PATH] [--report FILE] LOCK...

Fails (exit 1) when any locked version has an advisory, naming each with its fix. When the
advisory database cannot be reached (no network, or an index that serves packages but not
PyPI's JSON API, so that every package is "not found"), pip-audit itself reports "No known
vulnerabilities found"; here that is one clear line saying nothing was audited, and exit 0, so
that a build without network is not failed for it but never passes as audited either.
`--report` reads a report pip-audit wrote (`-f json`) instead of running it.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

EXIT_OK, EXIT_ADVISORY = 0, 1


def run_pip_audit(pip_audit: str, locks: list[str]) -> tuple[dict[str, Any] | None, str]:
    """pip-audit's JSON report of `locks` (None if it wrote none), and its last error line."""
    with tempfile.TemporaryDirectory() as scratch:
        output = Path(scratch) / "report.json"
        command = [
            pip_audit,
            "--require-hashes",
            "--disable-pip",  # the locks pin everything: nothing to resolve or install
            "--progress-spinner",
            "off",
            "--format",
            "json",
            "--output",
            str(output),
        ]
        for lock in locks:
            command += ["--requirement", lock]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        errors = [line for line in done.stderr.splitlines() if line.strip()]
        last = errors[-1] if errors else f"exit code {done.returncode}"
        if not output.exists():
            return None, last
        try:
            return json.loads(output.read_text(encoding="utf-8")), last
        except ValueError:
            return None, last


def verdict(report: dict[str, Any] | None, problem: str = "") -> tuple[int, list[str]]:
    """The exit code and the lines to print for a pip-audit JSON report."""
    if report is None:
        return EXIT_OK, [
            f"pip-audit: the advisory database could not be reached ({problem}); "
            "the dependencies were NOT audited"
        ]
    dependencies = report.get("dependencies", [])
    vulnerable = [d for d in dependencies if d.get("vulns")]
    skipped = [d for d in dependencies if d.get("skip_reason")]
    audited = len(dependencies) - len(skipped)
    if vulnerable:
        lines = [f"pip-audit: {len(vulnerable)} locked package(s) have advisories:"]
        for dep in vulnerable:
            for vuln in dep["vulns"]:
                fixes = ", ".join(vuln.get("fix_versions") or []) or "none yet"
                names = " / ".join([vuln.get("id", "?"), *vuln.get("aliases", [])])
                lines.append(
                    f"  {dep['name']} {dep.get('version', '?')}: {names} (fixed in {fixes})"
                )
        lines.append("Raise the floor in pyproject.toml and run make lock.")
        return EXIT_ADVISORY, lines
    if dependencies and not audited:
        return EXIT_OK, [
            f"pip-audit: the advisory database could not be reached (all {len(skipped)} "
            "packages were skipped as not found); the dependencies were NOT audited"
        ]
    lines = [f"pip-audit: {audited} locked packages audited, no known advisories"]
    if skipped:
        names = ", ".join(sorted(d["name"] for d in skipped))
        lines.append(f"pip-audit: {len(skipped)} package(s) could not be audited: {names}")
    return EXIT_OK, lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("locks", nargs="*", help="hashed requirement files to audit")
    parser.add_argument("--pip-audit", default="pip-audit", help="the pip-audit executable")
    parser.add_argument("--report", help="read this pip-audit JSON report instead of running it")
    args = parser.parse_args(argv)
    if args.report:
        code, lines = verdict(json.loads(Path(args.report).read_text(encoding="utf-8")))
    else:
        try:
            report, problem = run_pip_audit(args.pip_audit, args.locks)
        except OSError as exc:  # pip-audit missing: a broken setup, not a network problem
            print(f"pip-audit cannot be run: {exc}", file=sys.stderr)
            return 2
        code, lines = verdict(report, problem)
    print("\n".join(lines))
    return code


if __name__ == "__main__":
    sys.exit(main())
