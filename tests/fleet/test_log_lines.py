"""Each log line about one business names it: set in the task that starts the business, the
name follows every task that task creates, in text and JSON lines alike."""

from __future__ import annotations

import asyncio
import io
import json
import logging

import pytest

from bot.config.logs import configure_logging, log_business


@pytest.mark.parametrize("fmt", ["text", "json"])
async def test_a_business_task_and_its_children_name_the_business(fmt: str) -> None:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    stream = io.StringIO()
    configure_logging("INFO", fmt, stream=stream)
    log = logging.getLogger("bot.updates")
    try:

        async def business(business_id: str) -> None:
            log_business(business_id)
            await asyncio.get_running_loop().create_task(child())

        async def child() -> None:
            log.info("update handled")

        await asyncio.gather(business("studio-north"), business("studio-south"))
        log.info("the process itself")
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
    lines = stream.getvalue().splitlines()
    if fmt == "json":
        named = sorted(json.loads(line).get("business", "-") for line in lines)
        assert named == ["-", "studio-north", "studio-south"]
    else:
        assert sum("bot.updates: [studio-north] update handled" in x for x in lines) == 1
        assert sum("bot.updates: [studio-south] update handled" in x for x in lines) == 1
        assert any(x.endswith("bot.updates: the process itself") for x in lines)
