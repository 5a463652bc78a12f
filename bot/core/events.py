"""What a customer does, independent of Telegram: the engine's only inputs."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Customer:
    """Who is talking. `chat_id` keys the conversation; `user_id` owns bookings."""

    user_id: int
    chat_id: int
    first_name: str = ""
    last_name: str = ""
    language_code: str | None = None  # as Telegram reports it, e.g. "es-ES"; may be None

    @property
    def display_name(self) -> str:
        return " ".join(p for p in (self.first_name, self.last_name) if p).strip()


@dataclass(frozen=True)
class Command:
    """A slash command: name without the slash ("start", "book", "mybookings", "language",
    "help", "cancel"); `arg` is the rest of the line (the /start deep-link payload)."""

    name: str
    arg: str = ""


@dataclass(frozen=True)
class Tap:
    """A button press; `data` is the payload exactly as it came back (never trusted)."""

    data: str


@dataclass(frozen=True)
class Text:
    """Free text typed by the customer; `message_id` names the message (an edit of it later
    replaces what it answered)."""

    text: str
    message_id: int | None = None


@dataclass(frozen=True)
class Edited:
    """The customer edited a message they sent earlier; `text` is its new text."""

    text: str
    message_id: int


@dataclass(frozen=True)
class Look:
    """The customer looks at where the conversation stands without acting: a booking page
    opened beside the chat shows the chat's current screen (nothing changes)."""


Event = Command | Tap | Text | Edited | Look
