"""A screen's buttons: payloads bound to the chat's current screen code, and the navigation row
every step ends with. One home for both, so the booking's views and the waiting list's build
them the same way."""

from __future__ import annotations

from bot.chat.context import Ctx
from bot.core.payload import Action, button_data
from bot.core.screens import Button, Label, Msg


def button(ctx: Ctx, label: Label, action: Action, arg: int | None = None) -> Button:
    return Button(label, button_data(ctx.state.nav.nonce, action, arg))


def nav_row(ctx: Ctx, *, back: bool = True, cancel: bool = True) -> list[Button]:
    """« Back, and Exit (leave this step: never the word for cancelling an appointment)."""
    row = []
    if back:
        row.append(button(ctx, Msg("« Back"), Action.BACK))
    if cancel:
        row.append(button(ctx, Msg("Exit"), Action.CANCEL))
    return row
