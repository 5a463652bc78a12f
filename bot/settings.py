"""Operator settings, read from the environment and `.env`.

The names are a public interface (deploy scripts and the README use them), so each field is
spelled exactly as its variable. `load_settings` turns any problem into one line that names the
variable, because operators read that line and nothing else.
"""

from __future__ import annotations

import re
from datetime import timedelta
from enum import StrEnum
from typing import Literal

from pydantic import AnyHttpUrl, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

SUPPORTED_LANGUAGES = ("en", "es", "it", "de")


class SettingsError(Exception):
    """A missing or malformed setting; `str()` is the one line to show the operator."""


_OFFSET_RE = re.compile(r"^(\d{1,4})\s*([dhm])$")
_UNITS = {"d": timedelta(days=1), "h": timedelta(hours=1), "m": timedelta(minutes=1)}
MAX_REMINDER_OFFSET = timedelta(days=30)


def parse_offsets(text: str) -> tuple[timedelta, ...]:
    """ "24h,2h" -> (24 h, 2 h), longest first, duplicates dropped; "" -> () (no reminders).

    Units: d, h, m. Raises ValueError with the offending part, which the settings loader
    turns into one line naming REMINDER_OFFSETS.
    """
    offsets: set[timedelta] = set()
    for part in (p.strip().lower() for p in text.split(",")):
        if not part:
            continue
        match = _OFFSET_RE.match(part)
        if match is None:
            raise ValueError(f"{part!r} is not a duration like 24h, 90m or 1d")
        offset = int(match.group(1)) * _UNITS[match.group(2)]
        if not timedelta(0) < offset <= MAX_REMINDER_OFFSET:
            raise ValueError(f"{part!r} must be more than 0 and at most 30d")
        offsets.add(offset)
    return tuple(sorted(offsets, reverse=True))


class Dialect(StrEnum):
    """The three documented forms of reschedule/cancel (shared/zimun-api.md)."""

    APPOINTMENT_ID = "appointment_id"  # POST /appointments/{reschedule,cancel} {appointment_id}
    BOOKING_ID = "booking_id"  # the same paths with booking_id
    PATCH = "patch"  # PATCH /appointments/{id}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=False
    )

    TELEGRAM_BOT_TOKEN: SecretStr
    TELEGRAM_BASE_URL: str = "https://api.telegram.org/bot"
    ZIMUN_CLIENT_ID: str = Field(min_length=1)
    ZIMUN_CLIENT_SECRET: SecretStr
    ZIMUN_BASE_URL: AnyHttpUrl = AnyHttpUrl("https://api.zimun.online/api/v1")
    ZIMUN_TOKEN_URL: AnyHttpUrl = AnyHttpUrl("https://api.zimun.online/oauth/token")
    ZIMUN_ORGANIZATION_ID: str | None = None
    ZIMUN_API_DIALECT: Dialect | None = None
    BOT_DB_PATH: str = "bot.db"
    BOT_DEFAULT_LANGUAGE: Literal["en", "es", "it", "de"] = "en"
    LOG_LEVEL: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"
    LOG_FORMAT: Literal["text", "json"] = "text"
    WEBHOOK_URL: AnyHttpUrl | None = None
    WEBHOOK_SECRET: SecretStr | None = None
    WEBHOOK_LISTEN: str = "127.0.0.1"  # behind a reverse proxy on the same host (README)
    WEBHOOK_PORT: int = Field(default=8443, ge=1, le=65535)
    REMINDER_OFFSETS: str = "24h,2h"
    ADMIN_CHAT_ID: int | None = None

    @field_validator(
        "ZIMUN_ORGANIZATION_ID",
        "ZIMUN_API_DIALECT",
        "WEBHOOK_URL",
        "WEBHOOK_SECRET",
        "ADMIN_CHAT_ID",
        mode="before",
    )
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        """`FOO=` in .env means "not set", as operators expect, not "empty string"."""
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("BOT_DEFAULT_LANGUAGE", "LOG_LEVEL", "LOG_FORMAT", mode="before")
    @classmethod
    def _normalise_case(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        value = value.strip()
        return (
            value.upper()
            if value.upper() in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}
            else value.lower()
        )

    @field_validator("REMINDER_OFFSETS")
    @classmethod
    def _offsets_parse(cls, value: str) -> str:
        parse_offsets(value)  # ValueError -> "REMINDER_OFFSETS is invalid: ..."
        return value

    @property
    def reminder_offsets(self) -> tuple[timedelta, ...]:
        return parse_offsets(self.REMINDER_OFFSETS)

    @field_validator("ZIMUN_API_DIALECT", mode="before")
    @classmethod
    def _dialect_case(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value


def _describe(error: dict) -> str:
    name = str(error["loc"][0]) if error["loc"] else "settings"
    if error["type"] == "missing":
        return f"{name} is not set (put it in the environment or in .env; see .env.example)"
    value = error.get("input")
    shown = "" if name.endswith(("TOKEN", "SECRET")) else f" (got {value!r})"
    message = str(error["msg"]).removeprefix("Value error, ")
    return f"{name} is invalid: {message}{shown}"


def load_settings(**overrides: object) -> Settings:
    """Settings from environment/.env, or SettingsError naming the first bad variable."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        raise SettingsError(_describe(exc.errors()[0])) from None
