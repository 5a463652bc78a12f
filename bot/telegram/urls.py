"""Where the Bot API lives: TELEGRAM_BASE_URL in the forms operators actually write.

Telegram's own docs write `https://api.telegram.org/bot<token>/METHOD`; self-hosted Bot API
servers are usually given as `http://host:8081`. python-telegram-bot wants the part before the
token, or a template with `{token}`. Accept all three and derive the file URL the same way.
"""

from __future__ import annotations

from dataclasses import dataclass

TOKEN = "{token}"


@dataclass(frozen=True)
class BotApiUrls:
    """`api` and `files` are templates with `{token}`, as python-telegram-bot formats them."""

    api: str
    files: str


def bot_api_urls(base_url: str) -> BotApiUrls:
    """ "http://h:8081", "http://h:8081/", "http://h:8081/bot" and "http://h:8081/bot{token}"
    all give api "http://h:8081/bot{token}" and files "http://h:8081/file/bot{token}"."""
    base = base_url.strip()
    if TOKEN in base:
        head, _, tail = base.partition(TOKEN)
        root = head.removesuffix("/bot") if head.endswith("/bot") else None
        if root is None:  # an unusual layout: keep it and guess nothing about files
            return BotApiUrls(api=base, files=base)
        return BotApiUrls(api=base, files=f"{root}/file/bot{TOKEN}{tail}")
    root = base.rstrip("/")
    root = root.removesuffix("/bot")
    return BotApiUrls(api=f"{root}/bot{TOKEN}", files=f"{root}/file/bot{TOKEN}")
