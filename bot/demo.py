"""`python -m bot.demo [--lang es]` (what `make demo` runs): the bot's conversation in a terminal.

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
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from bot.booking.events import Command, Customer, Event, Tap, Text
from bot.booking.screens import Button, Reply
from bot.i18n import Localizer, localizer, normalize_language
from bot.settings import SUPPORTED_LANGUAGES

QUIT = frozenset({"/quit", "/exit", "/q"})
PROMPT = "> "
RULE = "─" * 40


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
                self.buttons = [button for row in screen.buttons for button in row]
                self.say(self._choices(screen.buttons, loc))
            if screen.attachment is not None:
                path = self.downloads / Path(screen.attachment.filename).name
                path.write_bytes(screen.attachment.content)
                self.say(f"[file] {path}")
        self.out.flush()

    def _choices(self, rows: tuple[tuple[Button, ...], ...], loc: Localizer) -> str:
        number = 0
        lines = []
        for row in rows:
            cells = []
            for button in row:
                number += 1
                cells.append(f"[{number}] {loc.render(button.label, 'plain')}")
            lines.append("  ".join(cells))
        return "\n".join(lines)

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
    """The demo loop; `read_line` returns "" at end of input, like `readline`.

    Input is read on the main thread between engine calls (each run on one asyncio.Runner), so
    Ctrl-C interrupts a waiting prompt at once instead of a reader thread nobody can stop.
    """
    from bot.booking.engine import Conversation
    from bot.storage import Storage
    from bot.zimun.client import ZimunClient
    from sandbox.config import SandboxConfig
    from sandbox.testing import serve_sandbox

    downloads = downloads or Path(tempfile.mkdtemp(prefix="zimun-demo-"))
    terminal = Terminal(out, downloads)
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
                f"Zimun booking demo (sandbox at {sandbox.root_url}). Type a number to choose, "
                "/help for help, /quit to leave."
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
    terminal.say("Bye.")
    out.flush()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.demo", description=__doc__.split("\n")[0])
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
