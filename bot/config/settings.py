"""Operator settings, read from the environment and `.env`.

The names are a public interface (deploy scripts and the README use them), so each field is
spelled exactly as its variable. `load_settings` turns any problem into one line that names the
variable, because operators read that line and nothing else.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import timedelta
from enum import StrEnum
from typing import Any, Literal

from pydantic import (
    AnyHttpUrl,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.core.languages import SUPPORTED_LANGUAGES


class SettingsError(Exception):
    """A missing or malformed setting; `str()` is the one line to show the operator."""


_OFFSET_RE = re.compile(r"^(\d{1,4})\s*([dhm])$")
_UNITS = {"d": timedelta(days=1), "h": timedelta(hours=1), "m": timedelta(minutes=1)}
MAX_REMINDER_OFFSET = timedelta(days=30)
MAX_LEAD_TIME = timedelta(days=30)
MAX_HORIZON = timedelta(days=366)
MAX_CHANGE_CUTOFF = timedelta(days=30)


def parse_duration(text: str) -> timedelta:
    """ "2h" -> 2 h; units d, h, m (the grammar of REMINDER_OFFSETS). ValueError otherwise."""
    part = text.strip().lower()
    match = _OFFSET_RE.match(part)
    if match is None:
        raise ValueError(f"{part!r} is not a duration like 24h, 90m or 1d")
    return int(match.group(1)) * _UNITS[match.group(2)]


def parse_offsets(text: str) -> tuple[timedelta, ...]:
    """ "24h,2h" -> (24 h, 2 h), longest first, duplicates dropped; "" -> () (no reminders).

    Units: d, h, m. Raises ValueError with the offending part, which the settings loader
    turns into one line naming REMINDER_OFFSETS.
    """
    offsets: set[timedelta] = set()
    for part in (p.strip().lower() for p in text.split(",")):
        if not part:
            continue
        offset = parse_duration(part)
        if not timedelta(0) < offset <= MAX_REMINDER_OFFSET:
            raise ValueError(f"{part!r} must be more than 0 and at most 30d")
        offsets.add(offset)
    return tuple(sorted(offsets, reverse=True))


def optional_duration(text: str, *, zero: bool, maximum: timedelta) -> timedelta | None:
    """A single duration setting: "" -> None (not set); 0 allowed only when `zero`."""
    if not text.strip():
        return None
    value = parse_duration(text)
    if value > maximum or (not zero and value == timedelta(0)):
        low = "" if zero else "more than 0 and "
        raise ValueError(f"{text.strip()!r} must be {low}at most {_shown(maximum)}")
    return value


def _shown(value: timedelta) -> str:
    return f"{value.days}d" if not value.seconds else f"{int(value.total_seconds()) // 60}m"


def parse_ids(text: str) -> tuple[str, ...]:
    """ "loc_a, loc_b" -> ("loc_a", "loc_b"): ids as the API spells them, blanks dropped."""
    return tuple(dict.fromkeys(part.strip() for part in text.split(",") if part.strip()))


def parse_languages(text: str) -> tuple[str, ...]:
    """ "es, en" -> ("es", "en"): a non-empty subset of the supported languages, in order."""
    languages = tuple(dict.fromkeys(p.strip().lower() for p in text.split(",") if p.strip()))
    unknown = [code for code in languages if code not in SUPPORTED_LANGUAGES]
    if unknown:
        raise ValueError(
            f"{unknown[0]!r} is not one of the bot's languages ({', '.join(SUPPORTED_LANGUAGES)})"
        )
    if not languages:
        raise ValueError(f"name at least one of {', '.join(SUPPORTED_LANGUAGES)}")
    return languages


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
    # postgresql://user:password@host:5432/dbname: the store in PostgreSQL (bot.store.postgres);
    # unset or blank: SQLite at BOT_DB_PATH. A secret: its password is never shown.
    DATABASE_URL: SecretStr | None = None
    # The operator's words and rules (README, "The operator's bot"). BOT_LANGUAGES comes before
    # BOT_DEFAULT_LANGUAGE: the default's validator reads it.
    BOT_LANGUAGES: str = ",".join(SUPPORTED_LANGUAGES)
    BOT_DEFAULT_LANGUAGE: Literal["en", "es", "it", "de"] | None = None  # None: the first offered
    BUSINESS_NAME: str | None = None
    CONTACT: str | None = None
    HIDE_LOCATIONS: str = ""
    HIDE_SERVICES: str = ""
    BOOKING_LEAD_TIME: str = ""
    BOOKING_HORIZON: str = ""
    CHANGE_CUTOFF: str = ""
    ALLOW_RESCHEDULE: bool = True
    ALLOW_CANCEL: bool = True
    MESSAGES_DIR: str | None = None
    BOT_CONFIG: str | None = None
    LOG_LEVEL: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"
    LOG_FORMAT: Literal["text", "json"] = "text"
    WEBHOOK_URL: AnyHttpUrl | None = None
    WEBHOOK_SECRET: SecretStr | None = None
    WEBHOOK_LISTEN: str = "127.0.0.1"  # behind a reverse proxy on the same host (README)
    WEBHOOK_PORT: int = Field(default=8443, ge=1, le=65535)
    # The booking page inside Telegram (README, "Mini App"): its public HTTPS address, served
    # by the bot on WEBHOOK_LISTEN:WEBHOOK_PORT behind the operator's proxy; unset: no page.
    MINI_APP_URL: AnyHttpUrl | None = None
    # Where the page loads Telegram's own script from. Tests only (a local stand-in that signs
    # initData as Telegram does); operators leave it alone.
    MINI_APP_SCRIPT_URL: AnyHttpUrl = AnyHttpUrl("https://telegram.org/js/telegram-web-app.js")
    # Polling mode with BUSINESSES_FILE: the Prometheus /metrics endpoint's port (on
    # WEBHOOK_LISTEN); unset: none. In webhook mode /metrics is on the webhook listener.
    METRICS_PORT: int | None = Field(default=None, ge=1, le=65535)
    REMINDER_OFFSETS: str = "24h,2h"
    ADMIN_CHAT_ID: int | None = None
    # Zimun calls per minute, at most, spent comparing upcoming bookings with Zimun to notice
    # changes made at the business (bot.core.cadence); 0 turns that off.
    RECONCILE_CALLS_PER_MINUTE: int = Field(default=60, ge=0, le=6000)
    # Zimun calls per minute, at most, spent watching waitlisted days for a freed time
    # (bot.core.cadence); 0 turns the waiting list off (not offered, not watched).
    WAITLIST_CALLS_PER_MINUTE: int = Field(default=30, ge=0, le=6000)
    # A fair share per customer (README, "Your rules"): the most upcoming appointments one
    # customer may hold, and the most bookings one customer may make in 24 hours; 0: no cap.
    MAX_UPCOMING_PER_CUSTOMER: int = Field(default=3, ge=0, le=1000)
    MAX_BOOKINGS_PER_DAY: int = Field(default=5, ge=0, le=1000)
    # Many businesses in one process (README, "Running many bots in one process"): a TOML file
    # with each business's settings (bot/config/businesses.py). Unset: one business, as always.
    BUSINESSES_FILE: str | None = None

    @field_validator(
        "ZIMUN_ORGANIZATION_ID",
        "ZIMUN_API_DIALECT",
        "WEBHOOK_URL",
        "WEBHOOK_SECRET",
        "MINI_APP_URL",
        "DATABASE_URL",
        "ADMIN_CHAT_ID",
        "METRICS_PORT",
        "BOT_DEFAULT_LANGUAGE",
        "BUSINESS_NAME",
        "CONTACT",
        "MESSAGES_DIR",
        "BOT_CONFIG",
        "BUSINESSES_FILE",
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

    @field_validator("MINI_APP_URL")
    @classmethod
    def _page_is_https(cls, value: AnyHttpUrl | None) -> AnyHttpUrl | None:
        """Telegram opens Mini Apps over HTTPS only."""
        if value is not None and value.scheme != "https":
            raise ValueError("must be an https:// address (Telegram opens Mini Apps over HTTPS)")
        return value

    @field_validator("REMINDER_OFFSETS")
    @classmethod
    def _offsets_parse(cls, value: str) -> str:
        parse_offsets(value)  # ValueError -> "REMINDER_OFFSETS is invalid: ..."
        return value

    @property
    def reminder_offsets(self) -> tuple[timedelta, ...]:
        return parse_offsets(self.REMINDER_OFFSETS)

    @field_validator("BOT_LANGUAGES")
    @classmethod
    def _languages_parse(cls, value: str) -> str:
        return ",".join(parse_languages(value))

    @field_validator("BOT_DEFAULT_LANGUAGE")
    @classmethod
    def _default_is_offered(cls, value: str | None, info: ValidationInfo) -> str | None:
        """Set, it must be offered; unset, the first of BOT_LANGUAGES is taken (below)."""
        offered = info.data.get("BOT_LANGUAGES")
        if value is not None and offered is not None and value not in offered.split(","):
            raise ValueError(f"{value!r} is not one of BOT_LANGUAGES ({offered})")
        return value

    @model_validator(mode="after")
    def _default_language(self) -> Settings:
        if self.BOT_DEFAULT_LANGUAGE is None:
            self.BOT_DEFAULT_LANGUAGE = self.languages[0]  # type: ignore[assignment]
        return self

    @property
    def default_language(self) -> str:
        """The language of customers whose own is not offered (never None once loaded)."""
        return self.BOT_DEFAULT_LANGUAGE or self.languages[0]

    @property
    def languages(self) -> tuple[str, ...]:
        """The languages offered to customers, in the order the language menu lists them."""
        return tuple(self.BOT_LANGUAGES.split(","))

    @field_validator("BUSINESS_NAME", "CONTACT")
    @classmethod
    def _one_line(cls, value: str | None) -> str | None:
        if value is not None and ("\n" in value.strip() or len(value) > 300):
            raise ValueError("must be one line of at most 300 characters")
        return value.strip() if value is not None else None

    @field_validator("BOOKING_LEAD_TIME")
    @classmethod
    def _lead_parse(cls, value: str) -> str:
        optional_duration(value, zero=True, maximum=MAX_LEAD_TIME)
        return value

    @field_validator("BOOKING_HORIZON")
    @classmethod
    def _horizon_parse(cls, value: str, info: ValidationInfo) -> str:
        horizon = optional_duration(value, zero=False, maximum=MAX_HORIZON)
        lead = _lead_of(info.data.get("BOOKING_LEAD_TIME"))
        if horizon is not None and lead is not None and horizon <= lead:
            raise ValueError(f"{value.strip()!r} must be longer than BOOKING_LEAD_TIME")
        return value

    @field_validator("CHANGE_CUTOFF")
    @classmethod
    def _cutoff_parse(cls, value: str) -> str:
        optional_duration(value, zero=True, maximum=MAX_CHANGE_CUTOFF)
        return value

    @property
    def booking_lead_time(self) -> timedelta:
        """The earliest bookable start is now + this (0: no lead time)."""
        return _lead_of(self.BOOKING_LEAD_TIME) or timedelta(0)

    @property
    def booking_horizon(self) -> timedelta | None:
        """The latest bookable start is now + this (None: as far as the calendar shows)."""
        return optional_duration(self.BOOKING_HORIZON, zero=False, maximum=MAX_HORIZON)

    @property
    def change_cutoff(self) -> timedelta | None:
        """No reschedule or cancel this long before the start (None: until the start)."""
        return optional_duration(self.CHANGE_CUTOFF, zero=True, maximum=MAX_CHANGE_CUTOFF)

    @property
    def hidden_locations(self) -> tuple[str, ...]:
        return parse_ids(self.HIDE_LOCATIONS)

    @property
    def hidden_services(self) -> tuple[str, ...]:
        return parse_ids(self.HIDE_SERVICES)

    @field_validator("ZIMUN_API_DIALECT", mode="before")
    @classmethod
    def _dialect_case(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value


def _lead_of(value: object) -> timedelta | None:
    """BOOKING_LEAD_TIME as a duration; None when unset or invalid (reported on its own)."""
    if not isinstance(value, str):
        return None
    try:
        return optional_duration(value, zero=True, maximum=MAX_LEAD_TIME)
    except ValueError:
        return None


def describe_error(error: Mapping[str, Any]) -> str:
    """One pydantic error as the operator's line: the variable, what is wrong, and the value
    given unless the variable holds a secret."""
    name = str(error["loc"][0]) if error["loc"] else "settings"
    if error["type"] == "missing":
        return f"{name} is not set (put it in the environment or in .env; see .env.example)"
    value = error.get("input")
    shown = "" if name.endswith(("TOKEN", "SECRET")) else f" (got {value!r})"
    message = str(error["msg"]).removeprefix("Value error, ")
    return f"{name} is invalid: {message}{shown}"


# With BUSINESSES_FILE, each business names its own bot and Zimun client in the file, so the
# environment need not: the process's own Settings (process-wide values only) gets these
# stand-ins for whichever of them the environment leaves unset. They are never used to talk to
# anyone; each business's Settings is built from the file (bot/config/businesses.py).
PER_BUSINESS_REQUIRED: dict[str, str] = {
    "TELEGRAM_BOT_TOKEN": "",
    "ZIMUN_CLIENT_ID": "(each business's own)",
    "ZIMUN_CLIENT_SECRET": "",
}


class _BusinessesFileOnly(BaseSettings):
    """Just BUSINESSES_FILE, read as Settings reads it (environment, .env)."""

    model_config = Settings.model_config
    BUSINESSES_FILE: str | None = None


def load_settings(**overrides: object) -> Settings:
    """Settings from environment/.env, or SettingsError naming the first bad variable.

    With BUSINESSES_FILE set, the per-business required settings (PER_BUSINESS_REQUIRED) may be
    missing from the environment (or blank): the file names them for each business."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        errors = exc.errors()
        # Missing or blank (.env.example leaves ZIMUN_CLIENT_ID= empty): each business's own
        # value, or this one as its environment layer, is checked with that business.
        deferred = {
            str(e["loc"][0]) for e in errors if e["loc"] and e["loc"][0] in PER_BUSINESS_REQUIRED
        }
        if not deferred or not _businesses_file_named(overrides):
            raise SettingsError(describe_error(errors[0])) from None
    stand_ins = {name: PER_BUSINESS_REQUIRED[name] for name in deferred}
    try:
        return Settings(**overrides, **stand_ins)  # type: ignore[arg-type]
    except ValidationError as exc:
        raise SettingsError(describe_error(exc.errors()[0])) from None


def _businesses_file_named(overrides: Mapping[str, object]) -> bool:
    named = {k: v for k, v in overrides.items() if k.upper() == "BUSINESSES_FILE"}
    value = _BusinessesFileOnly(**named).BUSINESSES_FILE  # type: ignore[arg-type]
    return bool(value and value.strip())
