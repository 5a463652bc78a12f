"""What the business's staff chat (ADMIN_CHAT_ID) sees: booking notices and /stats.

Telegram-free: both are Screens built from a BookingChange or from the anonymous funnel table,
rendered by the adapter like any other screen, in the staff chat's language.

Notices carry the customer's name: the staff chat is the business's own, and the business
receives the name with the booking anyway (it is its customer). The name is never logged.
Changes made at the business (front desk, web page, Zimun's dashboard) are notified too, marked
as such, when the bot notices them: whoever made them, the staff see what the customer is told.

A burst of bookings by one Telegram account (issue 18: six in 80 s) is told once: its first
notice at once, the ones that follow within BURST_WINDOW folded into one line when the window
ends (`Bursts`, `burst_notice`), so the staff chat is not flooded and still sees each reference.

Statistics come from the funnel table only, which holds no user or chat id, so they survive a
customer's /forget and say nothing about who booked; SQLite aggregates them (bot.ops.stats).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from bot.core.changes import BookingChange, ChangeKind
from bot.core.details import Details, detail_lines
from bot.core.screens import DateTimeValue, DateValue, DurationValue, Msg, Plural, Screen
from bot.core.state import Step
from bot.i18n import N_

STATS_DAYS = 30
PER_DAY_DAYS = 7
STALE_AFTER = timedelta(hours=1)  # an unconfirmed attempt idle this long was given up

# Where an attempt stopped, in the staff's words.
STEP_NAMES: dict[str, str] = {
    Step.LOCATION.value: N_("choosing a location"),
    Step.SERVICE.value: N_("choosing a service"),
    Step.DAY.value: N_("choosing a day"),
    Step.TIME.value: N_("choosing a time"),
    Step.NAME.value: N_("giving their name"),
    Step.EMAIL.value: N_("giving their email"),
    Step.SUMMARY.value: N_("checking the details"),
    Step.CHANGE.value: N_("changing a detail"),
}
OTHER_STEP = N_("elsewhere in the conversation")

# ---- notices ----------------------------------------------------------------------------------


def notice(change: BookingChange) -> Screen:
    """A short notice of a booking made, moved or cancelled, through the bot or elsewhere."""
    when = DateTimeValue(change.start, change.timezone, "medium")
    where = {"service": change.service_name, "location": change.location_name}
    if change.kind is ChangeKind.BOOKED:
        head = Msg("🆕 <b>New appointment:</b> {service} at {location}, {when}", **where, when=when)
    elif change.kind is ChangeKind.MOVED:
        head = Msg(
            "🔁 <b>Rescheduled:</b> {service} at {location}, from {old} to {new}",
            **where,
            old=DateTimeValue(change.previous_start or change.start, change.timezone, "medium"),
            new=when,
        )
    else:
        head = Msg("🗑 <b>Cancelled:</b> {service} at {location}, {when}", **where, when=when)
    body = [head]
    if change.contact_name:
        body.append(Msg("<b>Name:</b> {name}", name=change.contact_name))
    body += detail_lines(Details(reference=change.appointment_id))
    if not change.by_customer:
        body.append(
            Msg(
                "Changed outside the bot (front desk, website or Zimun); the bot tells the "
                "customer."
            )
        )
    return Screen(body=tuple(body), edit=False)


# ---- bursts: many new appointments of one customer ---------------------------------------------

BURST_WINDOW = timedelta(minutes=10)


class Bursts:
    """Which new-appointment notices go out on their own and which are folded into a burst.

    A customer's first new appointment opens a window of BURST_WINDOW and is told at once;
    their new appointments within it are held, and told as one line (`burst_notice`) when it
    ends (`close`). Moves, cancellations and changes made at the business are always told on
    their own. Pure: the caller passes the time and arranges for `close` to be called.
    """

    def __init__(self, window: timedelta = BURST_WINDOW) -> None:
        self.window = window
        self._opened: dict[int, datetime] = {}  # customer -> when their window opened
        self._held: dict[int, list[BookingChange]] = {}

    def admit(self, change: BookingChange, now: datetime) -> bool:
        """True: tell this change now, on its own; False: it waits for its burst's line."""
        user = change.user_id
        if change.kind is not ChangeKind.BOOKED or user is None:
            return True
        opened = self._opened.get(user)
        if opened is None or now >= opened + self.window:
            self._opened[user] = now
            return True
        self._held.setdefault(user, []).append(change)
        return False

    def closes_at(self, user_id: int) -> datetime:
        """When the window holding this customer's notices ends."""
        return self._opened[user_id] + self.window

    def close(self, user_id: int) -> list[BookingChange]:
        """End the customer's window: the changes it held, oldest first."""
        self._opened.pop(user_id, None)
        return self._held.pop(user_id, [])

    def open_bursts(self) -> list[int]:
        """The customers with held notices (all told at shutdown)."""
        return list(self._held)


def burst_notice(changes: list[BookingChange], window: timedelta = BURST_WINDOW) -> Screen:
    """One line for the new appointments one account made right after the one just told."""
    references = ", ".join(change.appointment_id for change in changes)
    return Screen(
        body=(
            Plural(
                "🆕 <b>{count} more new appointment</b> from the same Telegram account within "
                "{window}: {references}",
                "🆕 <b>{count} more new appointments</b> from the same Telegram account within "
                "{window}: {references}",
                count=len(changes),
                window=DurationValue(int(window.total_seconds()) // 60),
                references=references,
            ),
        ),
        edit=False,
    )


# ---- statistics -------------------------------------------------------------------------------


@dataclass
class Stats:
    days: int
    per_day: list[tuple[date, int]]
    per_location: list[tuple[str, int]]
    per_service: list[tuple[str, int]]
    started: int = 0
    confirmed: int = 0
    open: int = 0  # attempts still going on
    moved: int = 0
    cancelled: int = 0
    stopped_at: list[tuple[str, int]] = field(default_factory=list)  # (step, attempts)
    waitlist_joined: int = 0  # waiting-list entries made, customers told of a time, bookings
    waitlist_told: int = 0
    waitlist_booked: int = 0

    @property
    def conversion(self) -> int:
        """Percentage of the attempts started in the period that were confirmed."""
        return round(100 * self.confirmed / self.started) if self.started else 0


def stats_screen(stats: Stats) -> Screen:
    """The /stats message (the figures come from bot.ops.stats)."""
    body: list[Msg] = [
        Plural(
            "📊 <b>Booking statistics, last {count} day</b>",
            "📊 <b>Booking statistics, last {count} days</b>",
            count=stats.days,
        ),
        Msg(
            "Booked: {booked} · rescheduled: {moved} · cancelled: {cancelled}",
            booked=sum(n for _, n in stats.per_location),
            moved=stats.moved,
            cancelled=stats.cancelled,
        ),
        Msg(
            "Started: {started} · confirmed: {confirmed} ({percent}%) · in progress: {open}",
            started=stats.started,
            confirmed=stats.confirmed,
            percent=stats.conversion,
            open=stats.open,
        ),
        Msg(
            "Waiting list: joined {joined} · told of a free time {told} · booked {booked}",
            joined=stats.waitlist_joined,
            told=stats.waitlist_told,
            booked=stats.waitlist_booked,
        ),
        Msg("<b>Per day</b>"),
        *(Msg("{label}: {count}", label=DateValue(d, "medium"), count=n) for d, n in stats.per_day),
        Msg("<b>Per location</b>"),
        *_counts(stats.per_location),
        Msg("<b>Per service</b>"),
        *_counts(stats.per_service),
        Msg("<b>Where customers stopped</b>"),
        *_counts([(step_name(step), n) for step, n in stats.stopped_at]),
    ]
    return Screen(body=tuple(body), edit=False)


def step_name(step: str) -> Msg:
    name = STEP_NAMES.get(step, OTHER_STEP)
    return Msg(name)


def _counts(pairs: list[tuple[str, int]] | list[tuple[Msg, int]]) -> list[Msg]:
    if not pairs:
        return [Msg("None yet.")]
    return [Msg("{label}: {count}", label=label, count=count) for label, count in pairs]
