"""The operator's words on screens: their own texts, the contact line, change refusals.

The operator's own texts go into a screen as the value of a one-placeholder message, so the
localizer escapes them like any customer text: an operator's `<b>` or `{x}` is shown as typed.
A refusal to change a booking says why and, where the operator's rules refuse it, whom to call;
so does a refusal to book one more (the fair share per customer, `cap_refusal`).
"""

from __future__ import annotations

from datetime import timedelta

from bot.core.business import Business, TextKind
from bot.core.rules import BookingRules, Cap, ChangeAction, Verdict
from bot.core.screens import DurationValue, Msg, Plural

CONTACT_US = Msg("Please contact the business directly.")


def operator_text(text: str) -> Msg:
    # TRANSLATORS: the business's own text (welcome, help), shown exactly as its owner wrote it.
    return Msg("{text}", text=text)


def own_texts(business: Business, lang: str, kinds: tuple[TextKind, ...]) -> list[Msg]:
    """The operator's texts of these kinds in `lang` (or the fallback language), in order."""
    return [operator_text(text) for kind in kinds if (text := business.text(kind, lang))]


def title(business: Business) -> list[Msg]:
    # TRANSLATORS: the business's name (BUSINESS_NAME), as a title above its texts.
    return [Msg("<b>{business}</b>", business=business.name)] if business.name else []


def contact_lines(business: Business, lang: str) -> list[Msg]:
    """The contact line (help, and errors where a person should call); none if not set."""
    contact = business.text("contact", lang)
    return [Msg("<b>Contact:</b> {contact}", contact=contact)] if contact else []


def call_us(business: Business, lang: str) -> list[Msg]:
    """Whom to call when the bot may not do something: the contact line, or a plain hint."""
    return contact_lines(business, lang) or [CONTACT_US]


def refusal(kind: ChangeAction, verdict: Verdict, rules: BookingRules) -> Msg:
    """Why a booking cannot be rescheduled or cancelled here (any verdict but ALLOWED)."""
    if verdict is Verdict.DISABLED:
        return (
            Msg("Appointments can't be rescheduled in this chat.")
            if kind == "reschedule"
            else Msg("Appointments can't be cancelled in this chat.")
        )
    if verdict is Verdict.TOO_LATE and rules.change_cutoff is not None:
        return Msg(
            "This appointment starts in less than {cutoff}, so it can no longer be changed here.",
            cutoff=_cutoff(rules),
        )
    return Msg("This appointment can no longer be changed.")


def cap_refusal(cap: Cap, rules: BookingRules) -> Msg:
    """Why this customer may not book one more appointment now, and what they can do."""
    if cap is Cap.UPCOMING:
        return Plural(
            "Sorry, you already have {count} upcoming appointment, the most I can book for one "
            "person. To book another, cancel it under My appointments first.",
            "Sorry, you already have {count} upcoming appointments, the most I can book for one "
            "person. To book another, cancel one of them under My appointments first.",
            count=rules.max_upcoming or 0,
        )
    return Plural(
        "Sorry, you've booked {count} appointment in the last 24 hours, the most I can book "
        "for one person in a day. Please try again tomorrow.",
        "Sorry, you've booked {count} appointments in the last 24 hours, the most I can book "
        "for one person in a day. Please try again tomorrow.",
        count=rules.max_per_day or 0,
    )


def _cutoff(rules: BookingRules) -> DurationValue:
    minutes = int((rules.change_cutoff or timedelta(0)).total_seconds()) // 60
    return DurationValue(minutes)


def locked_after(rules: BookingRules) -> Msg:
    """Said before a move into CHANGE_CUTOFF is confirmed: afterwards it cannot be undone here."""
    return Msg(
        "The new time starts in less than {cutoff}: after this change, it can no longer be "
        "changed here.",
        cutoff=_cutoff(rules),
    )


def cutoff_note(rules: BookingRules) -> list[Msg]:
    """Welcome and help: until when changes are possible, when CHANGE_CUTOFF limits them."""
    if rules.change_cutoff is None or not any(rules.changes_allowed):
        return []
    return [
        Msg(
            "Changes are possible until {cutoff} before the appointment.",
            cutoff=_cutoff(rules),
        )
    ]
