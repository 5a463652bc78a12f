"""The booking page (issue 21) in Chromium at 360x640: book, reschedule and cancel in Spanish
and German through the page, one conversation with the chat; a time taken in the chat while
the page showed it; the page outside Telegram; no console errors, every control labelled."""

from __future__ import annotations

from typing import Any

import pytest

from bot.core.payload import Action
from bot.core.screens import Msg
from bot.i18n import localizer
from bot.miniapp import words
from tests import customers as moves
from tests.customers import play
from tests.miniapp.conftest import ARTIFACTS, DARK, LIGHT, PAGE_PATH, PageBot
from tests.miniapp.page import Page, to_times
from tests.telegram.harness import Chat
from tests.waitlist.steps import BRANCH_INDEX, SATURDAY, SERVICE_INDEX, fill_day


async def shoot_both(
    bot: PageBot,
    browser: Any,
    page: Page,
    name: str,
    user_id: int,
    language: str,
    theme: dict[str, str],
) -> None:
    """Screenshots of the screen the page shows, in its theme and, through a second page of
    the same customer (which only looks), in the other."""
    shown = "dark" if theme is DARK else "light"
    await page.screenshot(ARTIFACTS / f"{name}-{shown}.png")
    other = LIGHT if theme is DARK else DARK
    second = await Page.open(browser, bot.url(user_id, language, other), dark=other is DARK)
    await second.screenshot(ARTIFACTS / f"{name}-{'dark' if other is DARK else 'light'}.png")
    assert second.errors == [], second.errors
    await second.close()


async def assert_sound(page: Page) -> None:
    assert page.errors == [], page.errors
    assert await page.no_horizontal_scroll()
    assert await page.unlabelled_controls() == []


@pytest.mark.parametrize(
    ("language", "theme", "booked", "moved", "cancelled"),
    [
        ("es", LIGHT, "cita reservada", "cita cambiada", "cita está cancelada"),
        ("de", DARK, "gebucht", "verschoben", "termin ist abgesagt"),
    ],
)
async def test_book_reschedule_cancel_through_the_page(
    page_bot: PageBot,
    browser: Any,
    language: str,
    theme: dict[str, str],
    booked: str,
    moved: str,
    cancelled: str,
) -> None:
    chat = Chat(page_bot, chat_id=4242, language=language)
    await chat.start()
    page = await Page.open(browser, page_bot.url(4242, language, theme), dark=theme is DARK)
    assert await page.page.get_attribute("html", "lang") == language

    await page.tap("book")
    await page.tap("pick")
    await page.tap("pick")
    assert await page.page.locator("#screens .grid button[data-day]").count() >= 28
    await shoot_both(page_bot, browser, page, f"calendar-{language}", 4242, language, theme)
    await page.tap_day()
    await page.screenshot(ARTIFACTS / f"times-{language}.png")
    await page.tap("time")
    assert await page.page.input_value("#screens form input") == "Ana"  # Telegram's name
    await page.answer("Ana García")
    await page.answer("ana@example.com")
    await shoot_both(page_bot, browser, page, f"summary-{language}", 4242, language, theme)
    await page.tap("confirm")
    # The confirmation and its calendar file arrive in the chat, as after a chat booking.
    await page_bot.fake.wait_for(lambda: len(page_bot.fake.documents(4242)) == 1)
    assert booked in "\n".join(page_bot.fake.texts(4242)).lower()
    assert booked in (await page.text()).lower()
    await page.screenshot(ARTIFACTS / f"booked-{language}.png")

    # One conversation: the chat's My bookings lists it.
    await chat.command("mybookings")
    assert chat.can(Action.OPEN_BOOKING) == 1

    # Reschedule through the page.
    await page.tap("my_bookings") if await page.count("my_bookings") else None
    await page.tap("open_booking")
    await page.tap("reschedule")
    await page.tap_day(1)
    await page.tap("time")
    await page.tap("yes")
    assert moved in (await page.text()).lower()

    # Cancel through the page.
    if await page.count("my_bookings"):
        await page.tap("my_bookings")
    await page.tap("open_booking")
    await page.tap("cancel_booking")
    await page.tap("yes")
    assert cancelled in (await page.text()).lower()
    await assert_sound(page)
    await page.close()


async def test_a_time_taken_in_the_chat_meanwhile(page_bot: PageBot, browser: Any) -> None:
    """The page shows a day's times; another customer books the first of them in the chat;
    the page's tap on it is answered as the chat answers a taken time, with the day's times
    anew, and the page's customer books the next one."""
    page = await Page.open(browser, page_bot.url(5151, "es"))
    await to_times(page, service=1)  # one place per time (the sandbox's seed)
    first = await page.page.locator("#screens button[data-kind='time']").first.inner_text()

    other = Chat(page_bot, chat_id=6161, language="es", first_name="Bea")
    await play(other, moves.to_times(other, service=1))
    await play(other, moves.pick_time())
    await play(other, moves.give_details("Bea Ruiz", "bea@example.com"))
    await other.tap_action(Action.CONFIRM)
    await page_bot.fake.wait_for(lambda: len(page_bot.fake.documents(6161)) == 1)

    await page.tap("time")  # the time Bea just took
    assert page_bot.fake.documents(5151) == []
    times = page.page.locator("#screens button[data-kind='time']")
    assert await times.count() > 0
    assert first not in [await times.nth(i).inner_text() for i in range(await times.count())]
    taken = Msg(
        "Sorry, someone else has just booked that time. Here are the times still available:"
    )
    assert localizer("es").render(taken, "plain") in await page.text()
    await page.tap("time")
    await page.answer("Ana García")
    await page.answer("ana@example.com")
    await page.tap("confirm")
    await page_bot.fake.wait_for(lambda: len(page_bot.fake.documents(5151)) == 1)
    await assert_sound(page)
    await page.close()


async def test_the_page_outside_telegram(page_bot: PageBot, browser: Any) -> None:
    """No initData (opened in a browser, not from Telegram): the page says so in the four
    languages and asks nothing of the server's API."""
    page = await Page.open(browser, f"{page_bot.base}{PAGE_PATH}/")
    shown = await page.text()
    for language in ("en", "es", "it", "de"):
        expected = localizer(language).render(words.OUTSIDE, "plain")
        assert expected in shown
        assert await page.page.locator(f"#screens p[lang='{language}']").count() == 1
    assert page.api_calls == []
    assert await page.page.locator("#screens button, #screens input").count() == 0
    await page.screenshot(ARTIFACTS / "outside.png")
    await assert_sound(page)
    await page.close()


async def test_the_chat_offers_the_page(page_bot: PageBot) -> None:
    """With MINI_APP_URL the chat's menu button opens the page, and the branch and service
    screens carry a web_app button to it."""
    calls = page_bot.fake.calls_of("setChatMenuButton")
    assert calls, "the menu button was not registered"
    chat = Chat(page_bot, chat_id=7171, language="de")
    await play(chat, moves.open_booking())
    keyboard = chat.keyboard.reply_markup or {}
    web_apps = [b for row in keyboard["inline_keyboard"] for b in row if "web_app" in b]
    assert [b["web_app"]["url"] for b in web_apps] == ["https://booking.example.test/app/"]


async def test_the_waiting_list_on_a_full_day(page_bot: PageBot, browser: Any) -> None:
    """A day the business filled stands greyed as full; tapping it offers the waiting list,
    as in the chat, and joining it puts the customer on the chat's own list."""
    fill_day(page_bot.sandbox, SATURDAY)
    page = await Page.open(browser, page_bot.url(9191, "de"))
    await page.tap("book")
    await page.tap("pick", BRANCH_INDEX)
    await page.tap("pick", SERVICE_INDEX)
    saturday = page.page.locator(
        f"#screens .grid button[data-day='full']:text-is('{SATURDAY.day}')"
    )
    assert await saturday.count() == 1
    label = await saturday.get_attribute("aria-label")
    assert label == f"{SATURDAY.day}, {localizer('de').render(words.FULL, 'plain')}"
    await saturday.click()
    await page.settle()
    await page.tap("waitlist_join")
    assert page_bot.storage is not None
    entries = page_bot.storage.waitlist_for_user(9191, page_bot.sandbox.clock.now())
    assert [entry.day for entry in entries] == [SATURDAY]
    await assert_sound(page)
    await page.close()


async def test_the_page_opens_where_the_chat_stands(page_bot: PageBot, browser: Any) -> None:
    """Opened from the chat's service screen, the page shows that screen (branch already
    chosen), and looking changes nothing: the chat's buttons still work, and what the chat
    does next the page shows when reopened."""
    chat = Chat(page_bot, chat_id=4343, language="it")
    await play(chat, moves.open_booking())
    await chat.tap_action(Action.PICK, 0)  # the branch: the services follow
    services = chat.can(Action.PICK)
    page = await Page.open(browser, page_bot.url(4343, "it"))
    assert await page.count("pick") == services
    first_line = page.page.locator("#screens section p").first
    assert await first_line.evaluate("line => line === document.activeElement")
    await chat.tap_action(Action.PICK, 0)  # the chat goes on: not refused as stale
    assert chat.can(Action.DAY) > 0
    await page.close()
    again = await Page.open(browser, page_bot.url(4343, "it"))
    assert await again.page.locator("#screens .grid button[data-day]").count() >= 28
    await assert_sound(again)
    await again.close()
