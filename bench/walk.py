"""`python -m bench.walk`: the files one booking's life passes through (issue 17), counted by
running the code rather than by reading it.

The walk is the one issue 17 names: booked, moved at the business, told, reminded. It is the
suite's own test of that story (`test_a_booking_moved_at_the_business_is_announced_with_the_new_
time_and_reminded_then`, in tests/ledger), run in-process under a profile hook that records each
`bot/` file a function of which runs while the story is at one of its steps:

- booked: the ledger's write, commit and tell as the Confirm tap calls them, and whatever they
  start (a listener's task inherits the step through its context);
- moved and told: one reconcile scan and the notice it sends;
- reminded: one reminder scan and the reminder it sends.

The customer's conversation before Confirm is not the booking's life and is not counted. The
same file runs on an older checkout (`--root`) to count the walk before a change: it finds the
ledger wherever that checkout keeps it. Prints a table; asserts nothing.
"""

from __future__ import annotations

import argparse
import functools
import importlib
import inspect
import os
import sys
import threading
from collections import defaultdict
from collections.abc import Callable
from contextvars import ContextVar
from pathlib import Path
from types import FrameType
from typing import Any

STORY = "test_a_booking_moved_at_the_business_is_announced_with_the_new_time_and_reminded_then"
LEDGER_HOMES = ("bot.followup.ledger", "bot.booking.ledger")  # today's, before issue 17
STEPS: dict[str, tuple[tuple[str, ...], str, tuple[str, ...]]] = {
    # step: (modules to look in, class, its methods that are the step)
    "booked": (LEDGER_HOMES, "Ledger", ("write", "commit", "tell")),
    "moved and told": (("tests.reminders.harness",), "OpsBot", ("reconcile",)),
    "reminded": (("tests.reminders.harness",), "OpsBot", ("scan",)),
}

_step: ContextVar[str | None] = ContextVar("walk_step", default=None)


class Walk:
    """A pytest plugin: wraps the steps' methods, records the files that run inside them."""

    def __init__(self, root: Path) -> None:
        self.bot_dir = str(root / "bot") + os.sep
        self.root = root
        self.seen: dict[str, set[str]] = defaultdict(set)

    def pytest_runtest_setup(self) -> None:
        for step, (homes, cls_name, methods) in STEPS.items():
            cls = getattr(_first_module(homes, self.root), cls_name)
            for name in methods:
                setattr(cls, name, _in_step(step, getattr(cls, name)))
        sys.setprofile(self._profile)
        threading.setprofile(self._profile)

    def pytest_runtest_teardown(self) -> None:
        sys.setprofile(None)
        threading.setprofile(None)  # type: ignore[arg-type]

    def _profile(self, frame: FrameType, event: str, _arg: Any) -> None:
        if event != "call" or (step := _step.get()) is None:
            return
        path = frame.f_code.co_filename
        if path.startswith(self.bot_dir):
            self.seen[step].add(os.path.relpath(path, self.root))


def _first_module(names: tuple[str, ...], root: Path) -> Any:
    """The first of `names` that this checkout has (an editable install of another checkout
    may offer the others: only a file under `root` counts)."""
    for name in names:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError:
            continue
        if Path(module.__file__ or "").resolve().is_relative_to(root):
            return module
    raise SystemExit(f"none of {', '.join(names)} in {root}")


def _in_step(step: str, method: Callable[..., Any]) -> Callable[..., Any]:
    if inspect.iscoroutinefunction(method):

        @functools.wraps(method)
        async def stepped_async(*args: Any, **kwargs: Any) -> Any:
            token = _step.set(step)
            try:
                return await method(*args, **kwargs)
            finally:
                _step.reset(token)

        return stepped_async

    @functools.wraps(method)
    def stepped(*args: Any, **kwargs: Any) -> Any:
        token = _step.set(step)
        try:
            return method(*args, **kwargs)
        finally:
            _step.reset(token)

    return stepped


def report(walk: Walk) -> str:
    every = sorted(set().union(*walk.seen.values()))
    folders = sorted({str(Path(f).parent) for f in every})
    lines = [
        f"# One booking's life in {walk.root}",
        "",
        f"{len(every)} files in {len(folders)} folders: {', '.join(folders)}",
        "",
        "| step | files |",
        "|---|---|",
    ]
    for step in STEPS:
        files = sorted(walk.seen.get(step, ()))
        lines.append(f"| {step} ({len(files)}) | {', '.join(files)} |")
    telegram = [f for f in every if f.startswith(os.path.join("bot", "telegram"))]
    lines += ["", f"in bot/telegram: {', '.join(telegram) or 'none'}"]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.walk", description=__doc__)
    parser.add_argument("--root", type=Path, default=Path.cwd(), help="the checkout to walk")
    args = parser.parse_args(argv)
    root = args.root.resolve()
    sys.path.insert(0, str(root))
    os.chdir(root)
    import pytest

    walk = Walk(root)
    code = pytest.main(
        ["-q", "-p", "no:cacheprovider", "-k", STORY, "tests/ledger"], plugins=[walk]
    )
    print(report(walk))
    return int(code)


if __name__ == "__main__":
    raise SystemExit(main())
