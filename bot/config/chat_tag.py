"""The anonymous tag that stands for a chat or user id in every log line.

Logs go to log systems, to colleagues and into bug reports, so they carry no Telegram id: a
keyed hash of it instead (HMAC-SHA256, 12 hex digits). The same id always gives the same tag,
so one conversation can be followed through the log, but a tag cannot be turned back into an
id without the key, which is derived from the bot's token. The key is set once per process by
`build_application` (`set_key`); until then tags are keyed by an empty secret, still not ids.
"""

from __future__ import annotations

import hashlib
import hmac

_PREFIX = b"chat-tag:"
_key = hashlib.sha256(_PREFIX).digest()


def set_key(secret: str) -> None:
    """Key every tag of this process with `secret` (the bot token)."""
    global _key
    _key = hashlib.sha256(_PREFIX + secret.encode()).digest()


def chat_tag(chat_id: int | str | None) -> str:
    """The tag of a chat or user id ("-" for none)."""
    if chat_id is None:
        return "-"
    return hmac.new(_key, str(chat_id).encode(), hashlib.sha256).hexdigest()[:12]
