"""Random conversations: whatever a customer (or a forger) sends, the invariants hold.

Each example is a fresh bot (new database, new API client) against one shared sandbox: a random
sequence of taps on the buttons shown, taps on buttons of older screens, forged payloads,
free text, commands and clock jumps, then /cancel. Invariants:
- `handle` never raises, and every reply renders with no missing or broken translation;
- each "Booked!" answer is exactly one new appointment in the sandbox (never two per confirm);
- after /cancel nothing is left held in the sandbox.
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.chat.engine import Conversation
from bot.core.events import Command, Event, Tap, Text
from bot.core.payload import Action, decode
from bot.store.storage import Storage
from sandbox.testing import SandboxServer
from tests.booking.conftest import LANGUAGES, MONDAY, customer, make_client
from tests.booking.driver import Chat
from tests.booking.steps import book_one, to_name, to_summary, to_times

BOOKED = "✅ <b>Booked!</b> Your reference is {reference}."
EMAIL_QUESTION = "Which email address should I send the confirmation to? Please type it."
INERT = {Action.NOOP, Action.DAY_UNAVAILABLE}

moves = st.one_of(
    st.tuples(st.just("tap"), st.integers(min_value=0, max_value=60)),
    st.tuples(st.just("tap"), st.integers(min_value=0, max_value=60)),
    st.tuples(st.just("tap"), st.integers(min_value=0, max_value=60)),
    st.tuples(st.just("tap"), st.integers(min_value=0, max_value=60)),
    st.tuples(st.just("answer"), st.just("")),
    st.tuples(st.just("journey"), st.sampled_from(["times", "name", "summary", "booked"])),
    st.tuples(st.just("old"), st.integers(min_value=0, max_value=10_000)),
    st.tuples(st.just("forged"), st.text(max_size=70)),
    st.tuples(
        st.just("text"),
        st.sampled_from(["Ana", "ana@example.com", "", " ", "x" * 300, "<b>&</b>", "a@b"]),
    ),
    st.tuples(
        st.just("command"),
        st.sampled_from(["start", "book", "mybookings", "language", "help", "cancel", "nope"]),
    ),
    st.tuples(st.just("advance"), st.integers(min_value=0, max_value=700)),
)


async def _booked(chat: Chat) -> int:
    await book_one(chat)
    return 1


JOURNEYS = {"times": to_times, "name": to_name, "summary": to_summary, "booked": _booked}


async def _play(sandbox: SandboxServer, lang: str, script: list[tuple[str, object]]) -> None:
    sandbox.clock.set(MONDAY)
    booked_before = len(sandbox.store.appointment_list())
    with tempfile.TemporaryDirectory() as folder:
        storage = Storage(str(Path(folder) / "bot.db"))
        async with make_client(sandbox) as api:
            chat = Chat(Conversation(api, storage, now=sandbox.clock.now), customer(lang=lang))
            seen: list[str] = []
            booked = 0
            for kind, value in script:
                if kind == "journey":  # a shortcut deep into the flow, as a customer walks it
                    booked += await JOURNEYS[str(value)](chat) or 0
                    seen += [b.data for b in chat.buttons]
                    continue
                event = _event(chat, seen, kind, value)
                if event is None:
                    sandbox.clock.advance(int(value))  # type: ignore[call-overload]
                    continue
                await chat.send(event)
                seen += [b.data for b in chat.buttons]
                booked += chat.shows(BOOKED)
            await chat.command("cancel")
            booked += chat.shows(BOOKED)  # a pending confirm is finished first
            assert not sandbox.store.active_holds()
            assert len(sandbox.store.appointment_list()) - booked_before == booked
            rows = storage.bookings_for_user(1001)
            assert len(rows) == booked == len({r.appointment_id for r in rows})
            assert not chat.untranslated(), sorted(chat.untranslated())
        storage.close()


def _event(chat: Chat, seen: list[str], kind: str, value: object) -> Event | None:
    if kind == "tap":  # a button that does something (not a calendar header cell)
        buttons = [b for b in chat.buttons if decode(b.data).action not in INERT]  # type: ignore[union-attr]
        return Tap(buttons[int(value) % len(buttons)].data) if buttons else Text("hi")  # type: ignore[call-overload]
    if kind == "answer":  # what the step asks for, so that random walks reach the summary
        return Text("ana@example.com" if chat.shows(EMAIL_QUESTION) else "Ana")
    if kind == "old":
        return Tap(seen[int(value) % len(seen)]) if seen else Text("hi")  # type: ignore[call-overload]
    if kind == "forged":
        return Tap(str(value))
    if kind == "text":
        return Text(str(value))
    if kind == "command":
        return Command(str(value))
    return None


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(lang=st.sampled_from(LANGUAGES), script=st.lists(moves, min_size=1, max_size=40))
def test_random_conversations_keep_the_invariants(
    sandbox: SandboxServer, lang: str, script: list[tuple[str, object]]
) -> None:
    asyncio.run(_play(sandbox, lang, script))
