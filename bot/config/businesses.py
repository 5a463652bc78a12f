"""Many businesses in one process: BUSINESSES_FILE, read into one full Settings per business.

Operators who run bots for many businesses write one TOML file (README, "Running many bots in one
process") instead of one `.env` per process:

    [defaults]                        # optional: what most businesses share
    ZIMUN_BASE_URL = "https://api.zimun.online/api/v1"

    [businesses.studio-north]         # the id: 1-64 of a-z 0-9 -
    TELEGRAM_BOT_TOKEN = "${NORTH_BOT_TOKEN}"   # a whole "${NAME}" is read from the environment
    ZIMUN_CLIENT_ID = "north"
    ZIMUN_CLIENT_SECRET = "${NORTH_ZIMUN_SECRET}"

A business's table wins over [defaults], which wins over the environment (and .env), which wins
over the built-in defaults; the process-wide settings (PROCESS_WIDE) come from the environment
only. Each business is validated by the same Settings model as a lone bot, so a mistake reads as
today's one line, after the file and the business it is in. No error line ever shows a token or
a secret: values of such keys are never quoted, and a "${NAME}" names the variable, not its
value.
"""

from __future__ import annotations

import difflib
import hashlib
import hmac
import os
import re
import tomllib
from base64 import urlsafe_b64encode
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from bot.config.operator import load_operator
from bot.config.settings import Settings, SettingsError, describe_error

# The settings a business may set in the file: everything that is the business's own.
PER_BUSINESS: tuple[str, ...] = (
    "TELEGRAM_BOT_TOKEN",
    "TELEGRAM_BASE_URL",
    "ZIMUN_CLIENT_ID",
    "ZIMUN_CLIENT_SECRET",
    "ZIMUN_BASE_URL",
    "ZIMUN_TOKEN_URL",
    "ZIMUN_ORGANIZATION_ID",
    "ZIMUN_API_DIALECT",
    "BOT_LANGUAGES",
    "BOT_DEFAULT_LANGUAGE",
    "BUSINESS_NAME",
    "CONTACT",
    "HIDE_LOCATIONS",
    "HIDE_SERVICES",
    "BOOKING_LEAD_TIME",
    "BOOKING_HORIZON",
    "CHANGE_CUTOFF",
    "ALLOW_RESCHEDULE",
    "ALLOW_CANCEL",
    "MESSAGES_DIR",
    "BOT_CONFIG",
    "REMINDER_OFFSETS",
    "ADMIN_CHAT_ID",
    "RECONCILE_CALLS_PER_MINUTE",
    "WAITLIST_CALLS_PER_MINUTE",
)
# One listener, one database, one log for the whole process: the environment's, never a file's
# (so are the settings in neither list, e.g. MAX_UPCOMING_PER_CUSTOMER: one value for all).
PROCESS_WIDE: tuple[str, ...] = (
    "BOT_DB_PATH",
    "LOG_LEVEL",
    "LOG_FORMAT",
    "WEBHOOK_URL",
    "WEBHOOK_SECRET",
    "WEBHOOK_LISTEN",
    "WEBHOOK_PORT",
    "MINI_APP_URL",  # one address for all: business <id>'s page is at MINI_APP_URL + "<id>/"
)
ID_RE = re.compile(r"^[a-z0-9-]{1,64}$")
REFERENCE_RE = re.compile(r"^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$")
TOP_TABLES = ("businesses", "defaults")
# The derived webhook secrets of different businesses must differ in more than their input.
_WEBHOOK_CONTEXT = b"zimun-bot webhook secret for business "


@dataclass(frozen=True)
class BusinessConfig:
    """One business of the file: its id (in logs, metrics, its webhook path and its data) and
    its full Settings (process-wide values included, so anything taking Settings takes it)."""

    id: str
    settings: Settings


class BusinessesFileError(SettingsError):
    """A mistake in BUSINESSES_FILE; `str()` is one line naming the file, the business (or
    [defaults]) and the key."""


def _settings_of(values: Mapping[str, Any]) -> Settings:
    """Settings validated from `values` alone, by the same fields and validators as ever.

    BaseSettings' own constructor would read the environment and .env again (they are one of
    the layers in `values` already) and costs about 1 ms a business in doing so; pydantic's
    model constructor, which it wraps, validates the values alone in about 25 us, so a thousand
    businesses (and each SIGHUP's re-read) load in a fraction of a second."""
    settings = Settings.__new__(Settings)
    BaseModel.__init__(settings, **values)
    return settings


def load_businesses(
    settings: Settings, environ: Mapping[str, str] | None = None
) -> list[BusinessConfig] | None:
    """The businesses of settings.BUSINESSES_FILE, in the file's order; None when it is unset.

    `settings` gives the process-wide values; `environ` is the environment ("${NAME}" values and
    the layer under [defaults]): by default os.environ over .env, as Settings reads them.
    Raises BusinessesFileError, one line, for the first mistake found."""
    if settings.BUSINESSES_FILE is None:
        return None
    path = settings.BUSINESSES_FILE
    where = f"BUSINESSES_FILE={path}"
    env = dict(environ) if environ is not None else _os_environment(settings)
    defaults, tables = _tables(_read(path, where), where)
    defaults_layer = _values(defaults, f"{where}: [defaults]", env)
    env_layer = _environment_layer(env)
    process = {
        name: getattr(settings, name) for name in Settings.model_fields if name not in PER_BUSINESS
    }
    businesses = []
    for business_id, table in tables.items():
        here = f"{where}: [businesses.{business_id}]"
        own = _values(table, here, env)
        layers = {**env_layer, **defaults_layer, **own}
        sources = {name: "[defaults]" for name in defaults_layer} | dict.fromkeys(own, "")
        values = {**process, **layers, **own_page(settings, business_id)}
        business_settings = _validate(values, here, env_layer, sources)
        try:
            load_operator(business_settings)  # BOT_CONFIG, MESSAGES_DIR: checked here too
        except SettingsError as exc:
            raise BusinessesFileError(f"{here} {exc}") from None
        businesses.append(BusinessConfig(business_id, business_settings))
    _distinct_bots(businesses, where)
    return businesses


def derived_webhook_secret(secret: str, business_id: str) -> str:
    """Business `business_id`'s webhook secret_token: HMAC-SHA256 of its id under
    WEBHOOK_SECRET, in URL-safe base64 (43 of A-Z a-z 0-9 _ -, what Telegram accepts).

    Every business's path checks its own secret, so a secret that leaks from one business's
    webhook registration opens no other business's path, and none of them reveals
    WEBHOOK_SECRET (from which all are made)."""
    digest = hmac.new(
        secret.encode("utf-8"), _WEBHOOK_CONTEXT + business_id.encode("utf-8"), hashlib.sha256
    ).digest()
    return urlsafe_b64encode(digest).decode("ascii").rstrip("=")


def own_page(settings: Settings, business_id: str) -> dict[str, str]:
    """Business `business_id`'s booking page (README, "Mini App"): MINI_APP_URL + "<id>/", or
    nothing without MINI_APP_URL.

    MINI_APP_URL is process-wide, like WEBHOOK_URL: one listener serves every page, so one
    location at the proxy (and one certificate) covers every business, and a business added by
    SIGHUP needs no change there. The id in the path is what the listener routes by; the
    business's own settings carry its own address, which its menu button and its chat's
    "📅 Calendar" buttons open."""
    if settings.MINI_APP_URL is None:
        return {}
    return {"MINI_APP_URL": f"{str(settings.MINI_APP_URL).rstrip('/')}/{business_id}/"}


# ---- reading the file -------------------------------------------------------------------------


def _read(path_text: str, where: str) -> dict[str, Any]:
    try:
        with Path(path_text).open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise BusinessesFileError(f"{where}: no such file") from None
    except IsADirectoryError:
        raise BusinessesFileError(f"{where} is a folder, not a TOML file") from None
    except tomllib.TOMLDecodeError as exc:  # says where: "(at line 4, column 12)"
        raise BusinessesFileError(f"{where} is not valid TOML: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise BusinessesFileError(f"{where} cannot be read: {exc}") from None
    except RecursionError:  # tomllib parses nested arrays and tables by recursion
        raise BusinessesFileError(
            f"{where} is not valid TOML: arrays or tables nested too deeply"
        ) from None


def _tables(
    document: Mapping[str, Any], where: str
) -> tuple[Mapping[str, Any], dict[str, Mapping[str, Any]]]:
    """([defaults], {id: [businesses.<id>]}), their shapes checked."""
    unknown = sorted(set(document) - set(TOP_TABLES))
    if unknown:
        raise BusinessesFileError(
            f"{where}: unknown table or key {unknown[0]!r} at the top (the file holds "
            "[defaults] and [businesses.<id>] tables)"
        )
    defaults = document.get("defaults", {})
    if not isinstance(defaults, Mapping):
        raise BusinessesFileError(f"{where}: defaults must be a table ([defaults])")
    businesses = document.get("businesses", {})
    if not isinstance(businesses, Mapping):
        raise BusinessesFileError(f"{where}: businesses must be tables ([businesses.<id>])")
    tables: dict[str, Mapping[str, Any]] = {}
    for business_id, table in businesses.items():
        if not ID_RE.match(business_id):
            raise BusinessesFileError(
                f"{where}: [businesses.{business_id}]: {business_id!r} is not a business id "
                "(1 to 64 of a-z, 0-9 and -)"
            )
        if not isinstance(table, Mapping):
            raise BusinessesFileError(
                f"{where}: businesses.{business_id} must be a table ([businesses.{business_id}])"
            )
        tables[business_id] = table
    if not tables:
        raise BusinessesFileError(
            f"{where} names no business: add one [businesses.<id>] table per business"
        )
    return defaults, tables


def _values(table: Mapping[str, Any], where: str, env: Mapping[str, str]) -> dict[str, str]:
    """A table's settings as the environment would give them (strings), keys checked and
    "${NAME}" values read from `env`."""
    values: dict[str, str] = {}
    for key, value in table.items():
        name = key.upper()
        if name in values:
            raise BusinessesFileError(f"{where} {name} is set twice ({key!r} and another)")
        if name in PROCESS_WIDE or (name in Settings.model_fields and name not in PER_BUSINESS):
            raise BusinessesFileError(
                f"{where} {key} is process-wide: set it in the environment or .env, once for "
                "every business"
            )
        if name not in PER_BUSINESS:
            near = difflib.get_close_matches(name, PER_BUSINESS, n=1)
            hint = f" (did you mean {near[0]}?)" if near else " (see README, the businesses file)"
            raise BusinessesFileError(f"{where} {key} is not a per-business setting{hint}")
        values[name] = _as_text(name, value, where, env)
    return values


def _as_text(name: str, value: Any, where: str, env: Mapping[str, str]) -> str:
    if isinstance(value, bool):  # before int: a bool is an int
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if not isinstance(value, str):
        kind = {list: "a list", dict: "a table", float: "a decimal number"}.get(
            type(value), "a date or time"
        )
        raise BusinessesFileError(
            f"{where} {name} must be a string, a whole number or true/false, not {kind} (lists "
            'are written as in the environment: "a,b")'
        )
    reference = REFERENCE_RE.match(value.strip())
    if reference is None:
        return value
    variable = reference.group(1)
    if variable not in env:
        raise BusinessesFileError(
            f'{where} {name} = "${{{variable}}}": {variable} is not set in the environment'
        )
    return env[variable]


def _os_environment(settings: Settings) -> dict[str, str]:
    """The environment as Settings sees it: .env's variables under the process's own."""
    from dotenv import dotenv_values

    env_file = settings.model_config.get("env_file")
    dotenv: dict[str, str] = {}
    if isinstance(env_file, str) and Path(env_file).is_file():
        encoding = settings.model_config.get("env_file_encoding") or "utf-8"
        dotenv = {
            k: v for k, v in dotenv_values(env_file, encoding=encoding).items() if v is not None
        }
    return {**dotenv, **os.environ}


def _environment_layer(env: Mapping[str, str]) -> dict[str, str]:
    """The per-business settings the environment sets (names in any case, as Settings reads
    them); the bottom layer of every business."""
    wanted = set(PER_BUSINESS)
    return {name.upper(): value for name, value in env.items() if name.upper() in wanted}


def _validate(
    values: Mapping[str, Any],
    where: str,
    env_layer: Mapping[str, str],
    sources: Mapping[str, str],
) -> Settings:
    """One business's Settings, or its first problem as one line: today's message, after the
    business, with where the value came from when not from the business's own table."""
    try:
        return _settings_of(values)
    except ValidationError as exc:
        error = exc.errors()[0]
    name = str(error["loc"][0]) if error["loc"] else ""
    if error["type"] == "missing":
        raise BusinessesFileError(
            f"{where} {name} is not set (set it in this table, in [defaults] or in the environment)"
        )
    source = sources.get(name)
    if source is None:
        source = "the environment" if name in env_layer else ""
    origin = f" (from {source})" if source else ""
    raise BusinessesFileError(f"{where} {describe_error(error)}{origin}")


def _distinct_bots(businesses: list[BusinessConfig], where: str) -> None:
    """Two businesses on one bot token would answer each other's customers: refused, naming
    both ids (never the token)."""
    seen: dict[str, str] = {}
    for business in businesses:
        token = business.settings.TELEGRAM_BOT_TOKEN.get_secret_value()
        if token in seen:
            raise BusinessesFileError(
                f"{where}: [businesses.{seen[token]}] and [businesses.{business.id}] have the "
                "same TELEGRAM_BOT_TOKEN (each business needs its own bot from BotFather)"
            )
        seen[token] = business.id
