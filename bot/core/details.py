"""A booking's detail lines (service, branch, address, time, duration, reference), built once.

The summary before confirming, the confirmation, a booking's screen, a reminder, a notice of a
change and the staff chat all show some of these lines: each caller says which facts it has or
wants, and the wording and order live here alone.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.core.records import BookingRow
from bot.core.screens import DateTimeValue, DurationValue, Msg


@dataclass(frozen=True)
class Details:
    """The facts to show; a field left None (or empty) has no line."""

    service: str | None = None
    location: str | None = None
    address: str | None = None
    start: DateTimeValue | None = None
    duration_minutes: int | None = None
    reference: str | None = None

    @classmethod
    def of_row(cls, row: BookingRow) -> Details:
        """What a stored booking can say about itself."""
        return cls(
            service=row.service_name,
            location=row.location_name,
            address=row.location_address,
            start=DateTimeValue(row.start, row.timezone, "full"),
            reference=row.appointment_id,
        )


def detail_lines(details: Details) -> list[Msg]:
    lines = []
    if details.service is not None:
        lines.append(Msg("<b>Service:</b> {service}", service=details.service))
    if details.location is not None:
        lines.append(Msg("<b>Location:</b> {location}", location=details.location))
    if details.address:
        lines.append(Msg("<b>Address:</b> {address}", address=details.address))
    if details.start is not None:
        lines.append(Msg("<b>When:</b> {when}", when=details.start))
    if details.duration_minutes:
        lines.append(
            Msg("<b>Duration:</b> {duration}", duration=DurationValue(details.duration_minutes))
        )
    if details.reference:
        lines.append(Msg("<b>Reference:</b> {reference}", reference=details.reference))
    return lines
