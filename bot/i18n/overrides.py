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
A plural message (msgid_plural, msgstr[0], msgstr[1]...) needs every form of the language's
plural rules, each with the original's placeholders (a form may leave out `{count}`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType

from babel.messages.pofile import PoFileError, read_po

from bot.core.languages import SUPPORTED_LANGUAGES
from bot.core.widths import BUTTON_ROWS, label_width, row_limit
from bot.i18n.catalog import LOCALES_DIR, Entry, load_translations
from bot.i18n.localizer import plural_rule
from bot.i18n.markup import (
    TemplateError,
    fields_match,
    parse,
    placeholders,
    tags,
    tags_balanced,
)

Tables = Mapping[str, Mapping[str, Entry]]  # language -> msgid -> the operator's text (forms)

SHOWN_MSGID = 60  # characters of a msgid quoted in an error line
PO_KEYWORD = re.compile(r"msgctxt|msgid|msgid_plural|msgstr(\[\d+\])?")
PO_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')


class OverrideError(ValueError):
    """An override that cannot be used; `str()` is the one line for the operator."""


@lru_cache(maxsize=1)
def shipped_messages(template: Path = LOCALES_DIR / "bot.pot") -> Mapping[str, str | None]:
    """The msgids the bot uses (the extracted template shipped with this version): each
    singular msgid -> its msgid_plural, or None for a message without plural forms."""
    with template.open("rb") as fh:
        catalog = read_po(fh)
    known: dict[str, str | None] = {}
    for m in catalog:
        if isinstance(m.id, str) and m.id:
            known[m.id] = None
        elif isinstance(m.id, tuple | list) and m.id:
            known[str(m.id[0])] = str(m.id[1])
    return MappingProxyType(known)


def load_overrides(directory: Path) -> Tables:
    """language -> msgid -> text for every `<lang>.po` in `directory`; OverrideError if any
    file or entry is unusable. Files that are not `.po` are ignored (a README may sit there)."""
    if not directory.is_dir():
        raise OverrideError(f"{directory} is not a directory")
    tables: dict[str, Mapping[str, str]] = {}
    for path in sorted(directory.glob("*.po")):
        lang = path.stem.lower()
        if lang not in SUPPORTED_LANGUAGES:
            raise OverrideError(
                f"{path.name}: {path.stem!r} is not one of the bot's languages "
                f"({', '.join(SUPPORTED_LANGUAGES)}); name the files like es.po"
            )
        tables[lang] = MappingProxyType(read_overrides(path, lang))
    return MappingProxyType(tables)


def read_overrides(path: Path, lang: str) -> dict[str, Entry]:
    try:
        _check_syntax(path)
        with path.open("rb") as fh:
            catalog = read_po(fh, locale=lang, abort_invalid=True)
    except OverrideError:
        raise
    except (PoFileError, OSError, ValueError, UnicodeDecodeError) as exc:
        raise OverrideError(f"{path.name} cannot be read as a .po file: {exc}") from None
    known = shipped_messages()
    table: dict[str, Entry] = {}
    for message in catalog:
        if not message.id or message.fuzzy or not any(_forms(message.string)):
            continue
        where = f"{path.name} line {message.lineno}"
        msgid = message.id if isinstance(message.id, str) else str(message.id[0])
        problem = _entry_problem(message.id, message.string, known, lang)
        if problem is not None:
            raise OverrideError(f"{where}: {problem} (message {_quoted(msgid)})")
        string = message.string
        table[msgid] = string if isinstance(string, str) else tuple(_forms(string))
    return table


def _check_syntax(path: Path) -> None:
    """OverrideError naming the first line that is not .po syntax. Babel's reader is lenient:
    it reads an unterminated string by dropping its last character and goes on, so the
    entry's msgid silently changes and the operator is told it is "not one of the bot's
    messages" instead of where the quote is missing."""
    text = path.read_bytes().decode("utf-8")
    for number, line in enumerate(text.splitlines(), start=1):
        problem = _line_problem(line.strip())
        if problem is not None:
            raise OverrideError(f"{path.name} line {number}: syntax error: {problem}")


def _line_problem(line: str) -> str | None:
    """What makes one stripped line of a .po file invalid, or None."""
    if not line or line.startswith("#"):
        return None
    keyword, quote, rest = line.partition('"')
    keyword, string = keyword.strip(), quote + rest
    if keyword and not PO_KEYWORD.fullmatch(keyword):
        return f"{keyword[:20]!r} is not msgid, msgid_plural, msgstr or msgctxt"
    if not quote:
        return "a quoted string should follow"
    closed = PO_STRING.match(string)
    if closed is None:
        return 'unterminated string (the closing " is missing)'
    if string[closed.end() :].strip():
        return 'text after the closing quote (a quote inside the text is written \\")'
    return None


def _forms(string: object) -> list[str]:
    return [string] if isinstance(string, str) else [str(form) for form in string or ()]


def _entry_problem(
    msgid: object, string: object, known: Mapping[str, str | None], lang: str
) -> str | None:
    """What is wrong with this override entry, or None."""
    singular = msgid if isinstance(msgid, str) else str(msgid[0])  # type: ignore[index]
    if singular not in known:
        return "not one of the bot's messages: copy the msgid exactly from locales/bot.pot"
    plural = known[singular]
    if plural is None:
        if not isinstance(string, str):
            return "the original has no plural forms: write one msgstr"
        return _problem(singular, string) or _width_problem(singular, string)
    forms = _forms(string)
    wanted = plural_rule(lang)[0]
    if isinstance(string, str) or len(forms) != wanted or not all(forms):
        return (
            f"a plural message needs msgid_plural and {wanted} forms (msgstr[0] to "
            f"msgstr[{wanted - 1}]), as in locales/{lang}/LC_MESSAGES/bot.po"
        )
    return next((p for form in forms if (p := _problem(plural, form, plural=True))), None)


def _problem(msgid: str, text: str, plural: bool = False) -> str | None:
    """What is wrong with overriding `msgid` by `text`, or None."""
    try:
        matches = fields_match(text, msgid, plural)
    except TemplateError as exc:
        return f"the text is malformed ({exc}); a literal brace is written {{{{ or }}}}"
    if not matches:
        mine, original = placeholders(text), placeholders(msgid)
        return (
            f"placeholders {_names(mine)} differ from the original's {_names(original)}; "
            "keep every {name} of the msgid, spelled the same"
        )
    if sorted(tags(text)) != sorted(tags(msgid)) or not tags_balanced(text):
        return "its <b>/<i> tags differ from the original's or are not balanced"
    return None


def _width_problem(msgid: str, text: str) -> str | None:
    """Whether a button label's override is too wide for a phone (bot/core/widths.py), or None.
    A label with {placeholders} keeps their room: its own words may be no wider than the
    widest shipped wording of the label."""
    buttons = BUTTON_ROWS.get(msgid)
    if buttons is None:
        return None
    limit = row_limit(buttons)
    where = "a full-width button" if buttons == 1 else f"a button in a row of {buttons}"
    if not placeholders(msgid):
        if label_width(text) <= limit:
            return None
        return (
            f"the button label is {label_width(text):g} characters wide; {where} shows "
            f"{limit:g} on a phone, Telegram cuts the rest"
        )
    room = max(_words_width(wording) for wording in _shipped_wordings(msgid))
    if _words_width(text) <= room:
        return None
    return (
        f"the button label's words are {_words_width(text):g} characters wide; {where} shows "
        f"{limit:g} on a phone and its values need the rest: keep the words to {room:g}"
    )


def _words_width(template: str) -> float:
    return label_width("".join(literal for literal, _ in parse(template)))


def _shipped_wordings(msgid: str) -> list[str]:
    """The msgid and its translation in every shipped catalog."""
    wordings = [msgid]
    for lang in SUPPORTED_LANGUAGES:
        entry = load_translations(lang).get(msgid)
        if isinstance(entry, str):
            wordings.append(entry)
    return wordings


def _names(names: frozenset[str]) -> str:
    return ", ".join(f"{{{n}}}" for n in sorted(names)) if names else "(none)"


def _quoted(msgid: str) -> str:
    one_line = " ".join(msgid.split())
    shown = one_line if len(one_line) <= SHOWN_MSGID else one_line[: SHOWN_MSGID - 1] + "…"
    return repr(shown)
