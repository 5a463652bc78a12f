"""`python -m bot check --deep`: a read-only tour of the Zimun account, as the bot will use it.

For the first day of a business: after the credentials check, it lists the branches and
services the bot will offer (after the operator's hide lists and order), fetches the free
times of each offered service at its first branch (inside the booking window), asks which
reschedule/cancel form the server offers where that can be learnt without changing anything,
and says plainly what it could not read and where (the field, the endpoint).

It only reads: GET, plus OPTIONS to read the `Allow` header of the reschedule/cancel routes
(OPTIONS is a safe method: it changes nothing). It never holds, books, moves or cancels, and it
never lists appointments. Its output is pasted into support requests, so it prints ids, names
of branches and services, counts and times, never a secret or anything about a customer.

Each finding is one line, `OK`, `INFO`, `WARN` or `FAIL`, with indented detail lines; the last
line is the verdict. The bot can serve when nothing FAILs (`ok`), which `check --deep` turns
into its exit code, so CI can gate a deployment on it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Literal, TypeVar

from bot.chat.catalog import Catalog
from bot.config.operator import Operator
from bot.config.settings import Dialect, Settings
from bot.core.calendar import DEFAULT_HORIZON
from bot.core.errors import BadRequest, InvalidResponse, LocationRequired, ZimunError
from bot.core.models import Availability, Location, Service, parse_zone
from bot.core.offer import Listing
from bot.core.rules import BookingRules
from bot.zimun.client import ZimunClient

Level = Literal["OK", "INFO", "WARN", "FAIL"]
Item = TypeVar("Item")

PROBE_TIMEOUT = 10.0
DEFAULT_DAYS = 31  # how far the tour looks without BOOKING_HORIZON (one calendar month)
MAX_DAYS = 92  # what the calendar asks at most in one range query
PROBE_ID = "zimun-bot-check"  # a made-up appointment id for OPTIONS /appointments/{id}
TIME_FORMAT = "%a %Y-%m-%d %H:%M"


@dataclass(frozen=True)
class Finding:
    level: Level
    name: str
    detail: str
    items: tuple[str, ...] = ()

    def lines(self) -> Iterator[str]:
        yield f"{self.level:<4} {self.name}: {self.detail}"
        for item in self.items:
            yield f"       {item}"


@dataclass
class DeepReport:
    findings: list[Finding] = field(default_factory=list)

    def add(self, level: Level, name: str, detail: str, items: Sequence[str] = ()) -> None:
        self.findings.append(Finding(level, name, detail, tuple(items)))

    @property
    def ok(self) -> bool:
        """The bot can serve customers: nothing failed."""
        return not any(f.level == "FAIL" for f in self.findings)

    def count(self, level: Level) -> int:
        return sum(f.level == level for f in self.findings)

    def lines(self) -> list[str]:
        lines = [line for finding in self.findings for line in finding.lines()]
        warnings = self.count("WARN")
        if self.ok:
            lines.append(f"Deep check passed: the bot can serve customers ({warnings} warning(s)).")
        else:
            lines.append(
                f"Deep check failed: {self.count('FAIL')} problem(s) (the FAIL lines above) "
                "stop the bot from serving customers."
            )
        return lines


async def run_deep_check(
    settings: Settings,
    operator: Operator,
    *,
    now: datetime,
    client: ZimunClient | None = None,
) -> DeepReport:
    """The tour; `now` (the caller's clock) places the booking window."""
    report = DeepReport()
    if client is None:
        async with ZimunClient.from_settings(settings, max_retries=1, timeout=PROBE_TIMEOUT) as own:
            await Tour(own, settings, operator, now, report).run()
    else:
        await Tour(client, settings, operator, now, report).run()
    return report


class Tour:
    def __init__(
        self,
        client: ZimunClient,
        settings: Settings,
        operator: Operator,
        now: datetime,
        report: DeepReport,
    ) -> None:
        self.client = client
        self.settings = settings
        self.operator = operator
        self.rules: BookingRules = operator.rules
        self.now = now
        self.report = report

    async def run(self) -> None:
        self.describe_rules()
        catalogue = await self.catalogue()
        if catalogue is not None:
            for service, location in catalogue:
                await self.availability(service, location)
        await self.change_forms()

    # ---- the operator's settings ----------------------------------------------------------

    def describe_rules(self) -> None:
        business, rules = self.operator.business, self.rules
        earliest = _duration(rules.lead_time) if rules.lead_time else "now"
        latest = (
            _duration(rules.horizon)
            if rules.horizon
            else f"the calendar's {DEFAULT_HORIZON.days} days"
        )
        kinds = [k for k in ("reschedule", "cancel") if rules.allows(k)]  # type: ignore[arg-type]
        until = (
            f"until {_duration(rules.change_cutoff)} before the start"
            if rules.change_cutoff
            else "until the start"
        )
        changes = f"{' and '.join(kinds)} {until}" if kinds else "none in the bot"
        texts = [
            f"{kind}: {', '.join(sorted(by)) or '-'}" for kind, by in business.texts.items() if by
        ]
        overrides = [
            f"{lang}: {len(table)} message(s)" for lang, table in self.operator.overrides.items()
        ]
        self.report.add(
            "OK",
            "Rules",
            f"languages {', '.join(business.languages)} (default {business.default_language}); "
            f"bookable from {earliest} to {latest} ahead; changes: {changes}",
            [
                f"business name: {'set' if business.name else 'not set'}; "
                f"own texts: {'; '.join(texts) or 'none'}",
                f"reworded messages (MESSAGES_DIR): {'; '.join(overrides) or 'none'}",
            ],
        )

    # ---- branches and services ------------------------------------------------------------

    async def catalogue(self) -> list[tuple[Service, Location]] | None:
        """The offered catalogue, reported; (service, its first offered branch) pairs to
        check, or None when the lists cannot be read."""
        locations = await self.read("Branches", "GET /locations", self.client.list_locations)
        services = await self.read("Services", "GET /services", self.client.list_services)
        if locations is None or services is None:
            return None
        catalog = Catalog(self.client, self.rules.offer)
        offered_locations = await catalog.offered_locations()
        offered_services = await catalog.offered_services()
        self.report_locations(locations, offered_locations, services)
        self.report_services(services, offered_services, offered_locations)
        pairs = []
        for service in offered_services:
            first = next(loc for loc in offered_locations if service.bookable_at(loc.id))
            pairs.append((service, first))
        return pairs

    async def read(
        self, name: str, endpoint: str, call: Callable[[], Awaitable[list[Item]]]
    ) -> list[Item] | None:
        try:
            return await call()
        except ZimunError as exc:
            self.report.add("FAIL", name, _failure(endpoint, exc))
            return None

    def report_locations(
        self,
        locations: Sequence[Location],
        offered: Sequence[Location],
        services: Sequence[Service],
    ) -> None:
        listing = self.rules.offer.locations
        shown = {loc.id for loc in offered}
        items = [
            f"{i}. {loc.id}  {loc.name}  ({_zone_of(loc)})" for i, loc in enumerate(offered, 1)
        ]
        for loc in locations:
            if loc.id not in shown:
                items.append(f"not offered: {loc.id}  {loc.name}  ({self._why_not(loc, listing)})")
        level: Level = "OK" if offered else "FAIL"
        detail = (
            f"{len(offered)} of {len(locations)} offered, in this order"
            if offered
            else f"none of {len(locations)} is offered: customers cannot book"
        )
        self.report.add(level, "Branches", detail, items)
        for loc in offered:
            self.check_zone(loc)
        self.unknown_ids(listing, {loc.id for loc in locations}, "HIDE_LOCATIONS", "locations")

    def _why_not(self, loc: Location, listing: Listing) -> str:
        if not loc.active:
            return "inactive in Zimun"
        if loc.id in listing.hidden:
            return "hidden"
        if not listing.admits(loc.id):
            return "not in the order list"
        return "no offered service is bookable there"

    def check_zone(self, loc: Location) -> None:
        if loc.timezone is None:
            self.report.add(
                "INFO",
                f"Branch {loc.id}",
                "no timezone (field 'timezone', GET /locations): times are shown in the "
                "offset each free time carries",
            )
        elif parse_zone(loc.timezone) is None:
            self.report.add(
                "WARN",
                f"Branch {loc.id}",
                f"timezone {loc.timezone!r} is not understood (field 'timezone', "
                "GET /locations): times would be shown in UTC",
            )

    def report_services(
        self,
        services: Sequence[Service],
        offered: Sequence[Service],
        locations: Sequence[Location],
    ) -> None:
        listing = self.rules.offer.services
        shown = {s.id for s in offered}
        branch_ids = [loc.id for loc in locations]
        items = []
        for i, service in enumerate(offered, 1):
            where = ", ".join(b for b in branch_ids if service.bookable_at(b))
            minutes = f"{service.duration_minutes} min" if service.duration_minutes else "? min"
            items.append(f"{i}. {service.id}  {service.name}  {minutes}  at {where}")
        for service in services:
            if service.id not in shown:
                why = (
                    "hidden"
                    if service.id in listing.hidden
                    else "not in the order list"
                    if not listing.admits(service.id)
                    else "at no offered branch"
                )
                items.append(f"not offered: {service.id}  {service.name}  ({why})")
        level: Level = "OK" if offered else "FAIL"
        detail = (
            f"{len(offered)} of {len(services)} offered, in this order"
            if offered
            else f"none of {len(services)} is offered: customers cannot book"
        )
        self.report.add(level, "Services", detail, items)
        for service in offered:
            if not service.duration_minutes:
                self.report.add(
                    "INFO",
                    f"Service {service.id}",
                    "no duration (field 'duration_minutes', GET /services): the calendar "
                    "file assumes 30 min when the booking does not say when it ends",
                )
        self.unknown_ids(listing, {s.id for s in services}, "HIDE_SERVICES", "services")

    def unknown_ids(self, listing: Listing, known: set[str], setting: str, section: str) -> None:
        """Ids in the operator's lists that the account does not have: probably typos."""
        hidden_from = setting if getattr(self.settings, setting) else f"BOT_CONFIG [{section}] hide"
        lists = ((hidden_from, listing.hidden), (f"BOT_CONFIG [{section}] order", listing.order))
        for source, ids in lists:
            missing = sorted(set(ids) - known)
            if missing:
                self.report.add(
                    "WARN",
                    source,
                    f"names {', '.join(missing)}, which this account does not have (a typo?)",
                )

    # ---- availability ---------------------------------------------------------------------

    async def availability(self, service: Service, location: Location) -> None:
        name = f"Availability {service.id} at {location.id}"
        days = self.days_ahead()
        for ahead in dict.fromkeys((days, min(days, DEFAULT_DAYS), min(days, 7))):
            endpoint = (
                f"GET /availability?service_id={service.id}&location_id={location.id}"
                f"&days_ahead={ahead}"
            )
            try:
                answer = await self.client.get_availability(
                    service.id, location_id=location.id, days_ahead=ahead
                )
            except LocationRequired as exc:
                self.report.add("FAIL", name, _failure(endpoint, exc))
                return
            except BadRequest as exc:
                if ahead > 7:
                    continue  # the server caps ranges: ask for fewer days, as the bot does
                self.report.add("FAIL", name, _failure(endpoint, exc))
                return
            except ZimunError as exc:
                self.report.add("FAIL", name, _failure(endpoint, exc))
                return
            self.report_times(name, endpoint, answer, location, ahead, capped=ahead < days)
            return

    def days_ahead(self) -> int:
        horizon = self.rules.horizon
        if horizon is None:
            return DEFAULT_DAYS
        return max(1, min(MAX_DAYS, horizon.days + (1 if horizon.seconds else 0) + 1))

    def report_times(
        self,
        name: str,
        endpoint: str,
        answer: Availability,
        location: Location,
        ahead: int,
        *,
        capped: bool,
    ) -> None:
        starts = [slot.start for day in answer.days for slot in day.slots]
        bookable = sorted(s for s in starts if self.rules.bookable(s, self.now))
        earliest, latest = self.rules.window(self.now)
        too_soon = sum(self.now < s < earliest for s in starts)
        too_far = sum(latest is not None and s > latest for s in starts)
        items = [endpoint + (" (the server refused a longer range)" if capped else "")]
        if too_soon:
            items.append(f"{too_soon} earlier free time(s) are inside BOOKING_LEAD_TIME")
        if too_far:
            items.append(f"{too_far} free time(s) are beyond BOOKING_HORIZON")
        span = "the booking window" if latest is not None else f"the next {ahead} day(s)"
        if not bookable:
            self.report.add("WARN", name, f"no bookable time in {span}", items)
            return
        zone_name = answer.zone_name or location.timezone
        first = bookable[0].astimezone(parse_zone(zone_name) or UTC)
        self.report.add(
            "OK",
            name,
            f"{len(bookable)} bookable time(s) in {span}, the first on "
            f"{first.strftime(TIME_FORMAT)} ({zone_name or 'UTC'})",
            items,
        )

    # ---- reschedule and cancel ------------------------------------------------------------

    async def change_forms(self) -> None:
        """Which documented form the server offers, from `Allow` (OPTIONS) only."""
        name = "Reschedule/cancel"
        probes = {
            "reschedule": ("/appointments/reschedule", None),
            "cancel": ("/appointments/cancel", None),
            "patch": ("/appointments/{appointment_id}", {"appointment_id": PROBE_ID}),
        }
        allowed: dict[str, frozenset[str] | None] = {}
        for key, (template, path) in probes.items():
            try:
                allowed[key] = await self.client.allowed_methods(template, path)
            except ZimunError:
                allowed[key] = None
        post = {k: _allows(allowed[k], "POST") for k in ("reschedule", "cancel")}
        patch = _allows(allowed["patch"], "PATCH")
        pinned = self.settings.ZIMUN_API_DIALECT
        wanted = any(self.rules.changes_allowed)
        if all(v is None for v in (*post.values(), patch)):
            if pinned is not None:
                self.report.add("WARN" if wanted else "INFO", name, _unconfirmed(pinned, wanted))
                return
            detail = "not learnt without a change; detected on first use"
            self.report.add("INFO", name, detail + _not_used(wanted))
            return
        offered = []
        if post["reschedule"] or post["cancel"]:
            routes = [f"/appointments/{k}" for k in ("reschedule", "cancel") if post[k]]
            offered.append(
                f"POST {' and '.join(routes)} (appointment_id or booking_id: told apart on "
                "first use)"
            )
        if patch:
            offered.append("PATCH /appointments/{id}")
        mismatch = _pinned_mismatch(pinned, post, patch)
        if mismatch is not None:
            self.report.add("FAIL" if wanted else "WARN", name, mismatch + _not_used(wanted))
        elif pinned is not None and pinned is not Dialect.PATCH and offered:
            # Both POST forms share their routes: only a change tells which field is expected.
            self.report.add("WARN" if wanted else "INFO", name, _unconfirmed(pinned, wanted))
        elif offered:
            self.report.add("OK", name, "the server offers " + "; ".join(offered))
        elif None in (*post.values(), patch):
            self.report.add("INFO", name, "not learnt without a change; detected on first use")
        else:
            self.report.add(
                "FAIL" if wanted else "INFO",
                name,
                "the server allows none of the documented forms (POST /appointments/"
                "reschedule, /appointments/cancel, PATCH /appointments/{id}): rescheduling and "
                "cancelling in the bot would fail" + _not_used(wanted),
            )


def _allows(methods: frozenset[str] | None, method: str) -> bool | None:
    """Whether `Allow` lists `method`; None when the server did not say."""
    return None if methods is None else method in methods


def _pinned_mismatch(
    pinned: Dialect | None, post: dict[str, bool | None], patch: bool | None
) -> str | None:
    if pinned is None:
        return None
    if pinned is Dialect.PATCH and patch is False:
        return "ZIMUN_API_DIALECT=patch, but the server does not allow PATCH /appointments/{id}"
    if pinned is not Dialect.PATCH and False in post.values():
        return (
            f"ZIMUN_API_DIALECT={pinned.value}, but the server does not allow POST on "
            "/appointments/reschedule and /appointments/cancel"
        )
    return None


def _unconfirmed(pinned: Dialect, wanted: bool) -> str:
    """A pinned form the server's `Allow` cannot confirm: a wrong pin is never corrected (the
    client tries nothing else), so every reschedule and cancel would fail."""
    return (
        f"ZIMUN_API_DIALECT={pinned.value} is used as set, but it cannot be confirmed without "
        "a change; if it is wrong every reschedule and cancel fails: leave it unset to detect "
        "the form on first use" + _not_used(wanted)
    )


def _not_used(wanted: bool) -> str:
    return "" if wanted else " (not used: ALLOW_RESCHEDULE and ALLOW_CANCEL are off)"


def _failure(endpoint: str, exc: ZimunError) -> str:
    if isinstance(exc, InvalidResponse):
        return f"{endpoint} answered something the bot cannot read: {exc.message}"
    return f"{endpoint} failed: {exc}"


def _zone_of(loc: Location) -> str:
    return loc.timezone or "no timezone"


def _duration(value: timedelta) -> str:
    minutes = int(value.total_seconds()) // 60
    if minutes >= 2 * 24 * 60 and not minutes % (24 * 60):
        return f"{minutes // (24 * 60)} d"
    if minutes and not minutes % 60:
        return f"{minutes // 60} h"
    return f"{minutes} min"
