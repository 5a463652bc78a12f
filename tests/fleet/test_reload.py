"""`kill -HUP` re-reads BUSINESSES_FILE while customers are mid-booking: added businesses start,
removed ones stop, changed ones restart, and the others' customers notice nothing."""

from __future__ import annotations

from bot.core.payload import Action
from bot.i18n import localizer
from tests.customers import ProcessCustomer
from tests.fakes.bot_api import FakeBots
from tests.process import Launcher


def test_sighup_adds_removes_and_changes_businesses_and_the_others_notice_nothing(
    launcher: Launcher, bots: tuple[FakeBots, str]
) -> None:
    fakes, _ = bots
    alpha, beta, gamma, delta = (fakes.add(name) for name in ("alpha", "beta", "gamma", "delta"))
    tables = {
        "alpha": launcher.business(alpha),
        "beta": launcher.business(beta),
        "gamma": launcher.business(gamma, BOT_LANGUAGES="en"),
    }
    launcher.write_businesses(tables)
    bot = launcher.start_many([alpha, beta, gamma])

    # Ben is half-way through a booking with alpha; Cleo has started with beta.
    ben = ProcessCustomer(alpha, 6001, name="Ben")
    ben.to_times()
    ben.pick_time()
    cleo = ProcessCustomer(beta, 6002, name="Cleo")
    cleo.start()
    before = [(m.message_id, m.text, m.edits) for m in ben.messages]
    started = {fake.username: len(fake.calls_of("getMe")) for fake in (alpha, gamma)}

    # A file that no longer parses changes nothing, and says why in one line.
    launcher.businesses_path.write_text("[businesses.alpha\nTELEGRAM_BOT_TOKEN = ")
    mark = len(bot.log)
    launcher.hang_up(bot)
    bot.wait_logged("BUSINESSES_FILE not re-read", mark)

    # beta removed, gamma changed (now in German), delta added; alpha untouched.
    del tables["beta"]
    tables["gamma"] = launcher.business(gamma, BOT_LANGUAGES="de")
    tables["delta"] = launcher.business(delta)
    launcher.write_businesses(tables)
    mark = len(bot.log)
    launcher.hang_up(bot)
    bot.wait_logged("1 added, 1 removed, 1 changed, 1 unchanged", mark)
    launcher.wait_serving(bot, delta)

    polled_at = beta.polled_at
    cleo_sees = len(cleo.messages)
    beta.user_sends_command(6002, "start")  # beta is gone: nobody answers
    dan = ProcessCustomer(delta, 6003, name="Dan")
    dan.start()
    assert dan.labels()
    greta = ProcessCustomer(gamma, 6004, language="en", name="Greta")
    greta.start(until=lambda: any(greta.labels()))
    assert any(localizer("de").gettext("Book an appointment") in x for x in greta.labels())

    # Alpha's Application went on (no new start: getMe is its first call), gamma's restarted.
    assert len(alpha.calls_of("getMe")) == started[alpha.username]
    assert len(gamma.calls_of("getMe")) > started[gamma.username]

    # Ben saw nothing of all this, and finishes his booking.
    assert [(m.message_id, m.text, m.edits) for m in ben.messages] == before
    ben.give_details("Ben", "ben@example.com")
    ben.confirm()
    assert len(launcher.sandbox.store.appointment_list()) == 1
    assert ben.shows(Action.MENU) or ben.labels()

    assert bot.stop() == 0, bot.log
    # Beta was not polled again, and Cleo's /start got no answer.
    assert beta.polled_at == polled_at and len(cleo.messages) == cleo_sees
    assert "Traceback" not in bot.log, bot.log
