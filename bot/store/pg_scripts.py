"""Writes sent to PostgreSQL as one script: a plan's statements with their parameters bound by
psycopg's client-side cursor, instead of a round trip for each statement (and for BEGIN and
COMMIT): how `save_with_funnel`, what most updates write, costs one round trip.

Tried and not kept (README, Performance): holding those writes until the update's turn ends, to
commit them with its record after the reply. A process killed between the reply and that
commit left the update to be handled again from the state before it, and a handling is not a
pure function of that state: its screen's button code is drawn at random (so the buttons the
customer already had went stale) and a slot's hold at Zimun is asked for with a new key (so the
first hold was left behind). The state is written before the reply, as ever.
"""

from __future__ import annotations

import re
from typing import Any

from bot.store.dialect import to_postgres
from bot.store.plans import MANY, WRITE, Done, Plan

_DOLLARS = re.compile(r"'[^']*'|\$(\d+)")


def script_of(plan: Plan[None], business: str, start: int = 0) -> tuple[list[str], dict[str, Any]]:
    """A plan of writes whose answers it does not read, as statements for a client-side
    cursor: each `$N` a named parameter of its own (a MANY op, a statement per row), numbered
    from `start` (statements to be sent after `start` others). Every write is answered as done
    for its rows without being sent: only such plans come here (save_with_funnel)."""
    statements: list[str] = []
    params: dict[str, Any] = {}
    answer: Any = None
    try:
        while True:
            op = plan.send(answer)
            if op.kind not in (WRITE, MANY) or op.returns_id:
                raise ValueError(f"not a write whose answer goes unread: {op.kind}")
            sql = to_postgres(op.postgres or op.sql).replace("%", "%%")
            rows = op.params if op.kind == MANY else (op.params,)
            for row in rows:
                values, number = (business, *row), start + len(statements)

                def named(
                    match: re.Match[str], values: tuple[Any, ...] = values, number: int = number
                ) -> str:
                    if match.group(1) is None:
                        return match.group(0)  # quoted text
                    key = f"s{number}_{match.group(1)}"
                    params[key] = values[int(match.group(1)) - 1]
                    return f"%({key})s"

                statements.append(_DOLLARS.sub(named, sql))
            answer = Done(len(rows))
    except StopIteration:
        return statements, params
