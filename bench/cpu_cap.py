"""A fixed share of a core for each bot process: one machine's worth each, on one machine.

Issue 20's bar asks whether two processes carry twice one's updates when the load is bound by
the bot's CPU. On a 2-core machine that also runs PostgreSQL, the proxy, the sandbox and the
customers, a second process finds no free core, so the uncapped figure says more about the
machine than about the bot. Capping every bot process at the same share of a core (the kernel's
CFS quota, a cgroup per process) gives each process a budget of its own, as a machine of its
own would, while the rest keeps the remaining cores: then whether N processes carry N times
the updates depends only on what they share (PostgreSQL, the coordination).

Needs write access to the cgroup file system (root, or a delegated cgroup); without it the
capped runs are skipped with the reason.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

V1 = Path("/sys/fs/cgroup/cpu")  # cgroup v1's cpu controller
V2 = Path("/sys/fs/cgroup")  # cgroup v2's unified hierarchy
PERIOD_US = 100_000


def unavailable() -> str | None:
    """Why capping cannot be done here, or None."""
    if (V1 / "cpu.cfs_quota_us").exists():
        return None if os.access(V1, os.W_OK) else f"{V1} is not writable"
    controllers = V2 / "cgroup.controllers"
    if controllers.exists() and "cpu" in controllers.read_text().split():
        return None if os.access(V2, os.W_OK) else f"{V2} is not writable"
    return "no cgroup cpu controller on this machine"


@contextmanager
def cpu_capped(pids: list[int], share: float) -> Iterator[None]:
    """Each of `pids` in a cgroup of its own, allowed `share` of one core, for the block."""
    made: list[Path] = []
    v1 = (V1 / "cpu.cfs_quota_us").exists()
    quota = max(1000, round(share * PERIOD_US))
    try:
        for pid in pids:
            group = (V1 if v1 else V2) / f"bench-bot-{os.getpid()}-{pid}"
            group.mkdir()
            made.append(group)
            if v1:
                (group / "cpu.cfs_period_us").write_text(str(PERIOD_US))
                (group / "cpu.cfs_quota_us").write_text(str(quota))
            else:
                (group / "cpu.max").write_text(f"{quota} {PERIOD_US}")
            (group / "cgroup.procs").write_text(str(pid))
        yield
    finally:
        root = V1 if v1 else V2
        for group in made:
            for pid in (group / "cgroup.procs").read_text().split():
                with contextlib.suppress(OSError):  # the process has ended meanwhile
                    (root / "cgroup.procs").write_text(pid)
            group.rmdir()
