"""The catalogs follow locales/GLOSSARY.md where a rule can be checked by a machine: the words
its "Checked by tests" table says never to use, in the messages it names.

The table is the glossary's own, so a translator reads and a test enforces the same list.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog, Message

from bot.chat.menu import NOTHING_IN_PROGRESS

GLOSSARY = Path(__file__).resolve().parents[2] / "locales" / "GLOSSARY.md"
LANGUAGES = ("en", "es", "it", "de")
# Messages only the business's staff see (the staff chat and /stats).
STAFF_FILES = frozenset({"bot/ops/staff.py", "bot/telegram/admin.py"})
# The button that leaves a step, and what the bot says after it.
LEAVE = frozenset(
    {
        "Exit",
        "OK, nothing was booked.",
        "OK, your appointment stays as it was.",
        NOTHING_IN_PROGRESS.key,
    }
)
PLACEHOLDER = re.compile(r"\{[A-Za-z_]\w*\}")


@dataclass(frozen=True)
class Rule:
    lang: str
    never: re.Pattern[str]
    instead: str
    where: str

    def __str__(self) -> str:
        return f"{self.lang}: never /{self.never.pattern}/ ({self.where}); use {self.instead}"


def rules() -> list[Rule]:
    """The rows of the glossary's "Checked by tests" table."""
    text = GLOSSARY.read_text(encoding="utf-8")
    table = text.split("## Checked by tests", 1)[1]
    found = []
    for line in table.splitlines():
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]]
        if len(cells) != 4 or cells[0] not in LANGUAGES:
            continue
        lang, never, instead, where = cells
        pattern = never.strip("`").replace("\\|", "|")
        found.append(Rule(lang, re.compile(pattern), instead, where))
    return found


def test_the_glossary_table_is_read() -> None:
    found = rules()
    assert {rule.lang for rule in found} == set(LANGUAGES)
    assert {rule.where for rule in found} <= {"customer", "leave", "all"}
    assert len(found) >= 20


def _scope(message: Message, where: str) -> bool:
    if where == "all":
        return True
    if where == "leave":
        return message.id in LEAVE
    files = {path for path, _line in message.locations}
    return not files <= STAFF_FILES


def _forms(message: Message) -> list[str]:
    string = message.string
    return [string] if isinstance(string, str) else list(string)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_no_word_the_glossary_rules_out(
    lang: str, catalogs: dict[str, Catalog], template: Catalog
) -> None:
    located = {m.id if isinstance(m.id, str) else m.id[0]: m for m in template if m.id}
    problems = []
    for rule in (r for r in rules() if r.lang == lang):
        for message in catalogs[lang]:
            if not message.id:
                continue
            singular = message.id if isinstance(message.id, str) else message.id[0]
            source = located.get(singular, message)
            if not _scope(source, rule.where):
                continue
            for form in _forms(message):
                if rule.never.search(PLACEHOLDER.sub("", form)):
                    problems.append(f"{form!r}\n    breaks: {rule}")
    assert not problems, f"{lang}:\n" + "\n".join(problems)


def test_leaving_a_step_and_cancelling_an_appointment_are_different_words(
    catalogs: dict[str, Catalog],
) -> None:
    """The leave-step button and the cancel-appointment button share no word in any
    language (en/es/it once used "Cancel"/"Cancelar"/"Annulla" for both)."""
    for lang in LANGUAGES:
        by_id = {m.id: m.string for m in catalogs[lang] if isinstance(m.id, str)}
        leave = set(re.findall(r"\w+", str(by_id["Exit"]).lower()))
        cancel = set(re.findall(r"\w+", str(by_id["🗑 Cancel appointment"]).lower()))
        assert not leave & cancel, f"{lang}: {by_id['Exit']!r} vs {by_id['🗑 Cancel appointment']!r}"
