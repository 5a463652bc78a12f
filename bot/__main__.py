"""`python -m bot [run]` and the `zimun-bot` console script.

Subcommands live in `SUBCOMMANDS` (name -> function taking the parsed settings and returning an
exit code). Every problem an operator can fix (a missing variable, a wrong token) ends as one
line on stderr and a non-zero exit code, never a traceback.

- `run` (default): the bot, with long polling, or a webhook (plus GET /healthz and /metrics)
  when WEBHOOK_URL is set. With BUSINESSES_FILE, every business of the file in one process
  (business <id> at WEBHOOK_URL/<id>, or one long poll each); SIGHUP re-reads the file.
- `copy-data --to postgresql://...`: copies the SQLite database (BOT_DB_PATH, or `--from`)
  into an empty PostgreSQL database and prints what it copied (bot/store/copy.py).
- `check`: asks Telegram about the token, Zimun about the credentials (a token request and the
  branch list) and opens the database; prints one line per check and exits 0 when all pass.
  `check --deep` adds a read-only tour of the Zimun account as the bot will use it
  (bot/ops/deep_check.py): exit 0 when the bot can serve customers.

The operator's words and rules (bot/config/operator.py: BOT_CONFIG, MESSAGES_DIR...) are read
and checked before any command runs, so a broken override stops start-up with one line.

Exit codes: 0 done (including a stop by SIGINT/SIGTERM; `check`: all passed), 1 a runtime
failure at start-up (Telegram refused the token, a file could not be opened; `check`: a check
failed), 2 bad configuration.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from bot.config.businesses import load_businesses
from bot.config.settings import Settings, SettingsError, load_settings
from bot.wiring import (
    EXIT_FAILURE,
    StartupError,
    check,
    check_deep,
    install_operator,
    run,
    secrets_of,
)

EXIT_CONFIG = 2

# name -> (help, function).
SUBCOMMANDS: dict[str, tuple[str, Callable[[Settings], int]]] = {
    "run": ("run the bot (the default)", run),
    "check": ("check the Telegram token, the Zimun credentials and the database", check),
}


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bot",
        description="The Zimun booking assistant for Telegram. Settings come from the "
        "environment and .env (see .env.example).",
        epilog="python -m bot copy-data --to postgresql://... copies the SQLite database into "
        "an empty PostgreSQL database (README, PostgreSQL).",
    )
    parser.add_argument("command", nargs="?", default="run", choices=sorted(SUBCOMMANDS))
    parser.add_argument(
        "--deep",
        action="store_true",
        help="with check: also tour the Zimun account read-only, as the bot will offer it",
    )
    args = parser.parse_args(argv)
    if args.deep and args.command != "check":
        parser.error("--deep goes with check: python -m bot check --deep")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments[:1] == ["copy-data"]:  # needs neither Telegram's nor Zimun's settings
        from bot.store.copy import command as copy_data

        return copy_data(arguments[1:])
    args = parse_args(argv)
    try:
        settings = load_settings()
        # With BUSINESSES_FILE, the file is checked before anything runs (BusinessesFileError
        # is a SettingsError: one line, exit 2), and every business's secrets are kept out of
        # the logs.
        businesses = load_businesses(settings) or []
    except SettingsError as exc:
        print(f"Configuration error: {exc}", file=sys.stderr)
        return EXIT_CONFIG

    from bot.config.logs import configure_logging

    configure_logging(
        settings.LOG_LEVEL,
        settings.LOG_FORMAT,
        secrets=[*secrets_of(settings), *(s for b in businesses for s in secrets_of(b.settings))],
    )
    _, command = SUBCOMMANDS[args.command]
    if args.deep:
        command = check_deep
    try:
        install_operator(settings)
        return command(settings)
    except SettingsError as exc:
        print(f"Configuration error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except StartupError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return EXIT_FAILURE


if __name__ == "__main__":
    sys.exit(main())
