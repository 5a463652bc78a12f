"""Logging for the bot process: one handler on stderr, nothing personal or secret in it.

Secrets leak into logs through other people's messages: httpx logs every request URL at INFO,
and a Bot API URL contains the bot token; exception messages may quote an email the API
rejected. So the formatter scrubs the finished line (traceback included) of the configured
secrets, of anything shaped like a Telegram token, and of email addresses, whatever logger
produced it; and httpx/httpcore are kept at WARNING.

Names are harder: nothing marks a string as a name. Our own code never logs customer text
(tests run a whole booking at DEBUG and look), and python-telegram-bot's DEBUG lines, which
print every Bot API call's parameters and every update (message texts, names, typed emails),
keep their wording but lose those payloads (`TelegramPayloadFilter`).

With LOG_FORMAT=json each record is one JSON object; structured fields a record carries in
`extra={"fields": {...}}` (the per-update line of bot.telegram.accesslog) become keys of it.

A process serving many businesses names the business each line is about: `log_business(id)`,
called in the task that starts a business, is inherited by every task of its Application, and
its lines read "bot.updates: [studio-north] update ..." (JSON: a "business" key).
"""

from __future__ import annotations

import base64
import json
import logging
import re
import sys
from collections.abc import Iterable
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import TextIO
from urllib.parse import quote, quote_plus

TELEGRAM_TOKEN_RE = re.compile(r"\d{5,}:[A-Za-z0-9_-]{30,}")
EMAIL_RE = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
NOISY_LOGGERS = ("httpx", "httpcore", "apscheduler", "tornado.access")
MIN_ENCODED_SECRET = 8  # characters a secret needs before its encoded forms are scrubbed too
MANY_FORMS = 256  # secret forms past which one indexed pass beats a replace per form
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class Scrubber:
    """Replaces secrets (in every form they travel in: see `secret_forms`), tokens and email
    addresses in text.

    A few secrets are replaced one `str.replace` each. A process serving many businesses
    (BUSINESSES_FILE) has thousands of forms, and a replace per form cost 0.7 ms a log line at
    1,000 businesses, more than a sixth of an update's CPU; past MANY_FORMS the text is instead
    scanned once, looking each position's first few characters up in an index of the forms,
    whatever their number (tens of microseconds a line)."""

    def __init__(self, secrets: Iterable[str] = ()):
        forms = {form for s in secrets if s and len(s) >= 4 for form in secret_forms(s)}
        self._secrets = sorted(forms, key=len, reverse=True)
        self._width = min((len(form) for form in forms), default=0)
        self._index: dict[str, tuple[str, ...]] | None = None
        if len(forms) > MANY_FORMS:
            index: dict[str, list[str]] = {}
            for form in self._secrets:  # longest first, in each entry too
                index.setdefault(form[: self._width], []).append(form)
            self._index = {head: tuple(found) for head, found in index.items()}

    def __call__(self, text: str) -> str:
        if self._index is None:
            for secret in self._secrets:
                text = text.replace(secret, "[secret]")
        else:
            text = self._scan(text, self._index)
        text = TELEGRAM_TOKEN_RE.sub("[token]", text)
        return EMAIL_RE.sub("[email]", text)

    def _scan(self, text: str, index: dict[str, tuple[str, ...]]) -> str:
        """Every occurrence of every form, found in one pass and replaced; occurrences that
        overlap are replaced as one, so no piece of either is left."""
        width = self._width
        runs: list[list[int]] = []  # [start, end) of each stretch to replace, in order
        for i in range(len(text) - width + 1):
            found = index.get(text[i : i + width])
            if found is None:
                continue
            for form in found:
                if text.startswith(form, i):
                    if runs and i < runs[-1][1]:
                        runs[-1][1] = max(runs[-1][1], i + len(form))
                    else:
                        runs.append([i, i + len(form)])
                    break
        if not runs:
            return text
        pieces, last = [], 0
        for start, end in runs:
            pieces += [text[last:start], "[secret]"]
            last = end
        pieces.append(text[last:])
        return "".join(pieces)


def secret_forms(secret: str) -> set[str]:
    """`secret` as it may appear in a server's echo of our request: raw, URL-encoded (a form
    body), and inside base64 (the Basic Authorization header is base64 of "id:secret"). A
    secret inside a longer base64 text is encoded differently at each of the three byte
    offsets it may start at, so each offset gives the characters that depend on the secret
    alone; those are replaced, whatever came before or after it. Short secrets only raw: a
    few base64 characters would match unrelated text."""
    forms = {secret, quote(secret), quote(secret, safe=""), quote_plus(secret, safe="")}
    if len(secret) < MIN_ENCODED_SECRET:
        return forms
    data = secret.encode()
    for offset in range(3):
        total = offset + len(data)
        start, end = -(-8 * offset // 6), 8 * total // 6  # chars of the secret's bits only
        for encode in (base64.b64encode, base64.urlsafe_b64encode):
            core = encode(b"\0" * offset + data).decode("ascii")[start:end]
            forms |= {core, core.replace("/", "\\/")}  # also as JSON may escape it
    return forms


class TelegramPayloadFilter(logging.Filter):
    """python-telegram-bot logs Bot API parameters, results and whole updates at DEBUG; keep
    the line (the endpoint name, an update id) and replace anything structured by a marker."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name.startswith("telegram") and record.args:
            args = record.args if isinstance(record.args, tuple) else (record.args,)
            record.args = tuple(_harmless(arg) for arg in args)
        return True


def _harmless(arg: object) -> object:
    if isinstance(arg, str | int | float | bool) or arg is None:
        return arg
    if isinstance(arg, type):
        return arg.__name__
    update_id = getattr(arg, "update_id", None)
    if isinstance(update_id, int):
        return f"<update {update_id}>"
    return "<payload>"


_business: ContextVar[str | None] = ContextVar("log_business", default=None)


def log_business(business_id: str | None) -> None:
    """From now on, this task's lines (and those of the tasks it creates) name `business_id`."""
    _business.set(business_id or None)


class BusinessFilter(logging.Filter):
    """Marks each record with the business of the task that logged it (None: the process's)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.business = _business.get()
        return True


class ScrubbingFormatter(logging.Formatter):
    def __init__(self, scrub: Scrubber, fmt: str = TEXT_FORMAT):
        super().__init__(fmt)
        self.scrub = scrub

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        business = getattr(record, "business", None)
        if business:
            head = f"{record.name}: "
            text = text.replace(head, f"{head}[{business}] ", 1)
        return self.scrub(text)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, and the traceback if any."""

    def __init__(self, scrub: Scrubber):
        super().__init__()
        self.scrub = scrub

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": self.scrub(record.getMessage()),
        }
        business = getattr(record, "business", None)
        if business:
            entry["business"] = business
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            for key, value in fields.items():
                if key not in entry:
                    entry[key] = self.scrub(value) if isinstance(value, str) else value
        if record.exc_info:
            entry["exception"] = self.scrub(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(
    level: str = "INFO",
    fmt: str = "text",
    secrets: Iterable[str] = (),
    stream: TextIO | None = None,
) -> logging.Handler:
    """Install the scrubbing handler on the root logger (replacing any other); returns it."""
    scrub = Scrubber(secrets)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter(scrub) if fmt == "json" else ScrubbingFormatter(scrub))
    handler.addFilter(TelegramPayloadFilter())
    handler.addFilter(BusinessFilter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for name in NOISY_LOGGERS:
        logging.getLogger(name).setLevel(max(logging.WARNING, root.level))
    return handler
