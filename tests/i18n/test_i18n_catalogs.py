"""The catalogs are complete, well-formed and current with the code.

A failure message lists every offending msgid at once, so a translator fixes them in one pass.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg

from bot.booking.screens import Msg
from bot.i18n import localizer
from bot.i18n.markup import TemplateError, placeholders, tags, tags_balanced

# The same keywords as the Makefile's `locales` target (-k Msg -k N_ --no-default-keywords).
KEYWORDS = {"Msg": None, "N_": None}
ROOT = Path(__file__).resolve().parents[2]
LANGUAGES = ("en", "es", "it", "de")


def _ids(catalog: Catalog) -> set[str]:
    return {m.id for m in catalog if m.id}


def _extract_from_code() -> set[str]:
    with (ROOT / "babel.cfg").open() as fh:
        method_map, options_map = parse_mapping_cfg(fh)
    found = extract_from_dir(ROOT / "bot", method_map, options_map, keywords=KEYWORDS)
    return {message for _file, _line, message, _comments, _context in found}


def test_template_is_current_with_the_code(template: Catalog) -> None:
    """A Msg added or changed in code without `make locales` fails here."""
    in_code = _extract_from_code()
    in_pot = _ids(template)
    assert not in_code - in_pot, f"msgids in code but not in bot.pot: {sorted(in_code - in_pot)}"
    assert not in_pot - in_code, f"stale msgids in bot.pot: {sorted(in_pot - in_code)}"


def test_template_is_not_empty(template: Catalog) -> None:
    assert "{date} at {time}" in _ids(template)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_catalog_has_exactly_the_template_msgids(
    lang: str, template: Catalog, catalogs: dict[str, Catalog]
) -> None:
    ids, expected = _ids(catalogs[lang]), _ids(template)
    assert not expected - ids, f"{lang}: not merged from bot.pot: {sorted(expected - ids)}"
    assert not ids - expected, f"{lang}: msgids no longer in bot.pot: {sorted(ids - expected)}"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_message_is_translated(lang: str, catalogs: dict[str, Catalog]) -> None:
    problems = [
        f"{'fuzzy' if m.fuzzy else 'empty'}: {m.id!r}"
        for m in catalogs[lang]
        if m.id and (m.fuzzy or not m.string)
    ]
    assert not problems, f"{lang}: " + "\n".join(problems)


def test_msgids_are_well_formed(template: Catalog) -> None:
    problems = []
    for m in template:
        if not m.id:
            continue
        try:
            placeholders(m.id)
        except TemplateError as exc:
            problems.append(f"{m.id!r}: {exc}")
        if not tags_balanced(m.id):
            problems.append(f"{m.id!r}: only balanced <b>/<i> tags are allowed")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_translations_keep_placeholders_and_tags(lang: str, catalogs: dict[str, Catalog]) -> None:
    problems = []
    for m in catalogs[lang]:
        if not m.id or not m.string or m.fuzzy:  # fuzzy ones fail the test above
            continue
        try:
            if placeholders(m.string) != placeholders(m.id):
                problems.append(f"placeholders differ: {m.id!r} -> {m.string!r}")
        except TemplateError as exc:
            problems.append(f"malformed ({exc}): {m.string!r}")
        if sorted(tags(m.string)) != sorted(tags(m.id)) or not tags_balanced(m.string):
            problems.append(f"<b>/<i> tags differ or unbalanced: {m.id!r} -> {m.string!r}")
    assert not problems, f"{lang}:\n" + "\n".join(problems)


def _msg_calls(path: Path) -> list[tuple[int, ast.expr]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    calls = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or not node.args:
            continue
        func = node.func
        name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
        if name == "Msg":
            calls.append((node.lineno, node.args[0]))
    return calls


def test_msg_keys_are_extractable() -> None:
    """f-strings, concatenation, `.format()` or conditionals as a Msg key never reach the
    catalog (pybabel skips them), so they would stay English forever. A variable is allowed:
    its strings must be marked with N_() where they are defined."""
    problems = []
    for path in sorted((ROOT / "bot").rglob("*.py")):
        for lineno, arg in _msg_calls(path):
            literal = isinstance(arg, ast.Constant) and isinstance(arg.value, str)
            if not (literal or isinstance(arg, ast.Name | ast.Attribute | ast.Subscript)):
                problems.append(f"{path.relative_to(ROOT)}:{lineno}: {ast.unparse(arg)}")
    assert not problems, "Msg keys pybabel cannot extract:\n" + "\n".join(problems)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_message_renders_strictly_in_both_markups(lang: str, template: Catalog) -> None:
    """What the adapters will do with each message: no fallback, no leftover braces or tags."""
    loc = localizer(lang, strict=True)
    for m in template:
        if not m.id:
            continue
        msg = Msg(m.id, **{name: "X" for name in placeholders(m.id)})
        html_text, plain_text = loc.render(msg, "html"), loc.render(msg, "plain")
        assert tags_balanced(html_text), html_text
        assert not tags(plain_text), plain_text
        assert "{" not in plain_text or "{{" in m.id, plain_text
    assert not loc.missing and not loc.broken
