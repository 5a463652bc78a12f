"""Writes sent to PostgreSQL as one script: a plan's statements with their parameters bound by
psycopg's client-side cursor, instead of a round trip for each statement (and for BEGIN and
COMMIT); and the last writes of an update, held for its turn's last round trip.

Why hold them: on coordinated PostgreSQL an update's handling made two round trips before its
reply went out (its turn with the conversation read, then its writes), and after a customer's
pause each round trip wakes two idle processes; here that cost about 1 ms a round trip, where
SQLite pays nothing (README, Performance). The conversation the update leaves behind and its
funnel events need not be in the database before the reply is sent: they only need to be
there before anyone reads them. So `save_with_funnel` inside an update's turn (bot.store.
postgres) hands its statements to the turn (`TurnWrites`), and the turn commits them with the
update's record, in one transaction, just before it lets the chat's turn go: the state an
update leaves and the record that it was handled are written together or not at all. A process
that dies after the reply and before that commit leaves neither: the update is delivered
again and handled again from the state before it. That gives the same answer again because a
handling's chance values (its screen's button code, its keys at Zimun) come from the update
(bot.core.draws): the customer's buttons stay valid, and a hold asked for again with the same
key is Zimun's replay of the first (tests/cluster/test_fleet.py kills a process in between).

Not held: a conversation left in flight (`pending`: a confirm, reschedule or cancel whose
answer must survive a restart: written at once), and anything outside an update's turn. Held
writes are sent first, on their own, when the handling reads or writes the conversations or
the funnel before the turn ends, or opens a transaction (bot.store.postgres `_flush_turn`), so
nothing the handling does ever sees the database without them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from bot.store.dialect import to_postgres
from bot.store.plans import MANY, WRITE, Done, Plan

_DOLLARS = re.compile(r"'[^']*'|\$(\d+)")
# The tables an update's held writes touch: a statement on one of them sends them first.
HELD_TABLES = ("conversations", "funnel")


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


@dataclass
class TurnWrites:
    """The writes an update's handling left for its turn's end, for the chat they belong to
    ((business, chat id)). Seen by the tasks the handling runs in (the turn's, and those it
    starts and awaits: a tap's engine runs in one of its own); once the turn has ended
    (`close`), a task that outlived it writes at once."""

    chat: tuple[str, int]
    statements: list[str] = field(default_factory=list)
    params: dict[str, Any] = field(default_factory=dict)
    open: bool = True

    def add(self, plan: Plan[None], business: str) -> None:
        statements, params = script_of(plan, business, start=len(self.statements))
        self.statements += statements
        self.params.update(params)

    def close(self) -> tuple[str, dict[str, Any]] | None:
        """The turn's end: what it holds (`take`), and nothing more is held."""
        self.open = False
        return self.take()

    def take(self) -> tuple[str, dict[str, Any]] | None:
        """The writes as one text and its parameters, and forgotten here; None if none."""
        if not self.statements:
            return None
        text, params = "; ".join(self.statements), self.params
        self.statements, self.params = [], {}
        return text, params
