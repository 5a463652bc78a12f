"""The operator's own wording of any message (MESSAGES_DIR), over the shipped catalogs.

A business may reword any message per language without forking: MESSAGES_DIR holds `<lang>.po`
files (`es.po`, `en.po`...), each with only the entries to change, copied from
`locales/<lang>/LC_MESSAGES/bot.po` (or `locales/bot.pot`) and edited. Empty and fuzzy entries
change nothing, as in gettext.

Every entry is checked before the bot starts, with the rules the shipped catalogs obey: the
msgid must be one of the bot's messages (a typo, or a message reworded by an upgrade, would
otherwise be ignored silently), its `{placeholders}` must be exactly the original's, and its
`<b>`/`<i>` tags the original's, balanced. The first problem is one line naming the file, the
line and the message (`OverrideError`); the loader turns it into a configuration error.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType

from babel.messages.pofile import PoFileError, read_po

from bot.i18n.catalog import LOCALES_DIR
from bot.i18n.localizer import SUPPORTED
from bot.i18n.markup import TemplateError, placeholders, tags, tags_balanced

Tables = Mapping[str, Mapping[str, str]]  # language -> msgid -> the operator's text

SHOWN_MSGID = 60  # characters of a msgid quoted in an error line


class OverrideError(ValueError):
    """An override that cannot be used; `str()` is the one line for the operator."""


@lru_cache(maxsize=1)
def shipped_msgids(template: Path = LOCALES_DIR / "bot.pot") -> frozenset[str]:
    """The msgids the bot uses (the extracted template shipped with this version)."""
    with template.open("rb") as fh:
        return frozenset(str(m.id) for m in read_po(fh) if m.id and isinstance(m.id, str))


def load_overrides(directory: Path) -> Tables:
    """language -> msgid -> text for every `<lang>.po` in `directory`; OverrideError if any
    file or entry is unusable. Files that are not `.po` are ignored (a README may sit there)."""
    if not directory.is_dir():
        raise OverrideError(f"{directory} is not a directory")
    tables: dict[str, Mapping[str, str]] = {}
    for path in sorted(directory.glob("*.po")):
        lang = path.stem.lower()
        if lang not in SUPPORTED:
            raise OverrideError(
                f"{path.name}: {path.stem!r} is not one of the bot's languages "
                f"({', '.join(SUPPORTED)}); name the files like es.po"
            )
        tables[lang] = MappingProxyType(read_overrides(path, lang))
    return MappingProxyType(tables)


def read_overrides(path: Path, lang: str) -> dict[str, str]:
    try:
        with path.open("rb") as fh:
            catalog = read_po(fh, locale=lang, abort_invalid=True)
    except (PoFileError, OSError, ValueError, UnicodeDecodeError) as exc:
        raise OverrideError(f"{path.name} cannot be read as a .po file: {exc}") from None
    known = shipped_msgids()
    table: dict[str, str] = {}
    for message in catalog:
        if not message.id or message.fuzzy or not message.string:
            continue
        where = f"{path.name} line {message.lineno}"
        if not isinstance(message.id, str) or not isinstance(message.string, str):
            raise OverrideError(f"{where}: plural entries are not used by this bot")
        problem = _problem(message.id, message.string, known)
        if problem is not None:
            raise OverrideError(f"{where}: {problem} (message {_quoted(message.id)})")
        table[message.id] = message.string
    return table


def _problem(msgid: str, text: str, known: frozenset[str]) -> str | None:
    """What is wrong with overriding `msgid` by `text`, or None."""
    if msgid not in known:
        return "not one of the bot's messages: copy the msgid exactly from locales/bot.pot"
    try:
        mine = placeholders(text)
    except TemplateError as exc:
        return f"the text is malformed ({exc}); a literal brace is written {{{{ or }}}}"
    original = placeholders(msgid)
    if mine != original:
        return (
            f"placeholders {_names(mine)} differ from the original's {_names(original)}; "
            "keep every {name} of the msgid, spelled the same"
        )
    if sorted(tags(text)) != sorted(tags(msgid)) or not tags_balanced(text):
        return "its <b>/<i> tags differ from the original's or are not balanced"
    return None


def _names(names: frozenset[str]) -> str:
    return ", ".join(f"{{{n}}}" for n in sorted(names)) if names else "(none)"


def _quoted(msgid: str) -> str:
    one_line = " ".join(msgid.split())
    shown = one_line if len(one_line) <= SHOWN_MSGID else one_line[: SHOWN_MSGID - 1] + "…"
    return repr(shown)
