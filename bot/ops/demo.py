"""`python -m bot.ops.demo [--lang es]` (what `make demo` runs): the bot's conversation in a
terminal.

It starts the local Zimun sandbox in a background thread and talks to it through the real API
client, storage and conversation engine, so a newcomer can book, reschedule and cancel with no
Telegram token, no Zimun credentials and no network. Screens print as plain text, buttons as
numbered choices; type a number to press one, `/command` for a command, anything else as a
text answer; `/quit` or end of input (Ctrl-D) leaves.

Input may be a pipe, which is how the tests drive it: every prompt ends with a newline-free
"> " and every reply is flushed before the next line is read.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from bot.config.logs import configure_logging
from bot.core.events import Command, Customer, Event, Tap, Text
from bot.core.languages import SUPPORTED_LANGUAGES
from bot.core.payload import Action, decode
from bot.core.screens import Button, Reply
from bot.i18n import Localizer, localizer, normalize_language

QUIT = frozenset({"/quit", "/exit", "/q"})
PROMPT = "> "
RULE = "─" * 40


def _inert(button: Button) -> bool:
    payload = decode(button.data)
    return payload is not None and payload.action in (Action.NOOP, Action.DAY_UNAVAILABLE)


@dataclass
class Terminal:
    """What the customer sees and how their typing becomes events."""

    out: TextIO
    downloads: Path
    buttons: list[Button] = field(default_factory=list)

    def show(self, reply: Reply) -> None:
        loc = localizer(reply.language)
        if reply.toast is not None:
            self.say(f"({loc.render(reply.toast, 'plain')})")
        for screen in reply.screens:
            self.say(RULE)
            self.say(loc.render_body(screen, "plain"))
            if screen.buttons:
                self.buttons = []
                self.say(self._choices(screen.buttons, loc))
            if screen.attachment is not None:
                path = self.downloads / Path(screen.attachment.filename).name
                path.write_bytes(screen.attachment.content)
                self.say(f"[file] {path}")
        self.out.flush()

    def _choices(self, rows: tuple[tuple[Button, ...], ...], loc: Localizer) -> str:
        """Numbered choices, a line per keyboard row; inert cells (calendar headings, blank
        days, days that can't be booked) are shown without a number."""
        lines = []
        for row in rows:
            cells = []
            for button in row:
                label = loc.render(button.label, "plain")
                if _inert(button):
                    cells.append(f"{label:>4}" if label.strip() else "    ")
                    continue
                self.buttons.append(button)
                cells.append(f"[{len(self.buttons)}] {label}")
            lines.append("  ".join(cells).rstrip())
        return "\n".join(line for line in lines if line)

    def event_for(self, line: str) -> Event | None:
        """A number taps that button; "/cmd arg" is a command; other text is an answer."""
        if line.isdigit():
            index = int(line) - 1
            if 0 <= index < len(self.buttons):
                return Tap(self.buttons[index].data)
            self.say(f"(no choice {line}: pick 1-{len(self.buttons)})" if self.buttons else "")
            return None
        if line.startswith("/"):
            head, _, arg = line.partition(" ")
            return Command(head[1:].lower(), arg.strip())
        return Text(line)

    def say(self, text: str) -> None:
        if text:
            print(text, file=self.out)


def run_demo(
    language: str | None,
    read_line: Callable[[], str],
    out: TextIO,
    downloads: Path | None = None,
) -> int:
    """The demo in a scratch folder (its log and the calendar files it saves) that is removed
    when it ends, however it ends, unless the caller gives `downloads`."""
    if downloads is not None:
        return _demo_loop(language, read_line, out, downloads)
    with tempfile.TemporaryDirectory(prefix="zimun-demo-") as scratch:
        return _demo_loop(language, read_line, out, Path(scratch))


def _demo_loop(
    language: str | None, read_line: Callable[[], str], out: TextIO, downloads: Path
) -> int:
    """The demo loop; `read_line` returns "" at end of input, like `readline`.

    Input is read on the main thread between engine calls (each run on one asyncio.Runner), so
    Ctrl-C interrupts a waiting prompt at once instead of a reader thread nobody can stop.
    """
    from bot.chat.engine import Conversation
    from bot.store.storage import Storage
    from bot.zimun.client import ZimunClient
    from sandbox.config import SandboxConfig
    from sandbox.testing import serve_sandbox

    terminal = Terminal(out, downloads)
    log_path = downloads / "demo.log"
    log_file = log_path.open("a", encoding="utf-8")  # the terminal is the customer's screen
    log_handler = configure_logging("INFO", stream=log_file)
    default_language = normalize_language(language, "en")
    customer = Customer(user_id=1, chat_id=1, first_name="Demo", language_code=language)
    with (
        serve_sandbox(SandboxConfig()) as sandbox,
        tempfile.TemporaryDirectory(prefix="zimun-demo-db-") as data,
        asyncio.Runner() as runner,
    ):
        storage = Storage(str(Path(data) / "demo.db"))
        client = ZimunClient(
            base_url=sandbox.base_url,
            token_url=sandbox.token_url,
            client_id=sandbox.client_id,
            client_secret=sandbox.client_secret,
        )
        try:
            conversation = Conversation(client, storage, default_language=default_language)
            terminal.say(
                f"Zimun booking demo (sandbox at {sandbox.root_url}, log in {log_path}).\n"
                "Type a number to choose, /help for help, /quit to leave."
            )
            terminal.show(runner.run(conversation.handle(customer, Command("start"))))
            while True:
                out.write(PROMPT)
                out.flush()
                line = read_line()
                if not line:  # end of input
                    out.write("\n")
                    break
                line = line.strip()
                if line.lower() in QUIT:
                    break
                event = terminal.event_for(line) if line else None
                if event is not None:
                    terminal.show(runner.run(conversation.handle(customer, event)))
        finally:
            runner.run(client.aclose())
            storage.close()
            logging.getLogger().removeHandler(log_handler)
            log_file.close()
    terminal.say("Bye.")
    out.flush()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bot.ops.demo", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "--lang",
        choices=SUPPORTED_LANGUAGES,
        help="the customer's Telegram language (default: en)",
    )
    args = parser.parse_args(argv)
    try:
        return run_demo(args.lang, sys.stdin.readline, sys.stdout)
    except KeyboardInterrupt:
        print("\nBye.")
        return 0


if __name__ == "__main__":
    sys.exit(main())
