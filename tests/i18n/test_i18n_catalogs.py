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
from babel.messages.plurals import get_plural

from bot.core.screens import Msg, Plural
from bot.i18n import localizer
from bot.i18n.markup import TemplateError, fields_match, placeholders, tags, tags_balanced

# The same keywords as the Makefile's `locales` target
# (-k Msg -k N_ -k Plural:1,2 --no-default-keywords).
KEYWORDS = {"Msg": None, "N_": None, "Plural": (1, 2)}
ROOT = Path(__file__).resolve().parents[2]
LANGUAGES = ("en", "es", "it", "de")
# Counts every plural message is rendered with: each form of every language's rules
# (Spanish and Italian "many" is 1,000,000), and the hours of the day.
COUNTS = (*range(0, 32), 100, 101, 1000, 1_000_000, 2_000_000)

Id = str | tuple[str, str]


def _ids(catalog: Catalog) -> set[Id]:
    return {m.id if isinstance(m.id, str) else tuple(m.id) for m in catalog if m.id}


def _texts(m: object) -> list[str]:
    """A message's msgid, or its msgid and msgid_plural."""
    ident = m.id  # type: ignore[attr-defined]
    return [ident] if isinstance(ident, str) else list(ident)


def _forms(m: object) -> list[str]:
    string = m.string  # type: ignore[attr-defined]
    return [string] if isinstance(string, str) else list(string)


def _extract_from_code() -> set[str]:
    with (ROOT / "babel.cfg").open() as fh:
        method_map, options_map = parse_mapping_cfg(fh)
    found = extract_from_dir(ROOT / "bot", method_map, options_map, keywords=KEYWORDS)
    return {
        message if isinstance(message, str) else tuple(message)
        for _file, _line, message, _comments, _context in found
    }


def test_template_is_current_with_the_code(template: Catalog) -> None:
    """A Msg added or changed in code without `make locales` fails here."""
    in_code = _extract_from_code()
    in_pot = _ids(template)
    assert not in_code - in_pot, f"msgids in code but not in bot.pot: {sorted(in_code - in_pot)}"
    assert not in_pot - in_code, f"stale msgids in bot.pot: {sorted(in_pot - in_code)}"


def test_template_is_not_empty(template: Catalog) -> None:
    assert "Exit" in _ids(template)
    assert ("{date} at {time}", "{date} at {time}") in _ids(template)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_plural_forms_are_babels(lang: str, catalogs: dict[str, Catalog]) -> None:
    """The catalog holds as many forms, in the order, that Babel's CLDR rules give the
    language (pinned in pyproject.toml): `make locales` keeps a .po file's old header, so a
    Babel upgrade that changes the rules fails here until the header and the forms follow."""
    rule = get_plural(lang)
    assert catalogs[lang].plural_forms == rule.plural_forms, (
        f"{lang}: set the header to Plural-Forms: {rule.plural_forms} and give every plural "
        f"message {rule.num_plurals} forms"
    )


@pytest.mark.parametrize("lang", LANGUAGES)
def test_catalog_has_exactly_the_template_msgids(
    lang: str, template: Catalog, catalogs: dict[str, Catalog]
) -> None:
    ids, expected = _ids(catalogs[lang]), _ids(template)
    assert not expected - ids, f"{lang}: not merged from bot.pot: {sorted(expected - ids)}"
    assert not ids - expected, f"{lang}: msgids no longer in bot.pot: {sorted(ids - expected)}"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_message_is_translated(lang: str, catalogs: dict[str, Catalog]) -> None:
    wanted = get_plural(lang).num_plurals
    problems = [
        f"{'fuzzy' if m.fuzzy else 'empty'}: {m.id!r}"
        for m in catalogs[lang]
        if m.id and (m.fuzzy or not all(_forms(m)))
    ]
    problems += [
        f"{len(_forms(m))} forms instead of {wanted}: {m.id!r}"
        for m in catalogs[lang]
        if m.id and not isinstance(m.id, str) and len(_forms(m)) != wanted
    ]
    assert not problems, f"{lang}: " + "\n".join(problems)


def test_msgids_are_well_formed(template: Catalog) -> None:
    problems = []
    for m in template:
        for text in _texts(m) if m.id else ():
            try:
                placeholders(text)
            except TemplateError as exc:
                problems.append(f"{text!r}: {exc}")
            if not tags_balanced(text):
                problems.append(f"{text!r}: only balanced <b>/<i> tags are allowed")
        if m.id and not isinstance(m.id, str) and not fields_match(m.id[0], m.id[1], True):
            problems.append(f"{m.id!r}: both forms need the same fields (but {{count}})")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_translations_keep_placeholders_and_tags(lang: str, catalogs: dict[str, Catalog]) -> None:
    problems = []
    for m in catalogs[lang]:
        if not m.id or m.fuzzy:  # fuzzy and empty ones fail the test above
            continue
        msgid, plural = _texts(m)[-1], not isinstance(m.id, str)
        for form in filter(None, _forms(m)):
            try:
                if not fields_match(form, msgid, plural):
                    problems.append(f"placeholders differ: {msgid!r} -> {form!r}")
            except TemplateError as exc:
                problems.append(f"malformed ({exc}): {form!r}")
            if sorted(tags(form)) != sorted(tags(msgid)) or not tags_balanced(form):
                problems.append(f"<b>/<i> tags differ or unbalanced: {msgid!r} -> {form!r}")
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
        if name == "Plural":
            calls += [(node.lineno, arg) for arg in node.args[:2]]
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
        for msg in _instances(m.id):
            html_text, plain_text = loc.render(msg, "html"), loc.render(msg, "plain")
            assert tags_balanced(html_text), html_text
            assert not tags(plain_text), plain_text
            assert "{" not in plain_text or "{{" in _texts(m)[0], plain_text
    assert not loc.missing and not loc.broken


def _instances(ident: object) -> list[Msg]:
    """The message with every placeholder filled; a plural one with each of COUNTS."""
    if isinstance(ident, str):
        return [Msg(ident, **{name: "X" for name in placeholders(ident)})]
    one, other = ident  # type: ignore[misc]
    names = placeholders(other) - {"count"}
    return [Plural(one, other, count=n, **{name: "X" for name in names}) for n in COUNTS]
