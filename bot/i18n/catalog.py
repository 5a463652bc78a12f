"""Loading the gettext catalogs (`locales/<lang>/LC_MESSAGES/bot.po`) into plain dicts.

The .po files are read directly with Babel at start-up; no compiled .mo files exist in the repo
(they are git-ignored), so a fresh checkout or a translator's edit needs no build step. Only
usable entries are kept: a msgstr that is empty or marked fuzzy counts as missing, exactly as
GNU gettext would treat it, so the renderer falls back to the English source and reports it.
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
LOCALES_DIR = Path(__file__).resolve().parents[2] / "locales"


def po_path(lang: str, directory: Path = LOCALES_DIR) -> Path:
    return directory / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


@lru_cache(maxsize=16)
def load_translations(lang: str, directory: Path = LOCALES_DIR) -> Mapping[str, str]:
    """msgid -> msgstr for every translated, non-fuzzy message of `lang` (read once, cached)."""
    path = po_path(lang, directory)
    try:
        with path.open("rb") as fh:
            catalog = read_po(fh, locale=lang, domain=DOMAIN, ignore_obsolete=True)
    except FileNotFoundError:
        log.warning("no catalog for language %s at %s; showing English source text", lang, path)
        return MappingProxyType({})
    table = {
        message.id: message.string
        for message in catalog
        if message.id
        and isinstance(message.id, str)
        and isinstance(message.string, str)
        and message.string
        and not message.fuzzy
    }
    return MappingProxyType(table)
