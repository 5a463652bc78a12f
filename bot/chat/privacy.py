"""/privacy and /forget: what the bot stores about a customer, and deleting all of it.

Both are detours: a booking in progress waits behind them, and "No, keep it" leads back to it.
Forgetting, once confirmed, ends it: the holds are released first (a slot must not stay blocked
for nobody), then the engine deletes the customer's rows in one transaction and saves no state
for the chat, so nothing about them is left in the bot's database. Their appointments at the
business are not touched: the confirmation screen says so, and cancelling is what My bookings
is for.
"""

from __future__ import annotations

from bot.chat import detours
from bot.chat.book import abandon
from bot.chat.context import Ctx, Outcome
from bot.core.state import Step


async def show_privacy(ctx: Ctx, arg: int | None = None) -> Outcome:
    detours.step_aside(ctx)
    ctx.state.nav.step = Step.PRIVACY
    return Outcome()


async def ask_forget(ctx: Ctx, arg: int | None = None) -> Outcome:
    detours.step_aside(ctx)
    ctx.state.nav.step = Step.FORGET_CONFIRM
    return Outcome()


async def do_forget(ctx: Ctx, arg: int | None = None) -> Outcome:
    await abandon(ctx)  # release the holds before the memory of them goes
    ctx.out.deferred.clear()  # nothing about this customer may be written after the delete
    ctx.out.entries.clear()
    ctx.out.forget = True
    ctx.state.nav.step = Step.FORGOTTEN
    return Outcome()


async def cmd_privacy(ctx: Ctx, arg: str) -> Outcome:
    return await show_privacy(ctx)


async def cmd_forget(ctx: Ctx, arg: str) -> Outcome:
    return await ask_forget(ctx)
