"""`python -m bot.ops.demo` driven through a pipe, as a newcomer would type: a whole booking, then
My bookings and a cancellation, with no credentials and no network beyond loopback."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from datetime import datetime
from pathlib import Path

import pytest

from tests.clock import MONDAY, pinned_env
from tests.fakes.bot_api import WAIT

ROOT = Path(__file__).resolve().parents[2]
CHOICE_RE = re.compile(r"\[(\d+)\] ([^\[\n]*?)(?=\s{2}\[|\n|$)")
PROMPT = "> "


class Demo:
    """The demo as a subprocess: read until its prompt, answer, repeat."""

    def __init__(self, *args: str, cwd: Path, at: datetime = MONDAY):
        # The demo's sandbox and bot both run at `at`.
        env = pinned_env(os.environ, at)
        env.update(PYTHONPATH=str(ROOT), PYTHONIOENCODING="utf-8")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bot.ops.demo", *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=cwd,
            env=env,
            text=True,
            encoding="utf-8",
            bufsize=0,
        )
        self.output = ""
        self._lock = threading.Lock()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.screen = ""

    def _read(self) -> None:
        assert self.process.stdout is not None
        while chunk := self.process.stdout.read(1):
            with self._lock:
                self.output += chunk

    def wait_prompt(self, within: float = WAIT) -> str:
        """Everything printed since the last answer, once the prompt shows again."""
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            with self._lock:
                if self.output.endswith(PROMPT):
                    self.screen, self.output = self.output[: -len(PROMPT)], ""
                    return self.screen
            if self.process.poll() is not None:
                break
            time.sleep(0.01)
        raise AssertionError(f"no prompt; output so far:\n{self.output}")

    def choices(self) -> list[tuple[int, str]]:
        return [(int(n), label.strip()) for n, label in CHOICE_RE.findall(self.screen)]

    def choose(self, pattern: str) -> str:
        """Type the number of the first choice whose label matches `pattern`."""
        for number, label in self.choices():
            if re.search(pattern, label):
                self.type(str(number))
                return label
        raise AssertionError(f"no choice matching {pattern!r} in:\n{self.screen}")

    def send(self, line: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()

    def type(self, line: str) -> str:
        self.send(line)
        return self.wait_prompt()

    def close(self) -> tuple[int, str, str]:
        assert self.process.stdin is not None
        self.process.stdin.close()  # end of input: the demo says goodbye and stops the sandbox
        code = self.process.wait(timeout=30)
        self._reader.join(timeout=5)
        assert self.process.stderr is not None
        return code, self.output, self.process.stderr.read()


@pytest.fixture
def demo(tmp_path: Path):
    running = Demo(cwd=tmp_path)
    yield running
    if running.process.poll() is None:
        running.process.kill()
        running.process.wait()


def test_a_newcomer_books_and_cancels_in_the_demo(demo: Demo) -> None:
    welcome = demo.wait_prompt()
    assert "Welcome" in welcome

    demo.choose("Book an appointment")
    demo.choose("Madrid")
    demo.choose(r"check-up")
    demo.choose(r"^\d{1,2}$")  # the first bookable day
    picked = demo.choose(r"^\d{1,2}:\d{2}")
    assert "name" in demo.screen.lower()
    demo.type("Ana <García>")
    demo.type("ana@example.com")
    assert "Ana <García>" in demo.screen  # plain text in a terminal: shown as typed
    demo.choose("Confirm")

    confirmation = demo.screen
    assert "Booked" in confirmation and picked in confirmation
    [ics] = re.findall(r"\[file\] (\S+\.ics)", confirmation)
    calendar = Path(ics).read_text(encoding="utf-8")
    assert "BEGIN:VEVENT" in calendar and "Madrid" in calendar

    demo.choose("My appointments")
    assert "check-up" in demo.screen
    demo.choose("check-up")
    demo.choose("Cancel appointment")
    demo.choose("Yes")
    assert "cancelled" in demo.screen.lower()

    code, rest, errors = demo.close()
    assert code == 0
    assert "Bye." in rest
    assert "Traceback" not in errors


def test_the_demo_speaks_the_chosen_language(tmp_path: Path) -> None:
    demo = Demo("--lang", "it", cwd=tmp_path)
    try:
        demo.wait_prompt()
        demo.choose("Prenota")
        assert "Indietro" in demo.screen and "Back" not in demo.screen
        demo.send("/quit")
    except AssertionError:
        demo.process.kill()
        raise
    code, _, errors = demo.close()
    assert code == 0 and "Traceback" not in errors


@pytest.mark.parametrize("leave", ["/quit", "end of input"])
def test_the_demo_leaves_no_temporary_folder_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, leave: str
) -> None:
    """Its log, database and calendar files live in scratch folders removed when it ends."""
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setenv("TMPDIR", str(scratch))  # where tempfile puts the demo's folders
    demo = Demo(cwd=tmp_path)
    try:
        demo.wait_prompt()
        assert any(scratch.iterdir())  # the demo is using it
        if leave == "/quit":
            demo.send("/quit")
    except AssertionError:
        demo.process.kill()
        raise
    code, _, errors = demo.close()
    assert code == 0 and "Traceback" not in errors
    assert list(scratch.iterdir()) == []
