"""`python -m bot` and the demo at matrix instants: the whole process runs at the chosen
instant (libfaketime, tests/clock.py), as an operator's bot would on that day, and a customer
books through it; the confirmation names the wall-clock time Zimun booked."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.core.payload import Action
from sandbox.testing import SandboxServer
from tests.dates.journeys import Point, shows_time
from tests.dates.test_matrix import ALL_NIGHT, BERLIN, CHECKUP, MADRID
from tests.demo.test_demo import Demo
from tests.faults.harness import Customer, Launcher

POINTS = [
    Point("a month's last day, 23:30", "2026-11-30 23:30", "Europe/Madrid", MADRID),
    Point("31 December, 23:30", "2026-12-31 23:30", "Europe/Madrid", MADRID, language="es"),
    Point("autumn switch night", "2027-10-31 01:30", "Europe/Madrid", ALL_NIGHT, CHECKUP, "de"),
    Point("29 February", "2028-02-29 08:00", "Europe/Berlin", BERLIN, language="it"),
]
BRANCHES = [MADRID, "Milano – Porta Romana", BERLIN, ALL_NIGHT, "Ciudad de México – Roma Norte"]


@pytest.mark.parametrize("point", POINTS, ids=[p.id for p in POINTS])
def test_python_m_bot_books_at_the_instant(
    point: Point,
    launcher: Launcher,
    sandbox: SandboxServer,
) -> None:
    fake = launcher.fake
    sandbox.clock.set(point.instant)
    bot = launcher.start()  # its clock starts where the sandbox's stands
    ana = Customer(fake, 701, point.language)
    ana.command("start", until=lambda: ana.shows(Action.BOOK))
    ana.tap(Action.BOOK)
    ana.tap(Action.PICK, BRANCHES.index(point.branch))
    services = [label for label in ana.keyboard.labels if label.startswith(point.service)]
    ana.tap(Action.PICK, ana.keyboard.labels.index(services[0]))
    assert ana.shows(Action.DAY), f"{point.label}: a calendar with nothing to tap"
    ana.pick_day()
    ana.pick_time()
    ana.give_details()
    ana.confirm()
    [appointment] = sandbox.store.appointment_list()
    confirmation = next(t for t in reversed(ana.texts) if appointment.id in t)
    assert shows_time(confirmation, appointment.start, point.zone), confirmation
    assert appointment.start > point.instant
    assert bot.stop() == 0


def test_the_demo_on_new_years_eve(tmp_path: Path) -> None:
    """The demo's sandbox and bot both run at 23:30 on 31 December (Madrid): the calendar
    opens on January, and a booking there goes through."""
    eve = POINTS[1].instant
    demo = Demo(cwd=tmp_path, at=eve)
    try:
        demo.wait_prompt()
        demo.choose("Book an appointment")
        demo.choose("Madrid – Chamberí")
        demo.choose("check-up")
        assert "January 2027" in demo.screen
        demo.choose(r"^\d{1,2}$")
        demo.choose(r"^\d{1,2}:\d{2}")
        demo.type("Ana")
        demo.type("ana@example.com")
        demo.choose("Confirm")
        assert "Booked" in demo.screen and "2027" in demo.screen
        demo.send("/quit")
    except AssertionError:
        demo.process.kill()
        raise
    code, _, errors = demo.close()
    assert code == 0 and "Traceback" not in errors
