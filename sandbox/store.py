"""The booking rules, in memory, without HTTP: holds, confirmations, reschedules, cancellations.

One lock guards every read-check-write, so two simultaneous holds on the last free place of a
slot give one hold and one slot_unavailable, whatever thread or task calls. A place is taken by
an unexpired hold or a confirmed appointment of the same service at the same location whose
time overlaps; expiry is judged by the injected clock, so tests expire holds by advancing it.

Times are kept as UTC instants (a local time on a daylight-saving night is ambiguous, and
Python compares aware datetimes of one zone by wall time) and shown in the branch's offset.
The business's own changes (front desk cancels or moves an appointment, removes a service,
switches a branch off) come in through `business_*` and the catalogue, not through the API.
"""

from __future__ import annotations

import secrets
import threading
from bisect import bisect_left
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sandbox.catalogue import Catalogue
from sandbox.clock import Clock
from sandbox.config import BEYOND_ABSENT, BEYOND_EMPTY
from sandbox.errors import ApiError, bad_request, not_found
from sandbox.schedule import end_of, plan_day, utc, why_not_a_slot
from sandbox.seed import Location, Seed, Service

MAX_DAYS_AHEAD = 92


class Spans:
    """The (start, end) spans taking places, sorted, so that counting the ones overlapping a
    slot looks only at those that can: an availability answer asks this for every slot of up to
    92 days, and a busy sandbox holds hundreds of spans (benchmarks)."""

    def __init__(self, spans: Iterable[tuple[datetime, datetime]]) -> None:
        self._spans = sorted((utc(s), utc(e)) for s, e in spans)
        self._starts = [s for s, _ in self._spans]
        self._longest = max((e - s for s, e in self._spans), default=timedelta(0))

    def overlapping(self, start: datetime, end: datetime) -> int:
        """How many spans overlap [start, end)."""
        start, end = utc(start), utc(end)  # subtracting in a zone would subtract wall time
        lo = bisect_left(self._starts, start - self._longest)
        hi = bisect_left(self._starts, end)
        return sum(1 for s, e in self._spans[lo:hi] if s < end and start < e)


NOT_OPEN = "that day is not open for booking yet"


def _not_open(service: Service, location: Location, day: date) -> ApiError:
    error = _not_bookable(NOT_OPEN, service, location)
    error.details["date"] = day.isoformat()
    return error


def _not_bookable(message: str, service: Service, location: Location | None = None) -> ApiError:
    details = {"service_id": service.id}
    if location is not None:
        details["location_id"] = location.id
    return ApiError(400, "not_bookable", message, details)


def _iso(moment: datetime, location: Location | None = None) -> str:
    return moment.astimezone(location.tz).isoformat() if location else moment.isoformat()


@dataclass
class HoldRecord:
    hold_id: str
    service_id: str
    location_id: str
    start: datetime
    end: datetime
    expires_at: datetime
    created_at: datetime
    client_id: str
    status: str = "held"  # held | released | confirmed (expired is derived from the clock)
    appointment_id: str | None = None

    def state(self, now: datetime) -> str:
        if self.status == "held" and now >= self.expires_at:
            return "expired"
        return self.status

    def blocks(self, now: datetime) -> bool:
        return self.state(now) == "held"


@dataclass
class AppointmentRecord:
    id: str
    service_id: str
    location_id: str
    start: datetime
    end: datetime
    contact_name: str
    contact_email: str
    created_at: datetime
    updated_at: datetime
    hold_id: str | None = None
    status: str = "confirmed"  # confirmed | cancelled
    history: list[tuple[str, datetime]] = field(default_factory=list)

    @property
    def appointment_id(self) -> str:
        return self.id

    @property
    def booking_id(self) -> str:
        return self.id

    @property
    def active(self) -> bool:
        return self.status == "confirmed"


class Store:
    def __init__(
        self,
        seed: Seed,
        clock: Clock,
        *,
        hold_ttl: float = 600,
        open_days: int | None = None,
        beyond: str = BEYOND_EMPTY,
    ) -> None:
        self.catalogue = Catalogue(seed)
        self.clock = clock
        self.hold_ttl = hold_ttl
        self.open_days = open_days  # how far ahead the business takes bookings (None: no limit)
        self.beyond = beyond  # how availability answers the days past it
        self.holds: dict[str, HoldRecord] = {}
        self.appointments: dict[str, AppointmentRecord] = {}
        self.lock = threading.RLock()

    # -- inspection (tests) ----------------------------------------------------------------

    def active_holds(self) -> list[HoldRecord]:
        now = self.clock.now()
        with self.lock:
            return [h for h in self.holds.values() if h.blocks(now)]

    def appointment_list(self, status: str | None = None) -> list[AppointmentRecord]:
        with self.lock:
            return [a for a in self.appointments.values() if status in (None, a.status)]

    # -- catalogue -------------------------------------------------------------------------

    @property
    def seed(self) -> Seed:
        """The catalogue as it is now (see Catalogue): removals and switched-off branches."""
        return self.catalogue.seed

    def location(self, location_id: str) -> Location:
        return self.catalogue.location(location_id)

    def service(self, service_id: str) -> Service:
        return self.catalogue.service(service_id)

    def resolve_location(self, service: Service, location_id: str | None) -> Location:
        """The location of a request: the one given, or the service's only active one (else
        400: location_required when several, not_bookable when none)."""
        if location_id:
            location = self.location(location_id)
            if not service.bookable_at(location.id):
                raise _not_bookable(
                    f"service {service.id!r} is not offered at location {location.id!r}",
                    service,
                    location,
                )
            if not location.active:
                raise _not_bookable(
                    f"location {location.id!r} is not taking bookings at the moment",
                    service,
                    location,
                )
            return location
        candidates = self.seed.locations_for(service)
        if len(candidates) == 1:
            return candidates[0]
        if not candidates:
            raise _not_bookable(
                f"service {service.id!r} is not offered at any branch taking bookings", service
            )
        raise ApiError(
            400,
            "location_required",
            f"service {service.id!r} is offered at several locations: send location_id",
            {"location_ids": [loc.id for loc in candidates]},
        )

    # -- availability ----------------------------------------------------------------------

    def availability(
        self,
        service_id: str,
        location_id: str | None,
        day: date | None = None,
        days_ahead: int | None = None,
    ) -> dict[str, Any]:
        service = self.service(service_id)
        location = self.resolve_location(service, location_id)
        now = self.clock.now()
        if day is not None:
            dates = [day]
            if not self._open(location, day, now) and self.beyond == BEYOND_ABSENT:
                raise _not_open(service, location, day)
        else:
            if days_ahead is None or not 1 <= days_ahead <= MAX_DAYS_AHEAD:
                raise bad_request(f"days_ahead must be between 1 and {MAX_DAYS_AHEAD}")
            today = now.astimezone(location.tz).date()
            dates = [today + timedelta(days=i) for i in range(days_ahead)]
            if self.beyond == BEYOND_ABSENT:
                dates = [d for d in dates if self._open(location, d, now)]
        days: list[dict[str, Any]] = []
        holidays: dict[str, Any] = {}
        with self.lock:
            spans = self._spans(service, location, now)  # once, not once per slot
            for d in dates:
                plan = plan_day(location, service, d)
                slots = [
                    self._slot_json(location, service, start)
                    for start in plan.starts
                    if start > now
                    and self._open(location, d, now)
                    and self._free_places(service, location, start, now, None, spans) > 0
                ]
                holiday = plan.holiday.as_json() if plan.holiday else None
                if holiday is not None:
                    holidays[d.isoformat()] = holiday
                days.append(
                    {
                        "date": d.isoformat(),
                        "closed": plan.closed,
                        "holiday": holiday,
                        "slots": slots,
                    }
                )
        return {
            "service_id": service.id,
            "location_id": location.id,
            "timezone": location.timezone,
            "days": days,
            "slots": [slot for d in days for slot in d["slots"]],
            "holidays": holidays,
        }

    @staticmethod
    def _slot_json(location: Location, service: Service, start: datetime) -> dict[str, Any]:
        return {
            "start_time": _iso(start, location),
            "end_time": _iso(end_of(service, start), location),
            "team_member_ids": list(service.team_member_ids),
        }

    def _spans(
        self,
        service: Service,
        location: Location,
        now: datetime,
        ignore_appointment: str | None = None,
    ) -> Spans:
        """What takes places of `service` at `location`: unexpired holds, active appointments."""
        return Spans(
            [
                *(
                    (h.start, h.end)
                    for h in self.holds.values()
                    if h.service_id == service.id and h.location_id == location.id and h.blocks(now)
                ),
                *(
                    (a.start, a.end)
                    for a in self.appointments.values()
                    if a.service_id == service.id
                    and a.location_id == location.id
                    and a.active
                    and a.id != ignore_appointment
                ),
            ]
        )

    def _taken(
        self,
        service: Service,
        location: Location,
        start: datetime,
        now: datetime,
        ignore_appointment: str | None = None,
        spans: Spans | None = None,
    ) -> int:
        if spans is None:
            spans = self._spans(service, location, now, ignore_appointment)
        return spans.overlapping(start, end_of(service, start))

    def _free_places(
        self,
        service: Service,
        location: Location,
        start: datetime,
        now: datetime,
        ignore_appointment: str | None = None,
        spans: Spans | None = None,
    ) -> int:
        taken = self._taken(service, location, start, now, ignore_appointment, spans)
        return service.capacity - taken

    def _open(self, location: Location, day: date, now: datetime) -> bool:
        """Whether the business takes bookings for `day` yet (`open_days`, branch time)."""
        if self.open_days is None:
            return True
        return (day - now.astimezone(location.tz).date()).days < self.open_days

    def _check_bookable(self, service: Service, location: Location, start: datetime) -> None:
        now = self.clock.now()
        reason = "appointment_time is in the past" if start <= now else None
        if reason is None and not self._open(location, start.astimezone(location.tz).date(), now):
            reason = NOT_OPEN
        reason = reason or why_not_a_slot(location, service, start)
        if reason:
            raise ApiError(
                400,
                "not_bookable",
                reason,
                {"appointment_time": _iso(start, location), "location_id": location.id},
            )

    def _check_free(
        self, service: Service, location: Location, start: datetime, ignore: str | None = None
    ) -> None:
        if self._free_places(service, location, start, self.clock.now(), ignore) <= 0:
            raise ApiError(
                409,
                "slot_unavailable",
                "this time is already taken or held by someone else",
                {"appointment_time": _iso(start, location), "location_id": location.id},
            )

    # -- holds -----------------------------------------------------------------------------

    def hold(
        self, service_id: str, location_id: str | None, start: datetime, client_id: str
    ) -> HoldRecord:
        service = self.service(service_id)
        location = self.resolve_location(service, location_id)
        start = utc(start)
        with self.lock:
            self._check_bookable(service, location, start)
            self._check_free(service, location, start)
            now = self.clock.now()
            record = HoldRecord(
                hold_id=f"h_{secrets.token_hex(8)}",
                service_id=service.id,
                location_id=location.id,
                start=start,
                end=end_of(service, start),
                expires_at=now + timedelta(seconds=self.hold_ttl),
                created_at=now,
                client_id=client_id,
            )
            self.holds[record.hold_id] = record
            return record

    def release(self, hold_id: str) -> HoldRecord:
        with self.lock:
            record = self.holds.get(hold_id)
            if record is None:
                raise not_found("hold", hold_id)
            if record.status == "confirmed":
                raise ApiError(
                    409,
                    "hold_already_confirmed",
                    "this hold became an appointment: cancel the appointment instead",
                    {"hold_id": hold_id, "appointment_id": record.appointment_id},
                )
            record.status = "released"
            return record

    def confirm(self, hold_id: str, contact_name: str, contact_email: str) -> AppointmentRecord:
        with self.lock:
            record = self.holds.get(hold_id)
            if record is None:
                raise not_found("hold", hold_id)
            now = self.clock.now()
            state = record.state(now)
            if state == "confirmed":
                raise ApiError(
                    409,
                    "hold_already_confirmed",
                    "this hold is already confirmed",
                    {"hold_id": hold_id, "appointment_id": record.appointment_id},
                )
            if state in ("expired", "released"):
                raise ApiError(
                    410,
                    "hold_expired",
                    f"the hold is no longer valid ({state}); pick a time again",
                    {"hold_id": hold_id, "reason": state},
                )
            appointment = AppointmentRecord(
                id=f"a_{secrets.token_hex(8)}",
                service_id=record.service_id,
                location_id=record.location_id,
                start=record.start,
                end=record.end,
                contact_name=contact_name,
                contact_email=contact_email,
                created_at=now,
                updated_at=now,
                hold_id=hold_id,
            )
            record.status = "confirmed"
            record.appointment_id = appointment.id
            self.appointments[appointment.id] = appointment
            return appointment

    # -- appointments ----------------------------------------------------------------------

    def appointment(self, appointment_id: str) -> AppointmentRecord:
        with self.lock:
            found = self.appointments.get(appointment_id)
            if found is None:
                raise not_found("appointment", appointment_id)
            return found

    def reschedule(
        self, appointment_id: str, start: datetime, *, event: str = "rescheduled"
    ) -> AppointmentRecord:
        start = utc(start)
        with self.lock:
            appointment = self.appointment(appointment_id)
            if not appointment.active:
                raise ApiError(
                    409,
                    "appointment_not_active",
                    f"appointment is {appointment.status}",
                    {"appointment_id": appointment.id, "status": appointment.status},
                )
            if start == appointment.start:
                return appointment
            service = self.service(appointment.service_id)
            location = self.location(appointment.location_id)
            self._check_bookable(service, location, start)
            self._check_free(service, location, start, ignore=appointment.id)
            now = self.clock.now()
            appointment.history.append((event, appointment.start))
            appointment.start = start
            appointment.end = end_of(service, start)
            appointment.updated_at = now
            return appointment

    def cancel(self, appointment_id: str, *, event: str = "cancelled") -> AppointmentRecord:
        with self.lock:
            appointment = self.appointment(appointment_id)
            if appointment.status != "cancelled":
                appointment.status = "cancelled"
                appointment.updated_at = self.clock.now()
                appointment.history.append((event, appointment.start))
            return appointment

    # -- the business's own changes (front desk, back office), not through the API ---------

    def business_cancel(self, appointment_id: str) -> AppointmentRecord:
        """The front desk cancels: GET /appointments/{id} then reads `cancelled` and a new
        `updated_at`. Cancelling a cancelled appointment changes nothing."""
        return self.cancel(appointment_id, event="cancelled_by_business")

    def business_move(self, appointment_id: str, start: datetime) -> AppointmentRecord:
        """The front desk moves an appointment, on the same calendar as the API: the same
        rules as a reschedule (an active appointment, a bookable and free slot)."""
        if start.tzinfo is None:
            raise ValueError("business_move needs a timezone-aware start")
        return self.reschedule(appointment_id, start, event="moved_by_business")

    def remove_service(self, service_id: str) -> Service:
        """The business deletes a service: no longer listed; availability and holds for it
        answer 404 service_not_found. Appointments and holds already made stay as they are."""
        with self.lock:
            return self.catalogue.remove_service(service_id)

    def deactivate_location(self, location_id: str) -> Location:
        """The business stops bookings at a branch: listed with `active: false`; availability
        and holds there answer 400 not_bookable. Appointments already made stay."""
        with self.lock:
            return self.catalogue.set_location_active(location_id, False)

    def activate_location(self, location_id: str) -> Location:
        with self.lock:
            return self.catalogue.set_location_active(location_id, True)

    # -- JSON shapes -----------------------------------------------------------------------

    def hold_json(self, record: HoldRecord) -> dict[str, Any]:
        location = self.location(record.location_id)
        return {
            "hold_id": record.hold_id,
            "status": record.state(self.clock.now()),
            "service_id": record.service_id,
            "location_id": record.location_id,
            "appointment_time": _iso(record.start, location),
            "end_time": _iso(record.end, location),
            "expires_at": _iso(record.expires_at),
        }

    def appointment_json(self, record: AppointmentRecord) -> dict[str, Any]:
        location = self.location(record.location_id)
        return {
            "appointment_id": record.id,
            "booking_id": record.id,
            "id": record.id,
            "status": record.status,
            "service_id": record.service_id,
            "location_id": record.location_id,
            "appointment_time": _iso(record.start, location),
            "end_time": _iso(record.end, location),
            "timezone": location.timezone,
            "contact_name": record.contact_name,
            "contact_email": record.contact_email,
            "created_at": _iso(record.created_at),
            "updated_at": _iso(record.updated_at),
        }
