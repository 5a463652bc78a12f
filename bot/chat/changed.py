"""The business changed its catalog while a customer was on it: a service removed, a branch
taking no bookings. Zimun says so with a documented answer (404 `service_not_found` or
`location_not_found`, 400 `not_bookable` on availability); the calls that can meet it run inside
`watching()`, which turns that answer into `CatalogChanged`. The engine then refreshes what the
bot knows and shows the nearest step that is still valid, with a word (book.catalog_changed).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from bot.core.errors import NotBookable, NotFound

GONE_CODES = frozenset({"service_not_found", "location_not_found"})


class CatalogChanged(Exception):
    """What the customer was booking is no longer offered; `args[0]` is Zimun's code."""


@contextmanager
def watching(*, not_bookable: bool = True) -> Iterator[None]:
    """Zimun's "that is gone" answers as CatalogChanged. `not_bookable=False` where a 400
    `not_bookable` is about one time (a hold), not the branch or service."""
    try:
        yield
    except NotFound as exc:
        if exc.code in GONE_CODES:
            raise CatalogChanged(exc.code) from exc
        raise
    except NotBookable as exc:
        if not_bookable:
            raise CatalogChanged(exc.code or "not_bookable") from exc
        raise
