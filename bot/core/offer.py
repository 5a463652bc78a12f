"""The operator's catalogue rules: which branches and services a customer sees, in what order.

Pure: applied by the conversation's Catalog (bot.chat.catalog) to what Zimun lists. Inactive
branches are never offered; hidden ids are left out; an order list puts its ids first, in its
order, and the rest follow in the API's order, unless `only_listed` makes the order list an
allow list. A branch is offered only if at least one offered service can be booked there
(otherwise it would be a dead end).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

from bot.core.models import Location, Service


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
