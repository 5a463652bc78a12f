"""Pure pieces: the calendar grid and month codes, name and email validation."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.core import calendar as cal
from bot.core.models import Availability
from bot.core.state import ChatState, DayCode, Draft, Navigation, Step
from bot.core.validation import clean_email, clean_name


def test_month_codes_mark_past_closed_holiday_and_free_days() -> None:
    availability = Availability.parse(
        {
            "timezone": "Europe/Madrid",
            "days": [
                {"date": "2030-05-02", "closed": False, "holiday": {"name": "Fiesta"}},
                {"date": "2030-05-04", "closed": True, "holiday": None, "slots": []},
                {
                    "date": "2030-05-06",
                    "slots": [{"start_time": "2030-05-06T09:00:00+02:00"}],
                },
            ],
        }
    )
    now = datetime(2030, 5, 1, 12, tzinfo=UTC)
    month = cal.month_from(availability, window(now), MADRID, 2030, 5)
    assert len(month.codes) == 31
    assert cal.day_code(month, 2) == DayCode.HOLIDAY and month.holidays == {2: "Fiesta"}
    assert cal.day_code(month, 4) == DayCode.CLOSED
    assert cal.day_code(month, 6) == DayCode.FREE
    assert cal.day_code(month, 3) == DayCode.NONE  # inside the answer's range, no slot
    # Past the last day the answer covers, a day is unknown (a server that lists only days
    # with slots, or caps the range) and stays choosable: a one-day query decides.
    assert cal.day_code(month, 7) == DayCode.UNKNOWN
    assert cal.choosable(DayCode.UNKNOWN) and cal.choosable(DayCode.FREE)
    assert not cal.choosable(DayCode.NONE) and not cal.choosable(DayCode.CLOSED)
    later = datetime(2030, 5, 10, 12, tzinfo=UTC)
    past = cal.month_from(availability, window(later), MADRID, 2030, 5)
    assert cal.day_code(past, 6) == DayCode.PAST
    short = cal.month_from(availability, window(now, days=3), MADRID, 2030, 5)
    assert cal.day_code(short, 5) == DayCode.BEYOND and not cal.choosable(DayCode.BEYOND)


MADRID = ZoneInfo("Europe/Madrid")


def window(now: datetime, days: int = 91, lead: timedelta = timedelta(0)) -> cal.Window:
    return cal.Window(now, now + lead, now + timedelta(days=days))


def test_the_window_spans_months_across_the_year_end_and_leap_days() -> None:
    eve = datetime(2026, 12, 31, 22, 30, tzinfo=UTC)  # 23:30 in Madrid, 1 January in Tokyo
    span = window(eve)
    assert span.first_day(MADRID) == date(2026, 12, 31)
    assert span.first_day(ZoneInfo("Asia/Tokyo")) == date(2027, 1, 1)
    assert cal.months_between(span.first_day(MADRID), span.last_day(MADRID)) == [
        (2026, 12),
        (2027, 1),
        (2027, 2),
        (2027, 3),
        (2027, 4),  # 91 days after 31 December is 1 April
    ]
    assert cal.in_range(date(2026, 12, 31), date(2027, 3, 31), 2027, 1)
    assert not cal.in_range(date(2026, 12, 31), date(2027, 3, 31), 2026, 11)
    assert cal.days_ahead(date(2028, 2, 28), date(2028, 3, 1)) == 3  # 29 February counts
    assert cal.days_ahead(date(2030, 5, 30), date(2030, 12, 31)) == cal.MAX_DAYS_AHEAD
    lead = window(datetime(2030, 5, 1, 12, tzinfo=UTC), lead=timedelta(hours=2))
    assert not lead.admits(datetime(2030, 5, 1, 13, tzinfo=UTC))
    assert lead.admits(datetime(2030, 5, 1, 15, tzinfo=UTC))


def test_the_calendar_opens_on_the_first_month_with_a_free_day() -> None:
    availability = Availability.parse(
        {
            "timezone": "Europe/Madrid",
            "days": [
                {"date": "2030-05-31", "closed": False, "slots": []},
                {"date": "2030-06-01", "closed": True, "slots": []},
                {"date": "2030-06-03", "slots": [{"start_time": "2030-06-03T09:00:00+02:00"}]},
            ],
        }
    )
    last_evening = datetime(2030, 5, 31, 21, 30, tzinfo=UTC)  # 23:30 on the month's last day
    span = window(last_evening, days=3)
    shown = cal.opening_month(availability, span, MADRID)
    assert (shown.year, shown.month) == (2030, 6)
    assert cal.first_free(availability, span) == datetime(2030, 6, 3, 7, tzinfo=UTC)
    may = cal.month_from(availability, span, MADRID, 2030, 5)
    assert not cal.has_choosable(may)
    after_may = cal.opening_month(availability, span, MADRID, after=(2030, 5))
    assert (after_may.year, after_may.month) == (2030, 6)


def test_grid_starts_on_the_given_weekday_and_horizon() -> None:
    monday_first = cal.weeks(2030, 5, 0)
    sunday_first = cal.weeks(2030, 5, 6)
    assert monday_first[0][:3] == [0, 0, 1]  # 1 May 2030 is a Wednesday
    assert sunday_first[0][:4] == [0, 0, 0, 1]
    assert cal.weekday_order(6)[0] == 6


def test_names() -> None:
    assert clean_name("  Ana   María ")[0] == "Ana María"
    assert clean_name("")[0] is None
    assert clean_name("x" * 101)[0] is None
    assert clean_name("x" * 100)[0] == "x" * 100
    assert clean_name("Ana\x00")[0] is None
    assert clean_name("Ana\u202e")[0] is None
    assert clean_name("<b>Zoë</b> 😀")[0] == "<b>Zoë</b> 😀"


def test_emails() -> None:
    assert clean_email(" ana@example.com ")[0] == "ana@example.com"
    for bad in ("ana", "ana@", "@example.com", "ana@@example.com", "a" * 250 + "@example.com"):
        email, why = clean_email(bad)
        assert email is None and why is not None
    assert clean_email("x" * 300)[1].key == "That email address is too long."


def test_state_round_trip_and_tolerance() -> None:
    state = ChatState(
        nav=Navigation(step=Step.NAME, nonce="ab12"), draft=Draft(options=["x"], name="Ana")
    )
    assert ChatState.loads(state.dumps()) == state
    assert ChatState.loads('{"step":"name","future_field":1}').nav.step == Step.NAME
    assert ChatState.loads(None).nav.step == Step.MENU


def test_an_empty_answer_leaves_every_coming_day_to_a_one_day_query() -> None:
    now = datetime(2030, 5, 10, 12, tzinfo=UTC)
    month = cal.month_from(Availability.parse({}), window(now), MADRID, 2030, 5)
    assert cal.day_code(month, 9) == DayCode.PAST
    assert {cal.day_code(month, n) for n in range(10, 32)} == {DayCode.UNKNOWN}


def test_names_keep_emoji_sequences_but_not_bidi_overrides() -> None:
    assert clean_name("Ana 👩\u200d💻")[0] == "Ana 👩\u200d💻"
    assert clean_name("Mehr\u200cdad")[0] == "Mehr\u200cdad"
    assert clean_name("Ana\u202egnp.exe")[0] is None
    assert clean_name("Ana\u200bLee")[0] is None  # a zero-width space hides a second word
