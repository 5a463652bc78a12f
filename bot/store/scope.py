"""Every stored row belongs to one business; this is the one place that makes a query say which.

One database file serves every business of the process (issue 19). Each table that holds a
business's data has a `business` column that leads its keys and indexes, and every statement on
such a table goes through `Storage._read`/`_write`, which bind the storage's business as SQL
parameter `?1` and refuse a statement (`UnscopedQuery`) that does not use it. A statement
therefore names its business the same way everywhere:

    SELECT ... FROM bookings WHERE business = ?1 AND user_id = ?
    INSERT INTO users (business, user_id, ...) VALUES (?1, ?, ...)
    UPDATE waitlist SET status = ?2 WHERE business = ?1 AND id = ?3

The caller passes only its own parameters; `?1` is always the business. A bare `?` takes the
number after the largest one used so far (SQLite's rule), so a bare `?` may only come after
`?1` has appeared; an UPDATE whose SET clause takes parameters numbers them (`?2`, `?3`...).
That is checked here too, because a bare `?` before `?1` would silently bind the business to
the wrong column. The same text maps one to one onto PostgreSQL's `$1, $2...` (issue 20).

What the check cannot see (a join or subquery that filters one table by the business and not
another) is covered by review and by the isolation test that runs every public Storage method
for one business and checks that another sees nothing (tests/store/test_isolation.py).
"""

from __future__ import annotations

import re

_PLACEHOLDER = re.compile(r"\?(\d*)")
_checked: set[str] = set()  # statements are a fixed set of literals: each is checked once


class UnscopedQuery(AssertionError):
    """A statement on a business's table that does not bind the business as `?1`: a bug in
    the bot, never an operator's mistake."""


def check_scoped(sql: str) -> None:
    """Raise UnscopedQuery unless `sql` binds the business as `?1` before any bare `?`."""
    if sql in _checked:
        return
    if "business" not in sql:
        raise UnscopedQuery(f"statement does not name the business: {sql[:80]}")
    seen_business = False
    for match in _PLACEHOLDER.finditer(sql):
        number = match.group(1)
        if number == "1":
            seen_business = True
        elif not number and not seen_business:
            raise UnscopedQuery(f"bare ? before the business (?1): {sql[:80]}")
    if not seen_business:
        raise UnscopedQuery(f"statement does not bind the business as ?1: {sql[:80]}")
    _checked.add(sql)
