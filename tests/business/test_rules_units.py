"""The operator's rules as pure functions: the booking window, the change cutoff, the catalogue
order and hide lists, texts with a fallback language, and the settings that feed them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.config.settings import SettingsError, load_settings
from bot.core.business import Business
from bot.core.models import Location, Service
from bot.core.offer import Listing, Offer
from bot.core.rules import BookingRules, Verdict

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # 10:00 in Madrid
REQUIRED = {"TELEGRAM_BOT_TOKEN": "1:x", "ZIMUN_CLIENT_ID": "id", "ZIMUN_CLIENT_SECRET": "s"}


def settings(**values: str):  # type: ignore[no-untyped-def]
    return load_settings(**REQUIRED, **values)


def error_of(**values: str) -> str:
    with pytest.raises(SettingsError) as caught:
        settings(**values)
    return str(caught.value)


# ---- the booking window -------------------------------------------------------------------


def test_window_is_lead_time_to_horizon() -> None:
    rules = BookingRules(lead_time=timedelta(hours=2), horizon=timedelta(days=60))
    earliest, latest = rules.window(NOW)
    assert earliest == NOW + timedelta(hours=2)
    assert latest == NOW + timedelta(days=60)
    assert not rules.bookable(NOW + timedelta(hours=1, minutes=59), NOW)  # the next hours
    assert rules.bookable(NOW + timedelta(hours=2), NOW)  # exactly the earliest counts
    assert rules.bookable(NOW + timedelta(days=60), NOW)
    assert not rules.bookable(NOW + timedelta(days=60, minutes=1), NOW)
    madrid = ZoneInfo("Europe/Madrid")
    first, last = rules.dates(NOW, madrid)
    assert (first.isoformat(), last and last.isoformat()) == ("2026-11-23", "2027-01-22")


def test_without_rules_everything_ahead_is_bookable() -> None:
    rules = BookingRules()
    assert rules.window(NOW) == (NOW, None)
    assert rules.bookable(NOW + timedelta(minutes=1), NOW)
    assert rules.bookable(NOW + timedelta(days=400), NOW)
    assert not rules.bookable(NOW, NOW)  # a time that has come is never bookable


@given(
    lead=st.integers(0, 30 * 24 * 60),
    span=st.integers(1, 366 * 24 * 60),
    offset=st.integers(-10 * 24 * 60, 400 * 24 * 60),
)
def test_bookable_is_exactly_the_window(lead: int, span: int, offset: int) -> None:
    rules = BookingRules(lead_time=timedelta(minutes=lead), horizon=timedelta(minutes=lead + span))
    start = NOW + timedelta(minutes=offset)
    earliest, latest = rules.window(NOW)
    assert latest is not None
    assert rules.bookable(start, NOW) == (start > NOW and earliest <= start <= latest)


def test_change_cutoff_and_allowed_changes() -> None:
    start = NOW + timedelta(hours=30)
    rules = BookingRules(change_cutoff=timedelta(hours=24))
    assert rules.may_change("reschedule", start, NOW) is Verdict.ALLOWED
    assert rules.may_change("cancel", start, NOW + timedelta(hours=6)) is Verdict.TOO_LATE
    assert rules.may_change("cancel", start, NOW + timedelta(hours=5, minutes=59)) is (
        Verdict.ALLOWED
    )
    assert rules.may_change("cancel", start, start) is Verdict.STARTED
    no_cutoff = BookingRules()
    assert no_cutoff.may_change("cancel", start, start - timedelta(minutes=1)) is Verdict.ALLOWED
    cancel_only = BookingRules(allow_reschedule=False)
    assert cancel_only.may_change("reschedule", start, NOW) is Verdict.DISABLED
    assert cancel_only.may_change("cancel", start, NOW) is Verdict.ALLOWED
    assert cancel_only.changes_allowed == (False, True)


# ---- the catalogue ------------------------------------------------------------------------


def test_listing_orders_hides_and_may_allow_only_the_listed() -> None:
    items = [Location(id=i) for i in ("a", "b", "c", "d")]
    ordered = Listing(order=("c", "a"))
    assert [x.id for x in ordered.arrange(items)] == ["c", "a", "b", "d"]
    hidden = Listing(hidden=frozenset({"a"}), order=("c", "a"))
    assert [x.id for x in hidden.arrange(items)] == ["c", "b", "d"]  # hidden beats listed
    allow = Listing(order=("d", "b"), only_listed=True)
    assert [x.id for x in allow.arrange(items)] == ["d", "b"]


def test_offer_drops_inactive_branches_and_branches_without_an_offered_service() -> None:
    locations = [
        Location(id="madrid"),
        Location(id="closed", active=False),
        Location(id="berlin"),
    ]
    services = [
        Service(id="checkup", location_ids=("madrid",)),
        Service(id="physio", location_ids=("berlin",)),
        Service(id="everywhere"),
    ]
    offer = Offer(services=Listing(hidden=frozenset({"physio", "everywhere"})))
    assert [x.id for x in offer.offered_locations(locations, services)] == ["madrid"]
    assert [x.id for x in offer.offered_services(services, "berlin")] == []
    assert [x.id for x in Offer().offered_services(services, "berlin")] == [
        "physio",
        "everywhere",
    ]


# ---- the business's words -----------------------------------------------------------------


def test_texts_fall_back_to_the_default_language() -> None:
    business = Business(
        texts={"welcome": {"es": "¡Hola!", "en": "Hello!"}, "contact": {"es": "Llámanos"}},
        languages=("es", "en", "de"),
        default_language="es",
    )
    assert business.text("welcome", "en") == "Hello!"
    assert business.text("welcome", "de") == "¡Hola!"  # the fallback: the default language
    assert business.text("contact", "en") == "Llámanos"
    assert business.text("help", "en") is None
    assert business.language("de-AT") == "de"
    assert business.language("it") == "es"  # not offered: the default
    assert business.language(None) == "es"
    # the one rule: the first candidate offered (stored choice, booking's, Telegram's)
    assert business.language("it", None, "de-AT", "en") == "de"
    assert business.language("pt", "it") == "es"


# ---- settings -----------------------------------------------------------------------------


def test_languages_and_default() -> None:
    assert settings().languages == ("en", "es", "it", "de")
    assert settings().default_language == "en"
    spanish_first = settings(BOT_LANGUAGES="ES, en")
    assert spanish_first.languages == ("es", "en")
    assert spanish_first.default_language == "es"  # unset: the first offered
    assert settings(BOT_LANGUAGES="es,en", BOT_DEFAULT_LANGUAGE="en").default_language == "en"
    assert settings(BOT_LANGUAGES="es,en", BOT_DEFAULT_LANGUAGE="").default_language == "es"
    assert error_of(BOT_LANGUAGES="es,en", BOT_DEFAULT_LANGUAGE="de") == (
        "BOT_DEFAULT_LANGUAGE is invalid: 'de' is not one of BOT_LANGUAGES (es,en) (got 'de')"
    )
    assert error_of(BOT_LANGUAGES="es,fr").startswith(
        "BOT_LANGUAGES is invalid: 'fr' is not one of the bot's languages (en, es, it, de)"
    )


def test_durations_and_lists() -> None:
    loaded = settings(
        BOOKING_LEAD_TIME="2h",
        BOOKING_HORIZON="60d",
        CHANGE_CUTOFF="24h",
        HIDE_LOCATIONS=" loc_a , loc_b,",
        HIDE_SERVICES="svc_x",
    )
    assert loaded.booking_lead_time == timedelta(hours=2)
    assert loaded.booking_horizon == timedelta(days=60)
    assert loaded.change_cutoff == timedelta(hours=24)
    assert loaded.hidden_locations == ("loc_a", "loc_b")
    assert loaded.hidden_services == ("svc_x",)
    defaults = settings(CHANGE_CUTOFF="")
    assert defaults.booking_lead_time == timedelta(0)
    assert defaults.booking_horizon is None
    assert defaults.change_cutoff is None  # empty: changes allowed until the start
    assert error_of(BOOKING_LEAD_TIME="soon") == (
        "BOOKING_LEAD_TIME is invalid: 'soon' is not a duration like 24h, 90m or 1d (got 'soon')"
    )
    assert error_of(BOOKING_LEAD_TIME="3d", BOOKING_HORIZON="2d").startswith(
        "BOOKING_HORIZON is invalid: '2d' must be longer than BOOKING_LEAD_TIME"
    )
    assert error_of(BOOKING_HORIZON="400d").startswith(
        "BOOKING_HORIZON is invalid: '400d' must be more than 0 and at most 366d"
    )
    assert error_of(CHANGE_CUTOFF="31d").startswith("CHANGE_CUTOFF is invalid: '31d' must be")
    assert error_of(CONTACT="two\nlines").startswith("CONTACT is invalid: must be one line")
