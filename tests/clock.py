"""Time in the tests: the instants they run at, and a way to run a whole process at one.

Every test pins its clock. In-process code gets the sandbox's clock (`now=sandbox.clock.now`);
a process started by a test (`python -m bot`, the demo) gets its clock from libfaketime, which
the `libfaketime` test dependency ships: preloaded into the child, it moves the child's wall
clock (Python, SQLite and python-telegram-bot alike) to the instant the test chose, ticking
from there. Monotonic clocks stay real, so timeouts and event loops behave.

Nothing of this is in the bot: operators have no setting that changes its notion of time.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

import libfaketime

# The instant most tests run at: Monday 23 November 2026, 07:00 in Madrid, an ordinary
# weekday on which every branch opens later that day.
MONDAY = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)


# libfaketime reads more than FAKETIME: a caller's FAKETIME_FMT, FAKETIME_START_AFTER_SECONDS,
# FAKETIME_TIMESTAMP_FILE, FAKETIME_SHARED, DONT_FAKE_MONOTONIC... would move or unpin the child
# (a suite run under libfaketime once moved a child to May 2029). None may be inherited.
_FAKETIME_PREFIXES = ("FAKETIME", "DONT_FAKE_MONOTONIC", "NO_FAKE_")


def faketime_env(at: datetime) -> dict[str, str]:
    """Environment variables that start a child process's wall clock at `at`."""
    _, preload = libfaketime.get_reload_information()
    env = dict(preload)
    env["FAKETIME"] = "@" + at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
    env["TZ"] = "UTC"  # FAKETIME's "@" instant is read in the child's local zone
    return env


def pinned_env(base: Mapping[str, str], at: datetime) -> dict[str, str]:
    """`base` (a caller's environment) for a child whose wall clock starts at `at`: every
    libfaketime variable of `base` is dropped, then ours are set, so the pin is ours alone."""
    env = {k: v for k, v in base.items() if not k.startswith(_FAKETIME_PREFIXES)}
    env.update(faketime_env(at))
    return env
