"""The booking page (issue 21) in Chromium at 360x640: book, reschedule and cancel in Spanish
and German through the page, one conversation with the chat; a time taken in the chat while
the page showed it; the page outside Telegram; no console errors, every control labelled."""

from __future__ import annotations

from typing import Any

import pytest

from bot.core.payload import Action
from tests.miniapp.conftest import ARTIFACTS, DARK, LIGHT, PageBot
from tests.miniapp.page import Page
from tests.telegram.harness import Chat


async def to_times(page: Page) -> None:
    """From the menu to the free times of the first free day of the first branch's service."""
    await page.tap("book")
    await page.tap("pick")  # the first branch
    await page.tap("pick")  # its first service
    await page.tap_day()


async def book(page: Page, name: str, email: str) -> None:
    await to_times(page)
    await page.tap("time")
    await page.answer(name)
    await page.answer(email)
    await page.tap("confirm")


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

    await to_times(page)
    await page.screenshot(ARTIFACTS / f"times-{language}.png")
    await page.tap("time")
    await page.answer("Ana García")
    await page.answer("ana@example.com")
    await page.screenshot(ARTIFACTS / f"summary-{language}.png")
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
