"""Each step's screen, drawn from the chat state alone (plus the client's cached catalog).

Because a screen is a function of the state, any step can be re-shown at any time (a stale
button, free text, a restart) without calling the API for fresh data. Buttons carry payloads
bound to the state's current nonce.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Literal

from bot.chat.buttons import button, nav_row
from bot.chat.context import Ctx
from bot.chat.waitlist_views import bookings_rows, view_list, view_offer, view_switch
from bot.core import calendar as cal
from bot.core.details import Details, detail_lines
from bot.core.payload import Action, booking_data
from bot.core.records import BookingRow
from bot.core.screens import (
    Attachment,
    Button,
    DateTimeValue,
    DateValue,
    DurationValue,
    Label,
    LanguageName,
    MonthValue,
    Msg,
    Plural,
    Screen,
    TimeValue,
    Verbatim,
    WeekdayValue,
    ZoneValue,
)
from bot.core.state import DayCode, Month, Step
from bot.core.validation import clean_name, shown_email
from bot.core.widths import SERVICE_IN_LIST, shorten, shorten_email
from bot.core.words import call_us, contact_lines, cutoff_note, locked_after, own_texts, title
from bot.store.retention import BOOKINGS_KEPT_DAYS

TIMES_PER_PAGE = 12
TIMES_PER_ROW = 4
TIMES_PER_ROW_WITH_ZONE = 3  # the hour a daylight-saving switch repeats: "02:30 CEST" is wider
BOOKINGS_PER_PAGE = 6  # upcoming bookings per page of My bookings
PAST_SHOWN = 3
# Room for names we do not control on a full-width button (bot/core/widths.py): what is left
# beside the widest wording around them ("„…“ verwenden", "· Sa., 30. Sept., 14:30").
NAME_ON_BUTTON = 20.0
EMAIL_ON_BUTTON = 22.0

Rows = list[list[Button]]
View = tuple[list[Msg], Rows]


@functools.lru_cache(maxsize=16)
def first_week_day(lang: str) -> int:
    """The locale's first day of the week (0 = Monday), from the i18n module or Babel."""
    try:
        from bot.i18n import localizer  # type: ignore[attr-defined]

        return int(localizer(lang).first_week_day)
    except ImportError:
        from babel import Locale

        return int(Locale.parse(lang).first_week_day)


# ---- menu, help, language ---------------------------------------------------------------------


def menu_rows(ctx: Ctx) -> Rows:
    rows: Rows = []
    if ctx.state.nav.resume is not None:
        rows.append([button(ctx, Msg("▶️ Continue booking"), Action.RESUME)])
    last = [
        button(ctx, Msg("🌐 Language"), Action.LANGUAGE),
        button(ctx, Msg("❓ Help"), Action.HELP),
    ]
    return [
        *rows,
        [button(ctx, Msg("📅 Book an appointment"), Action.BOOK)],
        [button(ctx, Msg("🗂 My appointments"), Action.MY_BOOKINGS)],
        last if len(ctx.business.languages) > 1 else last[1:],  # one language: nothing to pick
    ]


async def view_menu(ctx: Ctx) -> View:
    return [Msg("What would you like to do?")], menu_rows(ctx)


HELP_LINES = (
    Msg("I book appointments for you: choose a location, a service, a day and a time."),
    Msg(
        "Once you pick a time, I keep it for you for a short while, so you can give your name "
        "and email."
    ),
    Msg("You can reschedule or cancel an appointment later under My appointments."),
    Msg("<b>Commands</b>"),
    Msg("/book – book an appointment"),
    Msg("/mybookings – see, reschedule or cancel your appointments"),
    Msg("/language – change the language"),
    Msg("/cancel – stop what you're doing"),
    Msg("/privacy – what I store about you, and how to delete it"),
    Msg("/forget – delete everything I store about you"),
    Msg("/help – this help"),
)
# (may reschedule, may cancel) -> the help lines that promise no change the operator turned off.
HELP_SWAPS: dict[tuple[bool, bool], dict[Msg, Msg]] = {
    (True, False): {
        HELP_LINES[2]: Msg("You can reschedule an appointment later under My appointments."),
        HELP_LINES[5]: Msg("/mybookings – see or reschedule your appointments"),
    },
    (False, True): {
        HELP_LINES[2]: Msg("You can cancel an appointment later under My appointments."),
        HELP_LINES[5]: Msg("/mybookings – see or cancel your appointments"),
    },
    (False, False): {
        HELP_LINES[2]: Msg("Your appointments are listed under My appointments."),
        HELP_LINES[5]: Msg("/mybookings – see your appointments"),
    },
}


def _offered(ctx: Ctx, line: Msg) -> bool:
    """/language is named only when there is a language to change to (BOT_LANGUAGES)."""
    return line is not HELP_LINES[6] or len(ctx.business.languages) > 1


def help_lines(ctx: Ctx) -> list[Msg]:
    """/help: the business's name and own texts, how the bot works, the commands, the
    contact line."""
    swaps = HELP_SWAPS.get(ctx.rules.changes_allowed, {})
    lines = [swaps.get(line, line) for line in HELP_LINES if _offered(ctx, line)]
    lines[3:3] = cutoff_note(ctx.rules)  # after the promise of changes, before the commands
    return [
        *title(ctx.business),
        *own_texts(ctx.business, ctx.lang, ("welcome", "help")),
        *lines,
        *contact_lines(ctx.business, ctx.lang),
    ]


async def view_help(ctx: Ctx) -> View:
    body = help_lines(ctx)
    rows = [[button(ctx, Msg("📅 Book an appointment"), Action.BOOK)], nav_row(ctx, cancel=False)]
    return body, rows


async def view_language(ctx: Ctx) -> View:
    rows = [
        [button(ctx, LanguageName(code), Action.PICK, i)]
        for i, code in enumerate(ctx.business.languages)
    ]
    rows.append(nav_row(ctx, cancel=False))
    return [Msg("Choose your language:")], rows


# ---- booking: branch, service, day, time ------------------------------------------------------


async def view_location(ctx: Ctx) -> View:
    rows: Rows = []
    for i, location_id in enumerate(ctx.state.draft.options):
        location = await ctx.api.get_location(location_id)
        name = location.name if location else location_id
        rows.append([button(ctx, Verbatim(name), Action.PICK, i)])
    rows.append(nav_row(ctx))
    return [Msg("Where would you like your appointment?")], rows


async def view_service(ctx: Ctx) -> View:
    location = await ctx.location()
    rows: Rows = []
    for i, service_id in enumerate(ctx.state.draft.options):
        service = await ctx.api.get_service(service_id)
        if service is None:
            continue
        label: Label = (
            Msg("{service} ({duration})", service=service.name, duration=DurationValue(minutes))
            if (minutes := service.duration_minutes)
            else Verbatim(service.name)
        )
        rows.append([button(ctx, label, Action.PICK, i)])
    body = [Msg("Which service would you like at {location}?", location=_name(location))]
    if not ctx.state.draft.options:
        body.append(Msg("No services can be booked at this location right now."))
    rows.append(nav_row(ctx))
    return body, rows


async def view_day(ctx: Ctx) -> View:
    state = ctx.state
    month = state.draft.month
    if month is None:  # cannot happen through the table; keep the screen usable anyway
        return [Msg("Please choose a day.")], [nav_row(ctx)]
    service, location = await ctx.service(), await ctx.location()
    body = [
        Msg(
            "<b>{service}</b> at {location}",
            service=_name(service),
            location=_name(location),
        ),
        Msg(
            "Which day in {month} suits you? Days marked · can't be booked.",
            month=MonthValue(month.year, month.month),
        ),
    ]
    for number, name in sorted(month.holidays.items()):
        when = DateValue(date(month.year, month.month, number), "long", ctx.today.year)
        body.append(
            Msg("Holiday on {date}: {name}", date=when, name=name)
            if name
            else Msg("Holiday on {date}", date=when)
        )
    rows = _shortcut_rows(ctx, month)
    rows.append(_month_nav(ctx, month.year, month.month))
    rows.append(
        [
            button(ctx, WeekdayValue(weekday, "short"), Action.NOOP)
            for weekday in cal.weekday_order(first_week_day(ctx.lang))
        ]
    )
    for week in cal.weeks(month.year, month.month, first_week_day(ctx.lang)):
        rows.append([_day_button(ctx, number) for number in week])
    rows.append(nav_row(ctx))
    if not cal.has_choosable(month):
        body.append(
            Msg("No times left in {month}.", month=MonthValue(month.year, month.month))
            if month.onward
            else Msg("No times are available at the moment. Please try again later.")
        )
    return body, rows


def _shortcut_rows(ctx: Ctx, month: Month) -> Rows:
    """Above the grid: the way on from an empty month, and the earliest free time when finding
    it would take a search (it is not today or tomorrow)."""
    rows: Rows = []
    if month.onward is not None and not cal.has_choosable(month):
        onward = MonthValue(*month.onward)
        rows.append([button(ctx, Msg("{month} ›", month=onward), Action.MONTH_ONWARD)])
    first = ctx.state.draft.first_free
    if first is not None and first.astimezone(ctx.zone).date() > ctx.today + timedelta(days=1):
        label = Msg(
            "⚡ Earliest: {date}, {time}",
            date=DateValue(first.astimezone(ctx.zone).date(), "MMMEd"),
            time=TimeValue(first, ctx.tz_name),
        )
        rows.append([button(ctx, label, Action.FIRST_FREE)])
    return rows


def _month_nav(ctx: Ctx, year: int, month: int) -> list[Button]:
    tz = ctx.zone
    shown = ctx.state.draft.month
    first, last = ctx.window.first_day(tz), ctx.window.last_day(tz)
    if shown is not None and shown.until is not None:
        last = min(last, shown.until)
    prev_month = cal.add_months(year, month, -1)
    next_month = cal.add_months(year, month, 1)
    blank = Verbatim(" ")
    return [
        button(ctx, Verbatim("‹"), Action.MONTH_PREV)
        if cal.in_range(first, last, *prev_month)
        else button(ctx, blank, Action.NOOP),
        button(ctx, MonthValue(year, month, short=True), Action.NOOP),
        button(ctx, Verbatim("›"), Action.MONTH_NEXT)
        if cal.in_range(first, last, *next_month)
        else button(ctx, blank, Action.NOOP),
    ]


def _day_button(ctx: Ctx, number: int) -> Button:
    if number == 0:
        return button(ctx, Verbatim(" "), Action.NOOP)
    month = ctx.state.draft.month
    assert month is not None
    code = cal.day_code(month, number)
    if cal.choosable(code):
        shown = button(ctx, Verbatim(str(number)), Action.DAY, number)
    else:
        shown = button(ctx, Verbatim(f"·{number}·"), Action.DAY_UNAVAILABLE, number)
    return replace(shown, day=DAY_STATES.get(code, code.name.lower()))


# Button.day of a calendar day by its code: "none" (no free time left) reads "full".
DAY_STATES = {DayCode.NONE: "full"}


def day_unavailable_reason(ctx: Ctx, number: int) -> Msg:
    month = ctx.state.draft.month
    assert month is not None
    return day_reason(cal.day_code(month, number), month.holidays.get(number, ""))


def day_reason(code: DayCode, holiday: str = "") -> Msg:
    """Why a day can't be picked, from its calendar code (`holiday`: its name, if any)."""
    if code == DayCode.HOLIDAY:
        return Msg("Holiday: {name}", name=holiday) if holiday else Msg("That day is a holiday.")
    reasons = {
        DayCode.PAST: Msg("That day has passed."),
        DayCode.CLOSED: Msg("The location is closed on that day."),
        DayCode.BEYOND: Msg("That day can't be booked yet."),  # not open for booking yet
        DayCode.SOON: Msg("The times left on that day are too soon to book."),
    }
    return reasons.get(code, Msg("No times left on that day."))


def page_count(items: int, per_page: int) -> int:
    """How many pages `items` fill (at least one: an empty list is one page)."""
    return max(1, -(-items // per_page))


def time_pages(ctx: Ctx) -> int:
    return page_count(len(ctx.state.draft.slots), TIMES_PER_PAGE)


def upcoming(ctx: Ctx, rows: list[BookingRow]) -> list[BookingRow]:
    """The appointments still ahead and active: those My appointments lists as buttons."""
    return [r for r in rows if _is_upcoming(ctx, r) and r.active]


def booking_pages(ctx: Ctx, rows: list[BookingRow]) -> int:
    return page_count(len(upcoming(ctx, rows)), BOOKINGS_PER_PAGE)


async def view_time(ctx: Ctx) -> View:
    state = ctx.state
    page = min(state.draft.page, time_pages(ctx) - 1)
    start = page * TIMES_PER_PAGE
    shown = list(enumerate(state.draft.slots))[start : start + TIMES_PER_PAGE]
    body = (
        [Msg("Available times on {date}:", date=DateValue(state.draft.day, "full", ctx.today.year))]
        if state.draft.day
        else []
    )
    body.append(Msg("Times are in {zone}.", zone=ZoneValue(ctx.tz_name)))
    rows: Rows = []
    per_row = TIMES_PER_ROW_WITH_ZONE if any(_repeated(s, ctx) for _, s in shown) else TIMES_PER_ROW
    for i in range(0, len(shown), per_row):
        rows.append(
            [
                button(ctx, TimeValue(slot, ctx.tz_name), Action.TIME, index)
                for index, slot in shown[i : i + per_row]
            ]
        )
    paging = []
    if page > 0:
        paging.append(button(ctx, Msg("‹ Earlier"), Action.PAGE, page - 1))
    if page + 1 < time_pages(ctx):
        paging.append(button(ctx, Msg("Later ›"), Action.PAGE, page + 1))
    if paging:
        rows.append(paging)
    rows.append(nav_row(ctx))
    return body, rows


# ---- booking: name, email, summary ------------------------------------------------------------


def _repeated(slot: datetime, ctx: Ctx) -> bool:
    """The slot's wall-clock time happens twice that day (its label then names the zone)."""
    local = slot.astimezone(ctx.zone)
    return local.replace(fold=1 - local.fold).utcoffset() != local.utcoffset()


def _held_line(ctx: Ctx) -> list[Msg]:
    """Until when the chosen time is kept for the customer (the hold's own expiry, as Zimun
    gave it), or that it no longer is."""
    hold = ctx.state.draft.hold
    if hold is None:
        return []
    if hold.expires_at <= ctx.now:
        return [
            Msg(
                "I'm no longer keeping this time for you: when you confirm, I'll try to get it "
                "again."
            )
        ]
    until = TimeValue(hold.expires_at, ctx.tz_name, zone=False)  # "bis 02:40 Uhr", never "MESZ Uhr"
    return [
        # TRANSLATORS: {count} is the hour (0-23) of {time}; pick each
        # form to agree with it (Spanish "hasta la 1:30", "hasta las
        # 2:30"; Italian "fino all'01:30"). {zone} names the branch's
        # clock ("Madrid time"), as the day's times do.
        Plural(
            "I'm keeping this time for you until {time} ({zone}).",
            "I'm keeping this time for you until {time} ({zone}).",
            count=hold.expires_at.astimezone(ctx.zone).hour,
            time=until,
            zone=ZoneValue(ctx.tz_name),
        )
    ]


async def view_name(ctx: Ctx) -> View:
    body = [*_held_line(ctx), Msg("What name should the appointment be under? Please type it.")]
    rows: Rows = []
    telegram_name, _ = clean_name(ctx.customer.display_name)
    if telegram_name:  # offered only when it would be accepted as it is
        shown = shorten(telegram_name, NAME_ON_BUTTON)
        rows.append([button(ctx, Msg("Use “{name}”", name=shown), Action.USE_NAME)])
    rows.append(nav_row(ctx))
    return body, rows


async def remembered_email(ctx: Ctx) -> str | None:
    """The email the customer asked us to remember, if they did."""
    prefs = await ctx.prefs()
    email = prefs.get("email")
    return email if prefs.get("email_consent") is True and isinstance(email, str) else None


async def view_email(ctx: Ctx) -> View:
    body = [
        *_held_line(ctx),
        Msg("Which email address should I send the confirmation to? Please type it."),
    ]
    rows: Rows = []
    remembered = await remembered_email(ctx)
    if remembered:
        shown = shorten_email(shown_email(remembered), EMAIL_ON_BUTTON)
        rows.append([button(ctx, Msg("Use {email}", email=shown), Action.USE_EMAIL)])
    rows.append(nav_row(ctx))
    return body, rows


async def booking_lines(ctx: Ctx, start: datetime) -> list[Msg]:
    service, location = await ctx.service(), await ctx.location()
    details = Details(
        service=_name(service),
        location=_name(location),
        address=location.address if location is not None else None,
        start=DateTimeValue(start, ctx.tz_name, "full", ctx.today.year),
        duration_minutes=service.duration_minutes if service is not None else None,
    )
    return detail_lines(details)


async def view_summary(ctx: Ctx) -> View:
    state = ctx.state
    body = [Msg("Please check the details:")]
    if state.draft.hold is not None:
        body += await booking_lines(ctx, state.draft.hold.start)
    body += [
        Msg("<b>Name:</b> {name}", name=state.draft.name or ""),
        Msg("<b>Email:</b> {email}", email=state.draft.email_shown or state.draft.email or ""),
        *_held_line(ctx),
    ]
    rows = [
        [button(ctx, Msg("✅ Confirm"), Action.CONFIRM)],
        [button(ctx, Msg("✏️ Change"), Action.CHANGE), button(ctx, Msg("Exit"), Action.CANCEL)],
        [button(ctx, Msg("« Back"), Action.BACK)],
    ]
    if "email_consent" not in await ctx.prefs():  # asked once: until the first booking's answer
        label = (
            Msg("☑ Remember my email") if state.draft.remember_email else Msg("☐ Remember my email")
        )
        rows.append([button(ctx, label, Action.REMEMBER_EMAIL)])
    return body, rows


async def view_change(ctx: Ctx) -> View:
    rows = [
        [button(ctx, Msg("Day and time"), Action.CHANGE_TIME)],
        [button(ctx, Msg("Name"), Action.CHANGE_NAME)],
        [button(ctx, Msg("Email"), Action.CHANGE_EMAIL)],
        nav_row(ctx),
    ]
    return [Msg("What would you like to change?")], rows


# ---- my bookings ------------------------------------------------------------------------------


def _is_upcoming(ctx: Ctx, row: BookingRow) -> bool:
    return row.start > ctx.now


def booking_label(row: BookingRow) -> Msg:
    """ "Sat 21 Nov, 14:30 · Dental cleaning": the weekday, no year (My appointments holds the
    coming months), the service shortened to keep the label on a phone's width."""
    return Msg(
        "{when} · {service}",
        when=DateTimeValue(row.start, row.timezone, "MMMEd"),
        service=shorten(row.service_name, SERVICE_IN_LIST),
    )


async def view_bookings(ctx: Ctx) -> View:
    rows_db = (
        ctx.out.bookings
        if ctx.out.bookings is not None
        else await ctx.storage.bookings_for_user(ctx.customer.user_id)
    )
    coming = upcoming(ctx, rows_db)
    cancelled = [r for r in rows_db if _is_upcoming(ctx, r) and not r.active][-PAST_SHOWN:]
    past = [r for r in rows_db if not _is_upcoming(ctx, r)][-PAST_SHOWN:]
    body = [Msg("<b>Your appointments</b>")]
    if coming and any(ctx.rules.changes_allowed):
        body.append(Msg("Tap an appointment to reschedule or cancel it."))
    elif coming:
        body.append(Msg("Tap an appointment to see it."))
    else:
        body.append(Msg("You have no upcoming appointments."))
    for row in cancelled:
        body.append(Msg("Cancelled: {booking}", booking=booking_label(row)))
    for row in reversed(past):
        body.append(Msg("Past: {booking}", booking=booking_label(row)))
    pages = booking_pages(ctx, rows_db)
    page = min(ctx.state.managing.list_page, pages - 1)
    if pages > 1:
        body.append(
            Plural(
                "{count} upcoming appointment · page {page} of {pages}",
                "{count} upcoming appointments · page {page} of {pages}",
                count=len(coming),
                page=page + 1,
                pages=pages,
            )
        )
    shown = coming[page * BOOKINGS_PER_PAGE : (page + 1) * BOOKINGS_PER_PAGE]
    rows: Rows = [
        [Button(booking_label(row), booking_data(Action.OPEN_BOOKING, row.id))] for row in shown
    ]
    paging = []
    if page > 0:
        paging.append(button(ctx, Msg("‹ Earlier"), Action.PAGE, page - 1))
    if page + 1 < pages:
        paging.append(button(ctx, Msg("Later ›"), Action.PAGE, page + 1))
    if paging:
        rows.append(paging)
    rows += await bookings_rows(ctx)  # the waiting list, when the customer is on one
    rows.append([button(ctx, Msg("📅 Book an appointment"), Action.BOOK)])
    rows.append(nav_row(ctx, cancel=False))
    return body, rows


async def view_booking(ctx: Ctx) -> View:
    row = await ctx.owned_booking(ctx.state.managing.booking_id)
    body = detail_lines(Details.of_row(row))
    rows: Rows = []
    if not row.active:
        body.append(Msg("This appointment is cancelled."))
    elif not _is_upcoming(ctx, row):
        body.append(Msg("This appointment is in the past."))
    else:
        rows += _change_rows(ctx)
        if booking_names_contact(ctx):
            body += call_us(ctx.business, ctx.lang)
    rows.append(nav_row(ctx, cancel=False))
    return body, rows


def booking_names_contact(ctx: Ctx) -> bool:
    """Whether an upcoming booking's screen says whom to call: when the operator offers no
    change in the bot at all (a refusal then does not say it a second time)."""
    return not any(ctx.rules.changes_allowed)


def _change_rows(ctx: Ctx) -> Rows:
    """The change buttons the operator allows (ALLOW_RESCHEDULE, ALLOW_CANCEL); a change inside
    CHANGE_CUTOFF is still offered and then explained, with whom to call."""
    rows: Rows = []
    if ctx.rules.allow_reschedule:
        rows.append([button(ctx, Msg("🔁 Reschedule"), Action.RESCHEDULE)])
    if ctx.rules.allow_cancel:
        rows.append([button(ctx, Msg("🗑 Cancel appointment"), Action.CANCEL_BOOKING)])
    return rows


async def view_move_confirm(ctx: Ctx) -> View:
    row = await ctx.owned_booking(ctx.state.managing.booking_id)
    new_start = ctx.state.managing.new_start or row.start
    body = [
        Msg(
            "Reschedule your {service} appointment from {old} to {new}?",
            service=row.service_name,
            old=DateTimeValue(row.start, row.timezone, "full", ctx.today.year),
            new=DateTimeValue(new_start, row.timezone, "full", ctx.today.year),
        )
    ]
    if ctx.rules.locks(new_start, ctx.now):
        body.append(locked_after(ctx.rules))
    rows = [[button(ctx, Msg("Yes, reschedule"), Action.YES)], nav_row(ctx)]
    return body, rows


async def view_cancel_confirm(ctx: Ctx) -> View:
    row = await ctx.owned_booking(ctx.state.managing.booking_id)
    body = [
        Msg(
            "Are you sure you want to cancel your {service} appointment on {when}?",
            service=row.service_name,
            when=DateTimeValue(row.start, row.timezone, "full", ctx.today.year),
        )
    ]
    rows = [
        [button(ctx, Msg("Yes, cancel it"), Action.YES)],
        [button(ctx, Msg("No, keep it"), Action.BACK)],
    ]
    return body, rows


# ---- privacy ----------------------------------------------------------------------------------


async def view_privacy(ctx: Ctx) -> View:
    body = [
        Msg("🔒 <b>What I store about you</b>"),
        Msg("• Your language, so I can write to you in it."),
        Plural(
            "• For each appointment: its reference, service, location and time, for My "
            "appointments and the reminders. I delete them {count} day after the appointment.",
            "• For each appointment: its reference, service, location and time, for My "
            "appointments and the reminders. I delete them {count} days after the appointment.",
            count=BOOKINGS_KEPT_DAYS,
        ),
        Msg(
            "• While you book: the step you're on, and the name and email you type. I delete "
            "them once the appointment is booked or you stop, or after a day without "
            "activity; the business receives them with your appointment."
        ),
        Msg("• Your email for next time, only if you ask me to remember it."),
        *_waitlist_privacy(ctx),
        Msg(
            "I keep your language and a remembered email until you delete them. /forget "
            "deletes everything at once; your appointments at the business aren't affected."
        ),
    ]
    rows = [
        [button(ctx, Msg("🗑 Delete my data"), Action.FORGET)],
        nav_row(ctx, cancel=False),
    ]
    return body, rows


def _waitlist_privacy(ctx: Ctx) -> list[Msg]:
    """What the waiting list keeps, only where the operator offers one (a business without it,
    WAITLIST_CALLS_PER_MINUTE=0, must not describe data it never collects)."""
    if not ctx.rules.waitlist:
        return []
    return [
        Msg(
            "• The days you asked me to watch for an available time (service, location, day). "
            "I delete them once the day has passed, or when you leave the waiting list."
        )
    ]


async def view_forget_confirm(ctx: Ctx) -> View:
    body = [
        Msg(
            "Delete everything I store about you (language, appointments, reminders, waiting "
            "list, a remembered email and this conversation)?"
        ),
        Msg(
            "This doesn't cancel your appointments at the business: to cancel one, use My "
            "appointments first."
        ),
    ]
    rows = [
        [button(ctx, Msg("Yes, delete everything"), Action.YES)],
        [button(ctx, Msg("No, keep it"), Action.BACK)],
    ]
    return body, rows


async def view_forgotten(ctx: Ctx) -> View:
    body = [
        Msg(
            "Done: I've deleted everything I stored about you. Send /start whenever you want "
            "to book again."
        )
    ]
    return body, []


def _name(entity: object) -> str:
    return str(getattr(entity, "name", "") or "")


VIEWS: dict[Step, Callable[[Ctx], Awaitable[View]]] = {
    Step.MENU: view_menu,
    Step.HELP: view_help,
    Step.LANGUAGE: view_language,
    Step.LOCATION: view_location,
    Step.SERVICE: view_service,
    Step.DAY: view_day,
    Step.TIME: view_time,
    Step.NAME: view_name,
    Step.EMAIL: view_email,
    Step.SUMMARY: view_summary,
    Step.CHANGE: view_change,
    Step.BOOKINGS: view_bookings,
    Step.BOOKING: view_booking,
    Step.MOVE_CONFIRM: view_move_confirm,
    Step.CANCEL_CONFIRM: view_cancel_confirm,
    Step.PRIVACY: view_privacy,
    Step.FORGET_CONFIRM: view_forget_confirm,
    Step.FORGOTTEN: view_forgotten,
    Step.WAITLIST_OFFER: view_offer,
    Step.WAITLIST: view_list,
    Step.WAITLIST_SWITCH: view_switch,
}


# The steps that wait for typed text, and what they ask for (Screen.asks).
ASKS: dict[Step, Literal["name", "email"]] = {Step.NAME: "name", Step.EMAIL: "email"}


async def render(
    ctx: Ctx, *, lead: list[Msg], edit: bool, attachment: Attachment | None = None
) -> Screen:
    """The current step's screen, with `lead` lines (a note, a confirmation) above it."""
    body, rows = await VIEWS[ctx.state.nav.step](ctx)
    return Screen(
        body=(*lead, *body),
        buttons=tuple(tuple(r) for r in rows if r),
        edit=edit,
        attachment=attachment,
        asks=ASKS.get(ctx.state.nav.step),
        known=await known_answer(ctx),
    )


async def known_answer(ctx: Ctx) -> str | None:
    """What the bot knows for the step's question: the Telegram name (when it would be
    accepted as it is) or the email the customer asked to be remembered."""
    if ctx.state.nav.step == Step.NAME:
        name, _ = clean_name(ctx.customer.display_name)
        return name or None
    if ctx.state.nav.step == Step.EMAIL:
        return await remembered_email(ctx)
    return None
