"""First come, first told: a freed time goes to one waiting customer at a time, in the order
they asked; it is theirs alone for ten minutes, then the next in line hears of it if it is
still free. A customer who finds it gone again may join again, keeping their place."""

from __future__ import annotations

from datetime import timedelta

from bot.chat.waitlist_tap import GONE_AGAIN
from bot.core.cadence import WAIT_CADENCE
from bot.core.payload import Action
from bot.core.state import Step
from sandbox.testing import SandboxServer
from tests.clock import MONDAY
from tests.reminders.harness import OpsBot
from tests.telegram.harness import TIME_RE, Chat
from tests.waitlist.steps import SATURDAY, entries, fill_day, freed_notices, join, state_of

MINUTE = timedelta(minutes=1)


async def test_one_freed_time_is_told_in_the_order_of_asking_one_customer_at_a_time(
    ops: OpsBot, chat: Chat, sandbox: SandboxServer
) -> None:
    walk_ins = fill_day(sandbox, SATURDAY)
    first, second, third = chat, Chat(ops, 2002, "de"), Chat(ops, 2003, "it")
    for customer in (first, second, third):
        await join(customer, SATURDAY)
        sandbox.clock.set(sandbox.clock.now() + MINUTE)  # in this order

    sandbox.business_cancel(walk_ins[0].id)
    sandbox.clock.set(MONDAY + 10 * MINUTE)
    assert (await ops.watch()).offered == 1
    assert [len(freed_notices(ops, c)) for c in (first, second, third)] == [1, 0, 0]

    # The first does not act: the time stays theirs alone for the offer window...
    sandbox.clock.set(MONDAY + 10 * MINUTE + WAIT_CADENCE.offer_window - MINUTE)
    await ops.watch()
    assert [len(freed_notices(ops, c)) for c in (first, second, third)] == [1, 0, 0]
    # ...then the next in line hears of it, still free, by the next look.
    sandbox.clock.set(
        MONDAY + 10 * MINUTE + WAIT_CADENCE.offer_window + WAIT_CADENCE.near_every + MINUTE
    )
    await ops.watch()
    assert [len(freed_notices(ops, c)) for c in (first, second, third)] == [1, 1, 0]

    # The second books it: the third is not told about a time that is gone.
    await second.tap_action(Action.WAITLIST_OPEN, message=freed_notices(ops, second)[0])
    await second.tap_where(lambda label: bool(TIME_RE.match(label)))
    await second.give_details("Bea", "bea@example.org")
    await second.tap_index(0)
    assert len(ops.db.bookings_for_user(second.chat_id)) == 1
    sandbox.clock.set(sandbox.clock.now() + 2 * WAIT_CADENCE.offer_window)
    await ops.watch()
    assert [len(freed_notices(ops, c)) for c in (first, second, third)] == [1, 1, 0]

    # The first taps late: gone again, said so (the 409 path), and the list offered again.
    await first.tap_action(Action.WAITLIST_OPEN, message=freed_notices(ops, first)[0])
    assert first.says(GONE_AGAIN)
    assert state_of(ops, first).nav.step == Step.WAITLIST_OFFER
    [told] = entries(ops, first)
    assert told.status == "told"  # re-armed only by the customer
    await first.tap_action(Action.WAITLIST_JOIN)
    [again] = entries(ops, first)
    assert (again.id, again.status, again.joined_at) == (told.id, "waiting", told.joined_at)

    # Two times free at once: the first two in line are told together, the first still first.
    sandbox.business_cancel(walk_ins[1].id)
    sandbox.business_cancel(walk_ins[2].id)
    sandbox.clock.set(sandbox.clock.now() + WAIT_CADENCE.near_every)
    assert (await ops.watch()).offered == 2
    assert [len(freed_notices(ops, c)) for c in (first, second, third)] == [2, 1, 1]
    told_order = sorted(
        (e.offered_at, e.joined_at, e.user_id) for c in (first, third) for e in entries(ops, c)
    )
    assert [user for *_, user in told_order] == [first.chat_id, third.chat_id]
