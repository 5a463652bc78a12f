"""The chance values one event's handling draws: its screen's button code, its booking
attempt's id, the idempotency keys of its calls to Zimun.

They are drawn from the event's seed instead of at random, so that handling the same Telegram
update a second time draws the same values. That happens when a process dies after the reply
and before the update is recorded as handled: another process handles it again from the state
it found (bot.telegram.cluster). With the same draws it gives the same answer: the buttons the
customer already has keep working, and Zimun replays its first answer to a hold instead of
taking a second one (same key, same body). An event without a seed (the terminal demo, a
confirm resumed after a restart) is handled once, and its seed is random.

Each purpose counts its own draws, so one more draw of one kind (a second key in a reschedule)
does not change the values of another.
"""

from __future__ import annotations

import hashlib
import secrets

from bot.core.payload import nonce_of

KEY_BYTES = 16
ATTEMPT_BYTES = 8


class Draws:
    """One event's draws, from its seed (any text; random when None or empty)."""

    def __init__(self, seed: str | None = None) -> None:
        text = seed or secrets.token_hex(16)
        self._key = hashlib.blake2b(text.encode(), digest_size=32).digest()
        self._counts: dict[str, int] = {}

    def _draw(self, purpose: str, size: int) -> bytes:
        count = self._counts.get(purpose, 0) + 1
        self._counts[purpose] = count
        message = f"{purpose}:{count}".encode()
        return hashlib.blake2b(message, key=self._key, digest_size=size).digest()

    def nonce(self) -> str:
        """A new screen's button code (bot.core.payload)."""
        return nonce_of(self._draw("nonce", 8))

    def key(self) -> str:
        """An idempotency key for one logical call to Zimun."""
        return self._draw("key", KEY_BYTES).hex()

    def attempt(self) -> str:
        """A booking attempt's id (the funnel's statistics)."""
        return self._draw("attempt", ATTEMPT_BYTES).hex()
