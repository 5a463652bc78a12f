"""The waiting list's screens, and the message telling a customer that a time freed up.

Screens are drawn from the chat state and the customer's entries (bot/chat/waitlist.py):
the full day's offer, the list under My bookings, and the question asked when a freed time's
notice is tapped while something else is in progress (bot/chat/waitlist_tap.py).

The notice is a new message in the customer's language, outside any conversation, with one
button naming the entry (an entry-scoped payload, checked against the tapping customer).
"""

from __future__ import annotations

from bot.chat.buttons import button, nav_row
from bot.chat.context import Ctx
from bot.chat.waitlist import entry_on_offer, owned_entry, waiting_entries
from bot.core.payload import Action, waitlist_data
from bot.core.records import WaitlistRow
from bot.core.screens import Button, DateValue, Msg
from bot.core.widths import SERVICE_IN_LIST, shorten

Rows = list[list[Button]]
View = tuple[list[Msg], Rows]


def leave_label(entry: WaitlistRow) -> Msg:
    """ "🔕 Sat 21 Nov · Consultation": short enough for a phone (the list above names the
    location)."""
    return Msg(
        "🔕 {date} · {service}",
        date=DateValue(entry.day, "MMMEd"),
        service=shorten(entry.service_name, SERVICE_IN_LIST),
    )


def entry_label(entry: WaitlistRow) -> Msg:
    return Msg(
        "{date} · {service} at {location}",
        date=DateValue(entry.day, "medium"),
        service=entry.service_name,
        location=entry.location_name,
    )


async def view_offer(ctx: Ctx) -> View:
    """A full day: join its waiting list, or leave it when already on it."""
    day = ctx.state.waitlist.day
    service, location = await ctx.service(), await ctx.location()
    body = [
        Msg(
            "No available times are left on {date} for {service} at {location}.",
            date=DateValue(day, "full", ctx.today.year) if day else "",
            service=service.name if service else "",
            location=location.name if location else "",
        )
    ]
    rows: Rows = []
    if await entry_on_offer(ctx) is not None:
        body.append(
            Msg("You're on the waiting list for that day: I'll tell you when a time frees up.")
        )
        rows.append([button(ctx, Msg("🔕 Leave the waiting list"), Action.WAITLIST_LEAVE)])
    else:
        body.append(
            Msg(
                "Shall I tell you if a time frees up that day? You'll get one message, and "
                "whoever asked first is told first."
            )
        )
        rows.append([button(ctx, Msg("🔔 Tell me if a time frees up"), Action.WAITLIST_JOIN)])
    rows.append(nav_row(ctx, cancel=True))
    return body, rows


async def view_list(ctx: Ctx) -> View:
    """The customer's waiting list (from My bookings): each entry's button leaves it."""
    entries = await waiting_entries(ctx)
    body = [Msg("🔔 <b>Your waiting list</b>")]
    if entries:
        body.append(Msg("I'll tell you when a time frees up on these days. Tap one to leave it."))
        body += [entry_label(entry) for entry in entries]  # in full; the buttons are short
    else:
        body.append(Msg("You're not waiting for any day."))
    rows: Rows = [
        [Button(leave_label(entry), waitlist_data(Action.WAITLIST_LEAVE, entry.id))]
        for entry in entries
    ]
    rows.append(nav_row(ctx, cancel=False))
    return body, rows


async def view_switch(ctx: Ctx) -> View:
    """A freed time's notice tapped while something else is in progress: switch to it?"""
    entry = await owned_entry(ctx, ctx.state.waitlist.entry)
    body = [Msg("You haven't finished booking.")]
    if entry is not None:
        body.append(
            Msg(
                "Show the available times on {date} for {service} at {location} instead? I'll "
                "drop your unfinished booking and release any time I'm keeping for it.",
                date=DateValue(entry.day, "full", ctx.today.year),
                service=entry.service_name,
                location=entry.location_name,
            )
        )
    rows = [
        [button(ctx, Msg("Yes, show the times"), Action.YES)],
        [button(ctx, Msg("No, carry on"), Action.BACK)],
    ]
    return body, rows


async def bookings_rows(ctx: Ctx) -> Rows:
    """My bookings' way to the waiting list, when the customer is on one."""
    count = len(await waiting_entries(ctx))
    if not count:
        return []
    label = Msg("🔔 My waiting list ({count})", count=count)
    return [[button(ctx, label, Action.WAITLIST)]]
