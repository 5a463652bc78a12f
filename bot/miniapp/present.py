"""A Reply as the page's JSON: finished text in the customer's language, buttons as data.

Text is rendered in "plain" mode (no markup): the page puts it into the document with
`textContent`, which never interprets it, so a customer's or Zimun's text cannot become
markup. Buttons keep the engine's opaque payload (`data`), which the page sends back as is,
and say what they do (`kind`, the payload's action) so the page can draw a calendar day, a
time or a month arrow as such; a calendar day also says how it stands (`day`) and its number.
Buttons that open this very page (Button.web_app) are left out.
"""

from __future__ import annotations

from typing import Any

from bot.core.payload import decode
from bot.core.screens import Button, Reply, Screen
from bot.i18n import Localizer, localizer


def reply_json(reply: Reply, *, sent: bool = False) -> dict[str, Any]:
    loc = localizer(reply.language)
    return {
        "language": reply.language,
        "toast": loc.render(reply.toast, "plain") if reply.toast is not None else None,
        "screens": [screen_json(screen, loc) for screen in reply.screens],
        "sent": sent,
    }


def screen_json(screen: Screen, loc: Localizer) -> dict[str, Any]:
    rows = [[button_json(b, loc) for b in row if b.web_app is None] for row in screen.buttons]
    return {
        "lines": [loc.render(line, "plain") for line in screen.body],
        "rows": [row for row in rows if row],
        "asks": screen.asks,
        "known": screen.known,
        "file": screen.attachment.filename if screen.attachment is not None else None,
    }


def button_json(button: Button, loc: Localizer) -> dict[str, Any]:
    payload = decode(button.data)
    return {
        "label": loc.render(button.label, "plain"),
        "data": button.data,
        "kind": payload.action.name.lower() if payload is not None else "none",
        "day": button.day,
        "number": payload.arg if payload is not None and button.day is not None else None,
    }
