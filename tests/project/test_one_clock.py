"""The wall clock has one home in the bot (bot/config/clock.py, issue 17): every other module
takes a `now` it is given, so a pinned clock reaches every decision made by time. Durations
(`time.monotonic`, the event loop's time) are not the wall clock and may be read anywhere."""

from __future__ import annotations

import re
from pathlib import Path

BOT = Path(__file__).resolve().parents[2] / "bot"
WALL_CLOCK = re.compile(r"\b(datetime\.(now|utcnow|today)|date\.today|time\.time)\(")


def test_only_the_clock_module_reads_the_wall_clock() -> None:
    readers = sorted(
        str(path.relative_to(BOT.parent))
        for path in BOT.rglob("*.py")
        if WALL_CLOCK.search(path.read_text(encoding="utf-8"))
    )
    assert readers == ["bot/config/clock.py"]
