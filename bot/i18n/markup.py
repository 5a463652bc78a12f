"""Templates: the two markup flavours and safe `{placeholder}` substitution.

Msgids may carry only `<b>` and `<i>`. Those tags belong to the template, never to values: in
HTML mode the rest of the template is escaped around them, in plain mode they are removed. Values
arrive already rendered for the target markup, so this module never escapes or strips them.

Substitution is deliberately narrower than `str.format`: a field is a bare identifier, with no
attribute access, index, conversion or format spec, so a careless or hostile translation cannot
reach into objects; anything else is a `TemplateError` and the caller falls back to English.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from functools import lru_cache
from string import Formatter
from typing import Literal

Markup = Literal["plain", "html"]

TAG_RE = re.compile(r"</?[bi]>")
_ANY_TAG_RE = re.compile(r"</?[A-Za-z][^<>]*>")


class TemplateError(ValueError):
    """A template that cannot be filled: a malformed field or a value the caller did not give."""


class MissingValue(TemplateError):
    def __init__(self, name: str):
        super().__init__(f"no value for placeholder {{{name}}}")
        self.name = name


@lru_cache(maxsize=4096)
def parse(template: str) -> tuple[tuple[str, str | None], ...]:
    """The template as (literal text, field name or None) pairs; `TemplateError` if malformed."""
    try:
        parts = list(Formatter().parse(template))
    except ValueError as exc:  # unbalanced braces
        raise TemplateError(str(exc)) from None
    out: list[tuple[str, str | None]] = []
    for literal, name, spec, conversion in parts:
        if name is not None and (not name.isidentifier() or spec or conversion):
            raise TemplateError(f"unsupported placeholder {{{name}}}")
        out.append((literal, name))
    return tuple(out)


def placeholders(template: str) -> frozenset[str]:
    """The placeholder names of a template (raises `TemplateError` if it is malformed)."""
    return frozenset(name for _, name in parse(template) if name is not None)


COUNT = "count"  # the placeholder a plural message's number fills


def fields_match(text: str, msgid: str, plural: bool = False) -> bool:
    """True when `text` (a translation) has exactly the placeholders of `msgid`; a form of a
    plural message (`msgid` is then its msgid_plural) may leave out `{count}`, as "one day"
    does. Raises `TemplateError` if `text` is malformed."""
    if not plural:
        return placeholders(text) == placeholders(msgid)
    return placeholders(text) | {COUNT} == placeholders(msgid) | {COUNT}


def tags(template: str) -> list[str]:
    """The `<b>`/`<i>` tags of a template, in order."""
    return TAG_RE.findall(template)


def tags_balanced(template: str) -> bool:
    """True when the allowed tags nest properly and no other tag appears."""
    if _ANY_TAG_RE.sub(lambda m: "" if TAG_RE.fullmatch(m.group()) else "\0", template).count("\0"):
        return False
    stack: list[str] = []
    for tag in tags(template):
        if not tag.startswith("</"):
            stack.append(tag[1])
        elif not stack or stack.pop() != tag[2]:
            return False
    return not stack


def for_markup(template: str, markup: Markup) -> str:
    """The template text ready for `markup`: tags kept and text escaped, or tags removed."""
    if markup == "plain":
        return TAG_RE.sub("", template)
    pieces = TAG_RE.split(template)
    found = TAG_RE.findall(template)
    escaped = [html.escape(piece, quote=False) for piece in pieces]
    return "".join(p + (found[i] if i < len(found) else "") for i, p in enumerate(escaped))


def substitute(template: str, value_of: Callable[[str, bool], str]) -> str:
    """Fill the template's fields with `value_of(name, at_start)`.

    `at_start` is True when nothing but markup and spaces precedes the field, so the caller can
    capitalise a locale-formatted value that opens a sentence ("Sábado, 21 de noviembre…").
    `value_of` raises `MissingValue` for a name it cannot supply.
    """
    out: list[str] = []
    for literal, name in parse(template):
        out.append(literal)
        if name is not None:
            at_start = not TAG_RE.sub("", "".join(out)).strip()
            out.append(value_of(name, at_start))
    return "".join(out)
