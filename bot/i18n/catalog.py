"""Loading the gettext catalogs (`locales/<lang>/LC_MESSAGES/bot.po`) into plain dicts.

The .po files are read directly with Babel at start-up; no compiled .mo files exist in the repo
(they are git-ignored), so a fresh checkout or a translator's edit needs no build step. Only
usable entries are kept: a msgstr that is empty or marked fuzzy counts as missing, exactly as
GNU gettext would treat it, so the renderer falls back to the English source and reports it.

A plural entry (msgid, msgid_plural, msgstr[0..n]) is kept under its singular msgid as the tuple
of its forms, in the order of the language's plural rules; one empty form makes it missing.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType

from babel.messages.pofile import read_po

log = logging.getLogger(__name__)

DOMAIN = "bot"

Entry = str | tuple[str, ...]  # a message, or the forms of a plural message
LOCALES_DIR = Path(__file__).resolve().parents[2] / "locales"


def po_path(lang: str, directory: Path = LOCALES_DIR) -> Path:
    return directory / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


@lru_cache(maxsize=16)
def load_translations(lang: str, directory: Path = LOCALES_DIR) -> Mapping[str, Entry]:
    """msgid -> msgstr (or, for a plural message, its forms) for every translated, non-fuzzy
    message of `lang` (read once, cached)."""
    path = po_path(lang, directory)
    try:
        with path.open("rb") as fh:
            catalog = read_po(fh, locale=lang, domain=DOMAIN, ignore_obsolete=True)
    except FileNotFoundError:
        log.warning("no catalog for language %s at %s; showing English source text", lang, path)
        return MappingProxyType({})
    table: dict[str, Entry] = {}
    for message in catalog:
        entry = usable(message.id, message.string, message.fuzzy)
        if entry is not None:
            table[entry[0]] = entry[1]
    return MappingProxyType(table)


def usable(msgid: object, string: object, fuzzy: bool) -> tuple[str, Entry] | None:
    """(singular msgid, text or forms) of a catalog entry that can be shown, else None."""
    if fuzzy or not msgid:
        return None
    if isinstance(msgid, str):
        return (msgid, string) if isinstance(string, str) and string else None
    if isinstance(msgid, tuple | list) and isinstance(string, tuple | list):
        forms = tuple(str(form) for form in string)
        return (str(msgid[0]), forms) if forms and all(forms) else None
    return None
