"""Shared paths and catalog readers for the i18n tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
LOCALES = ROOT / "locales"
LANGUAGES = ("en", "es", "it", "de")


def read_catalog(path: Path, locale: str | None = None) -> Catalog:
    with path.open("rb") as fh:
        return read_po(fh, locale=locale, domain="bot", ignore_obsolete=True)


@pytest.fixture(scope="session")
def template() -> Catalog:
    return read_catalog(LOCALES / "bot.pot")


@pytest.fixture(scope="session")
def catalogs() -> dict[str, Catalog]:
    return {
        lang: read_catalog(LOCALES / lang / "LC_MESSAGES" / "bot.po", lang) for lang in LANGUAGES
    }
