"""`python -m bench.unthrottled_bot`: `python -m bot` exactly, with Telegram's flood control off
(no rate limiter, no per-chat update budget), as the main benchmark runs the bot (bench/runner.py):
bench/cluster_procs.py's load measures the processes' CPU, not Telegram's 30 messages a second
per bot, which several processes share (issue 20), so it would cap one process and two alike.
"""

from __future__ import annotations

import sys
from typing import Any

import bot.telegram.app as telegram_app
from bot.__main__ import main

_build = telegram_app.build_application


def _unthrottled(*args: Any, **kwargs: Any) -> Any:
    """bot.telegram.app.build_application without flood control (bot.wiring looks it up there
    each time it builds an Application)."""
    kwargs["rate_limiter"] = None
    kwargs["update_budget"] = None
    return _build(*args, **kwargs)


if __name__ == "__main__":
    telegram_app.build_application = _unthrottled
    sys.exit(main())
