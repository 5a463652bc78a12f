"""What the bot offers: the API's branches and services after the operator's rules.

One home for "which branches and services does a customer see, and in what order": every list
and every lookup by id in the conversation (the booking start, deep links, the service list) goes
through `Catalog`, so a hidden service can never be reached by any path. The rules are an
`Offer`: inactive branches are never offered; hidden ids are left out; an order list puts its
ids first, in its order, and the rest follow in the API's order, unless `only_listed` makes the
order list an allow list. A branch is offered only if at least one offered service can be
booked there (otherwise it would be a dead end).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, TypeVar

from bot.zimun.models import Location, Service

if TYPE_CHECKING:
    from bot.zimun.client import ZimunClient


class _HasId(Protocol):
    @property
    def id(self) -> str: ...


Item = TypeVar("Item", bound=_HasId)


@dataclass(frozen=True)
class Listing:
    """The rules for one kind of item (branches or services)."""

    hidden: frozenset[str] = frozenset()
    order: tuple[str, ...] = ()
    only_listed: bool = False  # the order list is also the allow list

    def admits(self, item_id: str) -> bool:
        if item_id in self.hidden:
            return False
        return not self.only_listed or item_id in self.order

    def arrange(self, items: Iterable[Item]) -> list[Item]:
        """The admitted items: those in `order` first, in its order; the rest as given."""
        admitted = [item for item in items if self.admits(item.id)]
        rank = {item_id: i for i, item_id in enumerate(self.order)}
        return sorted(admitted, key=lambda item: rank.get(item.id, len(rank)))  # stable


@dataclass(frozen=True)
class Offer:
    """The operator's catalogue rules (HIDE_LOCATIONS, HIDE_SERVICES, BOT_CONFIG's lists)."""

    locations: Listing = Listing()
    services: Listing = Listing()

    def offered_locations(
        self, locations: Sequence[Location], services: Sequence[Service]
    ) -> list[Location]:
        offered = self.offered_services(services)
        return [
            loc
            for loc in self.locations.arrange(loc for loc in locations if loc.active)
            if any(service.bookable_at(loc.id) for service in offered)
        ]

    def offered_services(
        self, services: Sequence[Service], location_id: str | None = None
    ) -> list[Service]:
        """The offered services (at `location_id` when given), in the operator's order."""
        arranged = self.services.arrange(services)
        if location_id is None:
            return arranged
        return [service for service in arranged if service.bookable_at(location_id)]


class Catalog:
    """The offered catalogue, read through the client's (cached) catalogue calls."""

    def __init__(self, api: ZimunClient, offer: Offer) -> None:
        self.api = api
        self.offer = offer

    async def offered_locations(self) -> list[Location]:
        return self.offer.offered_locations(
            await self.api.list_locations(), await self.api.list_services()
        )

    async def offered_location(self, location_id: str | None) -> Location | None:
        return _by_id(await self.offered_locations(), location_id)

    async def offered_services(self, location_id: str | None = None) -> list[Service]:
        """Services offered at `location_id`, or (None) at any offered branch."""
        services = self.offer.offered_services(await self.api.list_services(), location_id)
        if location_id is not None:
            return services if await self.offered_location(location_id) else []
        branches = [loc.id for loc in await self.offered_locations()]
        return [s for s in services if any(s.bookable_at(b) for b in branches)]

    async def offered_service(self, service_id: str | None) -> Service | None:
        return _by_id(await self.offered_services(), service_id)


def _by_id(items: Iterable[Item], item_id: str | None) -> Item | None:
    return next((item for item in items if item.id == item_id), None) if item_id else None
