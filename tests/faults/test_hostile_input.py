"""What customers (or someone posing as one) type and tap: 4,096-character names, emoji, HTML
and Markdown in names, invalid and huge emails, forged and replayed button payloads, commands in
the middle of a step. The bot refuses what it cannot use, says why, escapes what it shows, books
nothing it should not, and keeps exactly what it should."""

from __future__ import annotations

from html.parser import HTMLParser

from bot.core.payload import Action, booking_data, button_data
from bot.core.screens import Msg, Plural
from bot.core.validation import MAX_NAME
from bot.i18n import localizer
from sandbox.testing import SandboxServer
from tests.fakes.bot_api import FakeBotAPI
from tests.faults.harness import Customer, Launcher, read_rows, wait_until

HOSTILE_NAME = '<b>Ana</b> *bold* _it_ [x](http://evil.example) `code` 🎉😀 & "Zoë" O\'Brien'
TELEGRAM_TAGS = {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "a", "code", "pre",
                 "tg-spoiler", "span", "blockquote", "tg-emoji"}  # fmt: skip


class _Tags(HTMLParser):
    """The tags of a message as Telegram's HTML parser would see them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.open: list[str] = []
        self.seen: set[str] = set()
        self.text = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.seen.add(tag)
        self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.open and self.open[-1] == tag, f"unbalanced </{tag}>"
        self.open.pop()

    def handle_data(self, data: str) -> None:
        self.text += data


def check_html(text: str) -> str:
    """Assert `text` is well-formed Telegram HTML; return what the customer reads."""
    parser = _Tags()
    parser.feed(text)
    parser.close()
    assert not parser.open and parser.seen <= TELEGRAM_TAGS, (parser.seen, text)
    return parser.text


def said(customer: Customer, msg: Msg) -> bool:
    expected = localizer(customer.language).render(msg, "html")
    return any(expected in text for text in customer.texts)


def test_hostile_names_and_emails(
    launcher: Launcher, fake: FakeBotAPI, sandbox: SandboxServer
) -> None:
    bot = launcher.start()
    ana = Customer(fake, 801, "en")
    ana.to_times()
    ana.pick_time()

    ana.send("A" * 4096)
    assert said(ana, Plural("That name is too long: please use at most {count} character.",
                            "That name is too long: please use at most {count} characters.",
                            count=MAX_NAME))  # fmt: skip
    assert ana.shows(Action.USE_NAME)  # still asking for the name
    ana.send(HOSTILE_NAME)
    for bad, why in (
        ("not-an-email", "An email address has exactly one @, like name@example.com."),
        ("ana@", "The part after the @ should be a domain, like example.com."),
        ("x" * 5000 + "@example.com", "That email address is too long."),
        ("<script>alert(1)</script>@example.com", None),
    ):
        before = len(ana.texts)
        ana.send(bad)
        assert len(ana.texts) > before and not ana.shows(Action.CONFIRM), bad
        if why is not None:
            assert said(ana, Msg(why)), (bad, ana.texts[-1])
    ana.send("ana+test@example.com", until=lambda: ana.shows(Action.CONFIRM))

    summary = ana.keyboard.text or ""
    assert "&lt;b&gt;Ana&lt;/b&gt;" in summary and "<b>Ana</b>" not in summary
    assert HOSTILE_NAME in check_html(summary)  # shown exactly as typed, as text
    ana.confirm()

    [appointment] = sandbox.store.appointment_list()
    assert appointment.contact_name == HOSTILE_NAME
    assert appointment.contact_email == "ana+test@example.com"
    for message in fake.messages(ana.chat_id):
        if message.text:
            assert len(message.text) <= 4096
            check_html(message.text)
    assert all(call.status == 200 for call in fake.calls)  # Telegram refused nothing
    assert bot.stop() == 0
    [row] = read_rows(launcher.db, "SELECT appointment_id, chat_id FROM bookings")
    assert row == {"appointment_id": appointment.id, "chat_id": ana.chat_id}
    log = bot.log
    assert "Traceback" not in log and "ana+test@example.com" not in log and "Ana" not in log


def test_forged_and_replayed_payloads_and_commands_mid_step(
    launcher: Launcher, fake: FakeBotAPI, sandbox: SandboxServer
) -> None:
    launcher.start()
    ben, cleo = Customer(fake, 802, "es", "Ben"), Customer(fake, 803, "de", "Cleo")
    ben.to_times(branch=0)
    ben.pick_time()
    ben.give_details("Ben", "ben@example.com")
    summary = ben.keyboard
    confirm = ben.buttons(Action.CONFIRM)[0]
    ben.confirm()
    cleo.book(name="Cleo", email="cleo@example.com", branch=1)
    # The ledger's row is written once Telegram has taken the confirmation, a moment after
    # the fake received it: wait for it rather than race it.
    [cleo_row] = wait_until(
        lambda: read_rows(launcher.db, "SELECT id FROM bookings WHERE chat_id = ?", (803,))
    )
    assert len(sandbox.store.appointment_list()) == 2

    # Replayed: Ben taps Confirm again on the old summary message.
    answer = ben.tap_answered(confirm, summary.message_id)
    assert answer.get("text")
    # Forged: garbage, too long, a wrong check, a payload for another screen, and a valid
    # booking-scoped payload naming Cleo's booking.
    invalid = localizer("es").render(Msg("That button isn't valid."), "plain")
    for forged in ("", "💥", "x" * 300, "abcd.ok.zz", button_data("zzzz", Action.CONFIRM)):
        answer = ben.tap_answered(forged, summary.message_id)
        assert answer.get("text"), forged
    answer = ben.tap_answered(booking_data(Action.CANCEL_BOOKING, cleo_row["id"]))
    assert answer.get("text") == localizer("es").render(
        Msg("That appointment isn't yours."), "plain"
    )
    assert answer.get("text") != invalid
    answer = ben.tap_answered(booking_data(Action.OPEN_BOOKING, 10**18))
    assert answer.get("text")

    appointments = sandbox.store.appointment_list()
    assert len(appointments) == 2 and all(a.status == "confirmed" for a in appointments)
    assert sandbox.stats.count("POST", "/appointments/confirm", 201) == 2
    assert not [k for k in sandbox.stats.requests if k[1].endswith(("/cancel", "{appointment_id}"))
                and k[0] in ("POST", "PATCH")]  # fmt: skip

    # Commands in the middle of a step: detours (/help, /language, /start, /mybookings,
    # /privacy) keep the booking in progress and its hold; /cancel and /book end it and give
    # the hold back. One customer each (at a person's pace each stays within its budget).
    ending = {"book", "cancel"}
    for n, command in enumerate(("help", "language", "start", "mybookings", "privacy", *ending)):
        dani = Customer(fake, 900 + n, "de")
        dani.to_times(branch=2)
        dani.pick_time()
        before = len(sandbox.store.active_holds())
        dani.command(command)
        after = len(sandbox.store.active_holds())
        assert after == (before - 1 if command in ending else before), command
    cleo.command("drop_tables")
    assert said(cleo, Msg("I don't know that command. Type /help to see what I can do."))
    cleo.to_times(branch=2)
    cleo.send("tomorrow at 10, please")  # text where a tap is expected
    assert said(cleo, Msg("Please use the buttons below."))
    assert cleo.shows(Action.TIME)
    assert len(sandbox.store.appointment_list()) == 2
