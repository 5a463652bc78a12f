"""The booking as an iCalendar file (RFC 5545), so customers add it to their calendar in a tap.

Times are written in UTC (`...Z`), which every calendar converts to the viewer's zone; text is
escaped (backslash, semicolon, comma, newline) and lines folded at 75 octets without splitting
a UTF-8 character, as the RFC requires.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

PRODID = "-//Zimun Booking Bot//EN"


@dataclass(frozen=True)
class CalendarEvent:
    uid: str
    start: datetime
    end: datetime
    summary: str
    location: str = ""
    description: str = ""
    sequence: int = 0


def booking_event(
    reference: str,
    start: datetime,
    end: datetime,
    *,
    service_name: str,
    location_name: str,
    address: str,
    sequence: int = 0,
) -> CalendarEvent:
    """A booking as a calendar event; the same reference keeps the same UID, so a file with a
    higher `sequence` updates the event already in the customer's calendar."""
    summary = f"{service_name} @ {location_name}" if location_name else service_name
    return CalendarEvent(
        uid=f"{reference}@zimun-booking-bot",
        start=start,
        end=end,
        summary=summary,
        location=address or location_name,
        description=f"Ref. {reference}",
        sequence=sequence,
    )


def escape_text(value: str) -> str:
    """TEXT value escaping (RFC 5545 §3.3.11)."""
    value = value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    return value.replace("\n", "\\n")


def fold(line: str) -> str:
    """Fold a content line to at most 75 octets per physical line (RFC 5545 §3.1)."""
    encoded = line.encode("utf-8")
    if len(encoded) <= 75:
        return line
    parts: list[str] = []
    current = ""
    limit = 75
    for ch in line:
        if len((current + ch).encode("utf-8")) > limit:
            parts.append(current)
            current = ch
            limit = 74  # continuation lines start with a space
        else:
            current += ch
    parts.append(current)
    return "\r\n ".join(parts)


def _utc(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def build_ics(event: CalendarEvent, *, stamp: datetime) -> bytes:
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:{PRODID}",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        "BEGIN:VEVENT",
        f"UID:{escape_text(event.uid)}",
        f"DTSTAMP:{_utc(stamp)}",
        f"DTSTART:{_utc(event.start)}",
        f"DTEND:{_utc(event.end)}",
        f"SEQUENCE:{event.sequence}",
        f"SUMMARY:{escape_text(event.summary)}",
    ]
    if event.location:
        lines.append(f"LOCATION:{escape_text(event.location)}")
    if event.description:
        lines.append(f"DESCRIPTION:{escape_text(event.description)}")
    lines += ["STATUS:CONFIRMED", "END:VEVENT", "END:VCALENDAR"]
    return ("\r\n".join(fold(line) for line in lines) + "\r\n").encode("utf-8")
