"""The organization's branches and services as they are now: the seed, changed at run time by
the business (a service removed, a branch switched off or on), so tests can watch a client
react to a catalogue that moves under it.

Each change swaps in a new immutable Seed under a lock; readers take `seed` once and get a
consistent snapshot, whatever the server thread is doing.
"""

from __future__ import annotations

import threading
from dataclasses import replace

from sandbox.errors import not_found
from sandbox.seed import Location, Seed, Service


class Catalogue:
    def __init__(self, seed: Seed) -> None:
        self._seed = seed
        self._lock = threading.Lock()

    @property
    def seed(self) -> Seed:
        """The catalogue now: removed services are gone, branches carry their `active` flag."""
        return self._seed

    def location(self, location_id: str) -> Location:
        """The branch, active or not; 404 location_not_found."""
        found = self._seed.location(location_id)
        if found is None:
            raise not_found("location", location_id)
        return found

    def service(self, service_id: str) -> Service:
        """The service, unless unknown or removed: 404 service_not_found."""
        found = self._seed.service(service_id)
        if found is None:
            raise not_found("service", service_id)
        return found

    def remove_service(self, service_id: str) -> Service:
        """Take the service off the catalogue for good (the business deleted it)."""
        with self._lock:
            removed = self.service(service_id)
            services = tuple(s for s in self._seed.services if s.id != service_id)
            self._seed = replace(self._seed, services=services)
            return removed

    def set_location_active(self, location_id: str, active: bool) -> Location:
        """Switch a branch's bookings off (still listed, `active: false`) or back on."""
        with self._lock:
            changed = replace(self.location(location_id), active=active)
            locations = tuple(
                changed if loc.id == location_id else loc for loc in self._seed.locations
            )
            self._seed = replace(self._seed, locations=locations)
            return changed
