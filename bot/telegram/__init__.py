"""The python-telegram-bot v22 adapter: Telegram updates in, engine replies out.

One job per module, composed in `app.py` (as python-telegram-bot's own rules-bot does):

- `app.py`: `build_application()`, the one builder the bot, the tests and the benchmarks use.
- `handlers.py`: Updates -> engine events, Replies -> Bot API calls.
- `render.py`: a Screen -> HTML text and an inline keyboard; an Attachment -> a document.
- `ordering.py`: updates of different chats concurrently, those of one chat in order.
- `commands.py`: the command menu, described in every supported language.
- `errors.py`: the last-resort error handler.
- `urls.py`: TELEGRAM_BASE_URL -> the Bot API and file URLs python-telegram-bot expects.
- `webhook.py`: the web listener (per-business webhook routes, /healthz, /metrics mounted).
- `fleet.py`: many businesses in one process: their start, retries, reload and stop.
- `scheduler.py`: the periodic jobs, per Application or one SharedScheduler for many.
"""
