"""Damaging one field of a JSON answer, for checks that must report what they could not parse
and where (the `damage` fault knob in sandbox/faults.py).

A field path is dot-separated names; `[]` after a name means every item of that list and `[N]`
item N only: "items[].timezone", "days[].slots[].start_time", "slots[0].start_time". The path
ends at a field name. "remove" deletes the field; "garble" replaces it with garbage of the
wrong kind (see `garbage_for`), or with the garbage the caller chose.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from typing import Any

REMOVE = "remove"
GARBLE = "garble"
MODES = (REMOVE, GARBLE)
NOT_A_DATE = "not-a-date"

Step = str | int | None  # a field name, a list index, or None for every item ("[]")


class _Auto:
    def __repr__(self) -> str:
        return "AUTO"


AUTO: Any = _Auto()  # garbage chosen from the damaged value's kind

_SEGMENT = re.compile(r"([^.\[\]]+)((?:\[\d*\])*)")
_INDEX = re.compile(r"\[(\d*)\]")


def parse_path(field_path: str) -> tuple[Step, ...]:
    """ "days[].slots[].start_time" -> ("days", None, "slots", None, "start_time")."""
    steps: list[Step] = []
    for segment in field_path.split("."):
        match = _SEGMENT.fullmatch(segment)
        if match is None:
            raise ValueError(f"bad field path {field_path!r} at {segment!r}")
        steps.append(match[1])
        steps.extend(int(i) if i else None for i in _INDEX.findall(match[2]))
    if not isinstance(steps[-1], str):
        raise ValueError(f"field path {field_path!r} must end at a field name")
    return tuple(steps)


def damage(payload: Any, steps: tuple[Step, ...], mode: str, garbage: Any = AUTO) -> int:
    """Damage, in place, every field the path reaches in `payload`; returns how many."""
    *walk, name = steps
    hits = 0
    for holder in _reach(payload, walk):
        if isinstance(holder, dict) and name in holder:
            if mode == REMOVE:
                del holder[name]
            else:
                holder[name] = garbage_for(holder[name]) if garbage is AUTO else garbage
            hits += 1
    return hits


def garbage_for(value: Any) -> Any:
    """Something of the wrong kind for `value`: a timestamp or date becomes a string that is
    no date, any other string a number, a number a string, a list or object a string."""
    if isinstance(value, bool):
        return "maybe"
    if isinstance(value, int | float):
        return "many"
    if isinstance(value, str):
        return NOT_A_DATE if _is_date(value) else 12345
    if isinstance(value, list):
        return "not-a-list"
    return "garbage"  # an object, or null


def _is_date(text: str) -> bool:
    try:
        datetime.fromisoformat(text)
    except ValueError:
        return False
    return True


def _reach(node: Any, steps: list[Step]) -> Iterator[Any]:
    if not steps:
        yield node
        return
    step, rest = steps[0], steps[1:]
    if step is None:
        if isinstance(node, list):
            for item in node:
                yield from _reach(item, rest)
    elif isinstance(step, int):
        if isinstance(node, list) and step < len(node):
            yield from _reach(node[step], rest)
    elif isinstance(node, dict) and step in node:
        yield from _reach(node[step], rest)
