"""An update handled a second time from the state it found gives the same answer.

That happens when a process dies after the reply and before the update is recorded as
handled: another handles it again (bot.telegram.cluster). The handling's chance values come
from the update's seed (bot.core.draws), so the buttons the customer already has keep
working and Zimun replays the hold it gave instead of giving a second one.
"""

from __future__ import annotations

from bot.core.draws import Draws
from bot.core.events import Tap
from bot.core.payload import BOOKING_SCOPE, Action, decode
from bot.core.screens import Reply
from bot.store.storage import Storage
from sandbox.testing import SandboxServer
from tests.booking.driver import Chat
from tests.booking.steps import to_times


async def _twice(
    chat: Chat, storage: Storage, action: Action, seeds: tuple[str, str]
) -> tuple[Reply, Reply]:
    """Tap the screen's first `action` button with the first seed, put the conversation back
    as the tap found it (its handling's writes never made), and tap it again with the
    second: the two replies."""
    data = chat.actions(action)[0].data
    row = storage.load_conversation(chat.customer.chat_id)
    assert row is not None
    first = await chat.send(Tap(data), seed=seeds[0])
    storage.save_conversation(
        chat.customer.chat_id, chat.customer.user_id, row.state, pending=False
    )
    return first, await chat.send(Tap(data), seed=seeds[1])


async def _on_the_calendar(chat: Chat) -> None:
    await to_times(chat)
    await chat.tap_action(Action.BACK)


async def test_a_day_tap_handled_again_shows_the_same_buttons(chat: Chat, storage: Storage) -> None:
    await _on_the_calendar(chat)
    first, again = await _twice(chat, storage, Action.DAY, ("update-41", "update-41"))

    assert again.screens == first.screens
    await chat.tap_action(Action.TIME)  # a time on the first answer's screen (the same one)
    assert chat.can(Action.USE_NAME), chat.describe()


async def test_a_time_tap_handled_again_takes_one_hold(
    chat: Chat, storage: Storage, sandbox: SandboxServer
) -> None:
    await to_times(chat)
    first, again = await _twice(chat, storage, Action.TIME, ("update-42", "update-42"))

    assert again.screens == first.screens
    [hold] = sandbox.store.active_holds()  # Zimun replayed the first hold: one, not two
    row = storage.load_conversation(chat.customer.chat_id)
    assert row is not None and hold.hold_id in row.state


async def test_another_update_draws_other_codes(chat: Chat, storage: Storage) -> None:
    await _on_the_calendar(chat)
    first, other = await _twice(chat, storage, Action.DAY, ("update-41", "update-43"))

    assert _scope(first) != _scope(other)


def test_draws_follow_the_seed_and_each_purpose_counts_its_own() -> None:
    one, same = Draws("seed"), Draws("seed")
    assert [one.nonce(), one.key(), one.nonce()] == [same.nonce(), same.key(), same.nonce()]
    fresh = Draws("seed")
    assert fresh.nonce() != fresh.nonce()
    keyed_first = Draws("seed")
    keyed_first.key()
    assert keyed_first.nonce() == Draws("seed").nonce()  # a key drawn first changes no code
    assert Draws("seed").attempt() != Draws("other").attempt()
    assert Draws().key() != Draws().key()  # no seed: random


def _scope(reply: Reply) -> str:
    """The screen's button code, as its screen-scoped buttons carry it."""
    buttons = (b for row in reply.screens[-1].buttons for b in row)
    payloads = (p for b in buttons if (p := decode(b.data)) is not None)
    return next(p.scope for p in payloads if p.scope != BOOKING_SCOPE)
