"""Zimun misbehaving mid-booking in the ways an API does: tokens that expire or are revoked,
429 storms with Retry-After, an answer slower than the client's timeout. Each time the booking
still completes once, and what the bot asked of Zimun shows it was polite about it."""

from __future__ import annotations

import pytest

from bot.chat.engine import UNAVAILABLE
from bot.core.payload import Action
from bot.i18n import localizer
from sandbox.testing import SandboxServer
from tests.fakes.bot_api import FakeBotAPI
from tests.faults.harness import Customer, Launcher, read_rows, wait_until


def test_tokens_expiring_and_revoked_mid_booking(
    launcher: Launcher, fake: FakeBotAPI, sandbox: SandboxServer
) -> None:
    bot = launcher.start()
    ana = Customer(fake, 501, "de")
    ana.command("start", until=lambda: ana.shows(Action.BOOK))
    ana.tap(Action.BOOK)
    ana.tap(Action.PICK, 0)
    ana.tap(Action.PICK, 0, until=lambda: ana.shows(Action.DAY))
    assert sandbox.stats.token_requests == 1

    sandbox.clock.advance(sandbox.config.token_ttl + 1)  # the bot's token has just expired
    ana.tap(Action.DAY, 0, until=lambda: ana.shows(Action.TIME))
    ana.pick_time()
    assert sandbox.stats.token_requests == 2  # one new token for the new lifetime
    sandbox.auth.revoke_all()  # and the operator rotates credentials' tokens mid-flow
    ana.give_details("Anna Schmidt", "anna@example.com")
    ana.confirm()

    [appointment] = sandbox.store.appointment_list()
    assert appointment.contact_name == "Anna Schmidt"
    assert sandbox.stats.token_requests == 3
    # each 401 retried once (the day's times came from the calendar's answer: the hold met it)
    assert sandbox.stats.count("POST", "/appointments/hold", 401) == 1
    assert sandbox.stats.count("POST", "/appointments/confirm", 401) == 1
    assert sandbox.stats.count("POST", "/appointments/confirm", 201) == 1
    unavailable = localizer("de").render(UNAVAILABLE, "html")
    assert not any(unavailable in text for text in ana.texts)  # the customer saw nothing of it
    assert bot.stop() == 0
    [row] = read_rows(launcher.db, "SELECT appointment_id FROM bookings")
    assert row["appointment_id"] == appointment.id


def test_a_short_429_burst_is_waited_out_unseen(
    launcher: Launcher, fake: FakeBotAPI, sandbox: SandboxServer
) -> None:
    launcher.start()
    ana = Customer(fake, 502, "en")
    ana.to_times()
    sandbox.faults.fail_next(2, 429, path="/appointments/hold", retry_after=1)
    ana.pick_time()  # Retry-After honoured twice, then the hold
    ana.give_details()
    ana.confirm()
    assert sandbox.stats.count("POST", "/appointments/hold", 429) == 2
    assert sandbox.stats.count("POST", "/appointments/hold", 201) == 1
    assert len(sandbox.store.appointment_list()) == 1
    assert not any(localizer("en").render(UNAVAILABLE, "html") in t for t in ana.texts)


@pytest.mark.slow
def test_a_429_storm_longer_than_the_retry_budget(
    launcher: Launcher, fake: FakeBotAPI, sandbox: SandboxServer
) -> None:
    """The client gives up after its retries (never hammering Zimun), the customer is told to
    try again, and Retry after the storm books exactly once."""
    launcher.start()
    ana, ben = Customer(fake, 503, "es"), Customer(fake, 504, "it")
    for customer, branch in ((ana, 0), (ben, 1)):
        customer.to_times(branch=branch)
        customer.pick_time()
        customer.give_details(email=f"c{customer.chat_id}@example.com")
    sandbox.faults.fail_next(1000, 429, retry_after=1)
    for customer in (ana, ben):
        fake.tap_index(customer.chat_id, 0, language_code=customer.language)  # Confirm
    wait_until(lambda: all(_told_unavailable(c) for c in (ana, ben)))
    limited = sandbox.stats.count("POST", "/appointments/confirm", 429)
    assert limited <= 2 * 4  # at most 1 + 3 retries each
    assert not sandbox.store.appointment_list()

    sandbox.faults.clear()
    for customer in (ana, ben):
        documents = customer.documents
        customer.tap(Action.RETRY, until=lambda c=customer, d=documents: c.documents > d)
    assert len(sandbox.store.appointment_list()) == 2
    assert sandbox.stats.count("POST", "/appointments/confirm", 201) == 2
    assert not sandbox.store.active_holds()


@pytest.mark.slow
def test_an_answer_slower_than_the_client_timeout(
    launcher: Launcher, fake: FakeBotAPI, sandbox: SandboxServer
) -> None:
    """The hold request hangs past the client's 10 s timeout: the client retries with the same
    Idempotency-Key (Zimun says the first is still running), and once the first finishes the
    replay gives its answer: one hold, one appointment."""
    launcher.start()
    ana = Customer(fake, 505, "en")
    ana.to_times()
    gate = sandbox.faults.block_next("/appointments/hold")
    time_button = ana.buttons(Action.TIME)[0]
    fake.user_taps(ana.chat_id, ana.keyboard.message_id, time_button, language_code="en")
    assert gate.wait_entered(30)
    # The timeout fired and the retry with the same key met the first attempt still running.
    wait_until(lambda: sandbox.stats.count("POST", "/appointments/hold", 409))
    gate.release()
    wait_until(lambda: ana.shows(Action.USE_NAME))
    assert len(sandbox.store.active_holds()) == 1
    assert sandbox.stats.count("POST", "/appointments/hold", 201) >= 1  # first, then replayed
    ana.give_details()
    ana.confirm()
    assert len(sandbox.store.appointment_list()) == 1
    assert not sandbox.store.active_holds()


def _told_unavailable(customer: Customer) -> bool:
    expected = localizer(customer.language).render(UNAVAILABLE, "html")
    return any(expected in t for t in customer.texts) and customer.shows(Action.RETRY)
