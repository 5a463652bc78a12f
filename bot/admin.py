"""What the business's staff chat (ADMIN_CHAT_ID) sees: booking notices and /stats.

Telegram-free: both are Screens built from a BookingChange or from the anonymous funnel table,
rendered by the adapter like any other screen, in the staff chat's language.

Notices carry the customer's name: the staff chat is the business's own, and the business
receives the name with the booking anyway (it is its customer). The name is never logged.
Changes made at the business (front desk, web page, Zimun's dashboard) are notified too, marked
as such, when the bot notices them: whoever made them, the staff see what the customer is told.

Statistics come from the funnel table only, which holds no user or chat id, so they survive a
customer's /forget and say nothing about who booked.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from bot.booking.changes import BookingChange, ChangeKind
from bot.booking.details import Details, detail_lines
from bot.booking.screens import DateTimeValue, DateValue, Msg, Plural, Screen
from bot.booking.state import Step
from bot.i18n import N_
from bot.storage import FunnelEvent, Storage

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

    @property
    def conversion(self) -> int:
        """Percentage of the attempts started in the period that were confirmed."""
        return round(100 * self.confirmed / self.started) if self.started else 0


def compute_stats(events: list[FunnelEvent], now: datetime, days: int = STATS_DAYS) -> Stats:
    """Statistics of the last `days` days from funnel events (oldest first). Days are UTC."""
    since = now - timedelta(days=days)
    events = [e for e in events if e.at >= since]
    booked = [e for e in events if e.event == "confirmed"]
    today = now.date()
    per_day_count = Counter(e.at.date() for e in booked)
    per_day = [
        (today - timedelta(days=n), per_day_count[today - timedelta(days=n)])
        for n in range(PER_DAY_DAYS - 1, -1, -1)
    ]
    attempts: dict[str, list[FunnelEvent]] = {}
    for event in events:
        if event.attempt:
            attempts.setdefault(event.attempt, []).append(event)
    started = [a for a in attempts.values() if any(e.event == "started" for e in a)]
    confirmed = sum(1 for a in started if any(e.event == "confirmed" for e in a))
    stopped: Counter[str] = Counter()
    still_open = 0
    for attempt in started:
        if any(e.event == "confirmed" for e in attempt):
            continue
        step = _stopped_at(attempt, now)
        if step is None:
            still_open += 1
        else:
            stopped[step] += 1
    return Stats(
        days=days,
        per_day=per_day,
        per_location=Counter(e.location_name or "?" for e in booked).most_common(),
        per_service=Counter(e.service_name or "?" for e in booked).most_common(),
        started=len(started),
        confirmed=confirmed,
        open=still_open,
        moved=sum(1 for e in events if e.event == "moved"),
        cancelled=sum(1 for e in events if e.event == "cancelled"),
        stopped_at=stopped.most_common(),
    )


def _stopped_at(attempt: list[FunnelEvent], now: datetime) -> str | None:
    """The step an unconfirmed attempt ended at; None while it may still go on."""
    abandoned = next((e for e in attempt if e.event == "abandoned"), None)
    if abandoned is not None:
        return abandoned.step or ""
    if now - attempt[-1].at < STALE_AFTER:
        return None
    steps = [e.step for e in attempt if e.event == "step" and e.step]
    return steps[-1] if steps else ""


def stats_screen(storage: Storage, now: datetime, days: int = STATS_DAYS) -> Screen:
    stats = compute_stats(storage.funnel_since(now - timedelta(days=days)), now, days)
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
