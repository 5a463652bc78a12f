"""The operator's bot: their words and rules, read from the settings and BOT_CONFIG at start.

`load_operator(settings)` gathers everything a business configures without touching code:

- settings (environment/.env): BUSINESS_NAME, CONTACT, BOT_LANGUAGES, BOT_DEFAULT_LANGUAGE,
  HIDE_LOCATIONS, HIDE_SERVICES, BOOKING_LEAD_TIME, BOOKING_HORIZON, CHANGE_CUTOFF,
  ALLOW_RESCHEDULE, ALLOW_CANCEL, MAX_UPCOMING_PER_CUSTOMER, MAX_BOOKINGS_PER_DAY,
  MESSAGES_DIR;
- BOT_CONFIG, an optional TOML file for what does not fit in a variable: the welcome, help and
  contact texts per language, and the order of branches and services (which may double as
  an allow list). Where a setting and the file disagree, the setting wins.
- MESSAGES_DIR, rewordings of any message per language (bot/i18n/overrides.py).

Every problem is a SettingsError: one line naming the variable (and the file, key or message),
so `python -m bot` stops with exit code 2 before it talks to anyone.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.config.settings import Settings, SettingsError
from bot.core.business import TEXT_KINDS, Business
from bot.core.languages import SUPPORTED_LANGUAGES
from bot.core.offer import Listing, Offer
from bot.core.rules import BookingRules
from bot.i18n.overrides import OverrideError, Tables, load_overrides

MAX_TEXT = 1000  # characters of one operator text: a message holds 4,096 with the bot's own
TOP_KEYS = frozenset({"business_name", *TEXT_KINDS, "locations", "services"})
LIST_KEYS = frozenset({"order", "hide", "only_listed"})


@dataclass(frozen=True)
class Operator:
    business: Business = field(default_factory=Business)
    rules: BookingRules = field(default_factory=BookingRules)
    overrides: Tables = field(default_factory=dict)


def load_operator(settings: Settings) -> Operator:
    """The operator's words and rules; SettingsError (one line) for anything unusable."""
    config = read_config(settings.BOT_CONFIG) if settings.BOT_CONFIG else {}
    where = f"BOT_CONFIG={settings.BOT_CONFIG}"
    texts = {kind: _texts(config.get(kind), f"{where}: [{kind}]") for kind in TEXT_KINDS}
    if settings.CONTACT:  # the setting wins over the file's contact texts
        texts["contact"] = dict.fromkeys(SUPPORTED_LANGUAGES, settings.CONTACT)
    name = settings.BUSINESS_NAME or _text(config.get("business_name"), f"{where}: business_name")
    business = Business(
        name=name or None,
        texts=texts,
        languages=settings.languages,
        default_language=settings.default_language,
    )
    offer = Offer(
        locations=_listing(config.get("locations"), settings.hidden_locations, where, "locations"),
        services=_listing(config.get("services"), settings.hidden_services, where, "services"),
    )
    return Operator(
        business=business,
        rules=rules_from_settings(settings, offer),
        overrides=_overrides(settings.MESSAGES_DIR),
    )


def read_config(path_text: str) -> dict[str, Any]:
    """The BOT_CONFIG file as a table, its keys checked (a misspelt key is an error)."""
    path = Path(path_text)
    try:
        with path.open("rb") as fh:
            config = tomllib.load(fh)
    except FileNotFoundError:
        raise SettingsError(f"BOT_CONFIG={path_text}: no such file") from None
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"BOT_CONFIG={path_text} is not valid TOML: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SettingsError(f"BOT_CONFIG={path_text} cannot be read: {exc}") from None
    except RecursionError:  # tomllib parses nested arrays and tables by recursion
        raise SettingsError(
            f"BOT_CONFIG={path_text} is not valid TOML: arrays or tables nested too deeply"
        ) from None
    _known_keys(config, TOP_KEYS, f"BOT_CONFIG={path_text}")
    return config


def _known_keys(table: Mapping[str, Any], known: frozenset[str], where: str) -> None:
    unknown = sorted(set(table) - known)
    if unknown:
        raise SettingsError(
            f"{where}: unknown key {unknown[0]!r} (known: {', '.join(sorted(known))})"
        )


def _text(value: Any, where: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise SettingsError(f"{where} must be a non-empty string")
    if len(value) > MAX_TEXT:
        raise SettingsError(f"{where} is longer than {MAX_TEXT} characters")
    return value.strip()


def _texts(value: Any, where: str) -> dict[str, str]:
    """A table of texts by language code, e.g. [welcome] es = "...", en = "..."."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise SettingsError(f'{where} must be a table of texts by language (es = "...")')
    _known_keys(value, frozenset(SUPPORTED_LANGUAGES), where)
    return {lang: str(_text(text, f"{where} {lang}")) for lang, text in value.items()}


def _listing(value: Any, hidden_setting: tuple[str, ...], where: str, kind: str) -> Listing:
    """[locations] / [services]: order, only_listed, hide; HIDE_* (if set) wins over hide."""
    table = value if value is not None else {}
    section = f"{where}: [{kind}]"
    if not isinstance(table, Mapping):
        raise SettingsError(f"{section} must be a table (order = [...], only_listed = true)")
    _known_keys(table, LIST_KEYS, section)
    order = _ids(table.get("order", []), f"{section} order")
    hide = _ids(table.get("hide", []), f"{section} hide")
    only_listed = table.get("only_listed", False)
    if not isinstance(only_listed, bool):
        raise SettingsError(f"{section} only_listed must be true or false")
    if only_listed and not order:
        raise SettingsError(f"{section} only_listed = true needs an order list of ids to offer")
    return Listing(hidden=frozenset(hidden_setting or hide), order=order, only_listed=only_listed)


def _ids(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise SettingsError(f'{where} must be a list of ids, e.g. ["loc_1", "loc_2"]')
    return tuple(dict.fromkeys(v.strip() for v in value))


def _overrides(directory: str | None) -> Tables:
    if not directory:
        return {}
    try:
        return load_overrides(Path(directory))
    except OverrideError as exc:
        raise SettingsError(f"MESSAGES_DIR={directory}: {exc}") from None


def rules_from_settings(settings: Settings, offer: Offer | None = None) -> BookingRules:
    """The booking rules the settings name (the catalogue's hide lists unless `offer` is given)."""
    return BookingRules(
        lead_time=settings.booking_lead_time,
        horizon=settings.booking_horizon,
        change_cutoff=settings.change_cutoff,
        allow_reschedule=settings.ALLOW_RESCHEDULE,
        allow_cancel=settings.ALLOW_CANCEL,
        offer=offer
        or Offer(
            Listing(frozenset(settings.hidden_locations)),
            Listing(frozenset(settings.hidden_services)),
        ),
        waitlist=settings.WAITLIST_CALLS_PER_MINUTE > 0,
        max_upcoming=settings.MAX_UPCOMING_PER_CUSTOMER or None,
        max_per_day=settings.MAX_BOOKINGS_PER_DAY or None,
    )
