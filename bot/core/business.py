"""The operator's words: the business's name, its own texts per language, and its languages.

Texts are the operator's, not the translators': they are shown as written (escaped, never read
as markup), in the customer's language when the operator wrote one for it, else in the default
language (the fallback), else not at all (the shipped wording stays). `words.py` puts them on
screens; the loader (bot/config/operator.py) fills this from the settings and BOT_CONFIG.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

from bot.core.languages import SUPPORTED_LANGUAGES, pick_language

TextKind = Literal["welcome", "help", "contact"]
TEXT_KINDS: tuple[TextKind, ...] = ("welcome", "help", "contact")


def _frozen(texts: Mapping[str, Mapping[str, str]]) -> Mapping[str, Mapping[str, str]]:
    return MappingProxyType({kind: MappingProxyType(dict(by)) for kind, by in texts.items()})


@dataclass(frozen=True)
class Business:
    name: str | None = None
    texts: Mapping[str, Mapping[str, str]] = field(default_factory=dict)  # kind -> lang -> text
    languages: tuple[str, ...] = SUPPORTED_LANGUAGES
    default_language: str = "en"

    def __post_init__(self) -> None:
        object.__setattr__(self, "texts", _frozen(self.texts))
        if self.default_language not in self.languages:
            raise ValueError(f"{self.default_language!r} is not one of {self.languages}")

    def text(self, kind: TextKind, lang: str) -> str | None:
        """The operator's text in `lang`, else in the default language; None if neither."""
        by_language = self.texts.get(kind, {})
        return by_language.get(lang) or by_language.get(self.default_language) or None

    def language(self, *candidates: str | None) -> str:
        """A customer's language by the one rule (bot.core.languages.pick_language): the first
        of `candidates` (the stored choice, the booking's, Telegram's) this business offers,
        else its default."""
        return pick_language(*candidates, offered=self.languages, default=self.default_language)
