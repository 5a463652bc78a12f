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

from collections.abc import Iterable
from typing import TYPE_CHECKING

from bot.core.models import Location, Service
from bot.core.offer import Item, Offer

if TYPE_CHECKING:
    from bot.zimun.client import ZimunClient


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
