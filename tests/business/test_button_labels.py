"""bot/core/widths.BUTTON_ROWS (what an operator's rewording of a button must fit) names every
label the code puts on a button, with the most buttons of the rows it is used in: read from
the source, so a new button cannot escape the MESSAGES_DIR width check."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

from bot.core.widths import BUTTON_ROWS

BOT = Path(__file__).resolve().parents[2] / "bot"
BUTTON_CALLS = {"button", "Button"}
# Methods that put the label they are given on a button (followup.messages.Changes.rows).
BUTTON_METHODS = {"rows"}
# Built by a *_label function but shown as text: the waiting list's entries, in full.
NOT_ON_BUTTONS = {"{date} · {service} at {location}"}


def msgids(node: ast.AST) -> Iterator[str]:
    """The msgids of every Msg("...") inside `node`."""
    for inner in ast.walk(node):
        if (
            isinstance(inner, ast.Call)
            and isinstance(inner.func, ast.Name)
            and inner.func.id == "Msg"
            and inner.args
            and isinstance(inner.args[0], ast.Constant)
        ):
            yield str(inner.args[0].value)


def is_label(node: ast.AST) -> bool:
    """A button call, or where a label is built apart from it (a `label` variable, a function
    named *_label, the constant OPEN_PRIVATE_CHAT)."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        return node.func.id in BUTTON_CALLS
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        return node.func.attr in BUTTON_METHODS
    if isinstance(node, ast.Assign | ast.AnnAssign):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        return any(
            isinstance(t, ast.Name) and t.id in {"label", "OPEN_PRIVATE_CHAT"} for t in targets
        )
    return isinstance(node, ast.FunctionDef) and node.name.endswith("_label")


def labels_in_code() -> set[str]:
    found: set[str] = set()
    for path in BOT.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if is_label(node):
                found.update(msgids(node))
    return found - NOT_ON_BUTTONS


def test_every_button_label_has_its_row() -> None:
    assert labels_in_code() == set(BUTTON_ROWS)
