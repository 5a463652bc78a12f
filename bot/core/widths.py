"""How much text fits on a button on a phone, by how many buttons share the row.

Telegram draws an inline keyboard as wide as the message bubble and splits each row evenly; a
label that does not fit is cut with "…" wherever its end happens to be (the time of a date, the
half of a service name that told two appointments apart). So labels are written to fit, and
where a label holds a name we do not control (a customer's name, a remembered email, a long
service name in My appointments) the name is shortened here, at a word where possible.

The model: a 360-point-wide phone, the narrowest in common use, gives a bot's message bubble
about 300 points; Telegram's button font (15-16 pt) averages about 8.5 points a character. A
full-width row thus shows about 34 characters; every further button in a row costs about two
characters of padding and gap, so a button in a row of n shows (34 + 2) / n - 2. Widths are
counted in average characters: a space and narrow punctuation or letters (. , : · ' i l) count
half, an emoji or a CJK character two, a variation selector or joiner nothing.
"""

from __future__ import annotations

import unicodedata

FULL_ROW = 34.0  # average characters across a full-width button
PER_BUTTON = 2.0  # padding and gap each button of a row costs
ELLIPSIS = "…"
SERVICE_IN_LIST = 15.0  # a service's name in a list entry's button ("Sat 21 Nov, 14:30 · …")

NARROW = frozenset(" .,:;·'’‘|!ilIjf()[]‹›«»")


def char_width(ch: str) -> float:
    if unicodedata.category(ch) in {"Mn", "Me", "Cf"}:  # combining marks, VS16, ZWJ
        return 0.0
    if ch in NARROW:
        return 0.5
    if unicodedata.east_asian_width(ch) in {"W", "F"} or unicodedata.category(ch) == "So":
        return 2.0
    return 1.0


def label_width(text: str) -> float:
    """The width of `text` on a button, in average characters."""
    return sum(char_width(ch) for ch in text)


def row_limit(buttons: int) -> float:
    """The widest label a button shows uncut in a row of `buttons` buttons."""
    return (FULL_ROW + PER_BUTTON) / max(buttons, 1) - PER_BUTTON


def shorten(text: str, limit: float) -> str:
    """`text`, or as much of it as fits in `limit` with "…" after it, cut after a whole word
    when that keeps at least half of the room ("Physiotherapy…", not "Physiotherapy se…")."""
    if label_width(text) <= limit:
        return text
    room = limit - label_width(ELLIPSIS)
    kept, used = [], 0.0
    for ch in text:
        used += char_width(ch)
        if used > room:
            break
        kept.append(ch)
    cut = "".join(kept)
    if text[len(cut) : len(cut) + 1] != " " and " " in cut:  # the cut splits a word
        head = cut[: cut.rfind(" ")]
        if label_width(head) >= room / 2:
            cut = head
    return cut.rstrip(" ,.;:–-") + ELLIPSIS


def shorten_email(address: str, limit: float) -> str:
    """An email address shortened in its local part, so the domain stays readable
    ("ana.maria.lo…@example.com"); the whole address cut when its domain alone is too long."""
    local, at, domain = address.rpartition("@")
    if not at or label_width(address) <= limit:
        return shorten(address, limit)
    room = limit - label_width(at + domain)
    if room < 4:
        return shorten(address, limit)
    return shorten(local, room) + at + domain


# Every button label the bot writes (msgid) -> the most buttons that share its row: what an
# operator's rewording (MESSAGES_DIR) must fit, checked before start (bot/i18n/overrides.py).
# tests/booking/test_button_widths.py proves this lists every label the code puts on a button.
BUTTON_ROWS: dict[str, int] = {
    **dict.fromkeys(
        (
            "« Back",
            "Exit",
            "🔄 Try again",
            "✏️ Change",
            "🌐 Language",
            "❓ Help",
            "‹ Earlier",
            "Later ›",
        ),
        2,
    ),
    **dict.fromkeys(
        (
            "🔕 Leave the waiting list",
            "🔔 Tell me if a time frees up",
            "🔔 My waiting list ({count})",
            "🔕 {date} · {service}",
            "Yes, show the times",
            "No, carry on",
            "▶️ Continue booking",
            "📅 Book an appointment",
            "🗂 My appointments",
            "{service} ({duration})",
            "{month} ›",
            "⚡ Earliest: {date}, {time}",
            "Use “{name}”",
            "Use {email}",
            "✅ Confirm",
            "☑ Remember my email",
            "☐ Remember my email",
            "Day and time",
            "Name",
            "Email",
            "{when} · {service}",
            "🔁 Reschedule",
            "🗑 Cancel appointment",
            "Yes, reschedule",
            "Yes, cancel it",
            "No, keep it",
            "🗑 Delete my data",
            "Yes, delete everything",
            "📅 Book again",
            "👍 Keep the new time",
            "🔁 Pick another time",
            "📅 See the available times",
            "👍 I'll be there",
            "💬 Open the private chat",
        ),
        1,
    ),
}
