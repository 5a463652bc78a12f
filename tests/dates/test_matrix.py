"""The date matrix: the journeys that touch dates (book, reschedule, the .ics file, reminders)
at month ends, year ends, leap days, both daylight-saving switches in Madrid, Rome and Berlin
(their eve and their day), and Mexico City (no switch since 2022). At every point the
calendar opens on something to tap and every time shown is the branch's wall clock."""

from __future__ import annotations

import pytest

from sandbox.testing import SandboxServer
from tests.dates.journeys import Point, book, remind, reschedule
from tests.reminders.harness import OpsBot
from tests.telegram.harness import Chat

MADRID, MILAN, BERLIN = "Madrid – Chamberí", "Milano – Porta Romana", "Berlin – Prenzlauer Berg"
ALL_NIGHT, MEXICO = "Madrid – Urgencias 24 h", "Ciudad de México – Roma Norte"
CHECKUP = "Quick check-up"

MATRIX = [
    Point("a month's last day, 23:30", "2026-11-30 23:30", "Europe/Madrid", MADRID),
    Point("a month end on a Sunday", "2027-02-28 23:30", "Europe/Rome", MILAN, language="it"),
    Point("31 December, 23:30", "2026-12-31 23:30", "Europe/Madrid", MADRID, language="es"),
    Point(
        "1 January, 00:30 (31 December in UTC)",
        "2027-01-01 00:30",
        "Europe/Berlin",
        BERLIN,
        language="de",
    ),
    Point("spring switch eve", "2027-03-27 12:00", "Europe/Madrid", MADRID, language="es"),
    Point("spring switch eve", "2027-03-27 18:00", "Europe/Rome", MILAN, language="it"),
    Point("spring switch eve", "2027-03-27 23:30", "Europe/Berlin", BERLIN, language="de"),
    Point("spring switch night", "2027-03-28 01:30", "Europe/Madrid", ALL_NIGHT, CHECKUP, "es"),
    Point("spring switch day", "2027-03-28 03:30", "Europe/Rome", MILAN, language="it"),
    Point("spring switch day", "2027-03-28 12:00", "Europe/Berlin", BERLIN, language="de"),
    Point("autumn switch eve", "2027-10-30 12:00", "Europe/Madrid", MADRID),
    Point("autumn switch eve", "2027-10-30 23:30", "Europe/Rome", MILAN, language="it"),
    Point("autumn switch eve", "2027-10-30 20:00", "Europe/Berlin", BERLIN, language="de"),
    Point("autumn switch night", "2027-10-31 01:30", "Europe/Madrid", ALL_NIGHT, CHECKUP, "es"),
    Point(
        "autumn switch day, a Sunday and a month end",
        "2027-10-31 10:00",
        "Europe/Rome",
        MILAN,
        language="it",
    ),
    Point("autumn switch day, 23:30", "2027-10-31 23:30", "Europe/Berlin", BERLIN, language="de"),
    Point(
        "Mexico City, a month's last day",
        "2026-11-30 23:30",
        "America/Mexico_City",
        MEXICO,
        language="es",
    ),
    Point(
        "Mexico City, its old spring switch",
        "2027-04-04 02:30",
        "America/Mexico_City",
        MEXICO,
        language="es",
    ),
    Point("29 February", "2028-02-29 08:00", "Europe/Madrid", MADRID),
    Point("the eve of 29 February", "2028-02-28 23:30", "Europe/Berlin", BERLIN, language="de"),
]


@pytest.mark.parametrize("point", MATRIX, ids=[p.id for p in MATRIX])
async def test_book_reschedule_and_be_reminded(
    point: Point, ops: OpsBot, chat: Chat, sandbox: SandboxServer
) -> None:
    sandbox.clock.set(point.instant)
    chat.language = point.language
    await book(chat, sandbox, point)
    moved = await reschedule(chat, sandbox, point)
    await remind(ops, chat, sandbox, moved)
    assert not sandbox.store.active_holds()
