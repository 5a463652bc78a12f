"""One log line per update: what kind, which action, how long, and how it ended.

An operator reads these to see load and latency (and, with LOG_FORMAT=json, feeds them to a
log system), so they say nothing about the customer: no text, no name, and not even the chat
id, only its tag (bot.config.chat_tag: a keyed hash, the same one every log line of the bot uses).
The action is a command name from the bot's own list or a button's action code, never free text.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager

from bot.config.chat_tag import chat_tag

log = logging.getLogger("bot.updates")

UNKNOWN = "other"


class UpdateLog:
    def __init__(self, known_commands: Iterable[str] = ()) -> None:
        self.known_commands = frozenset(known_commands)

    @staticmethod
    def chat_tag(chat_id: int) -> str:
        return chat_tag(chat_id)

    def command_action(self, name: str) -> str:
        return name if name in self.known_commands else UNKNOWN

    @asynccontextmanager
    async def timed(self, kind: str, action: str, chat_id: int) -> AsyncIterator[None]:
        """Log the update when the block ends, with its outcome ("ok" or the error's type)."""
        started = time.perf_counter()
        outcome = "ok"
        try:
            yield
        except BaseException as exc:
            outcome = type(exc).__name__
            raise
        finally:
            ms = round((time.perf_counter() - started) * 1000, 1)
            tag = self.chat_tag(chat_id)
            log.info(
                "update %s %s chat=%s %s %.1fms",
                kind,
                action,
                tag,
                outcome,
                ms,
                extra={
                    "fields": {
                        "event": "update",
                        "update_kind": kind,
                        "action": action,
                        "chat": tag,
                        "outcome": outcome,
                        "duration_ms": ms,
                    }
                },
            )
