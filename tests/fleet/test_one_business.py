"""Without BUSINESSES_FILE the process serves its one business as before, and counts it in the
metrics as business "default" (polling mode: /metrics on METRICS_PORT)."""

from __future__ import annotations

import httpx

from tests.customers import ProcessCustomer
from tests.process import Launcher, free_port, wait_listening


def test_the_one_business_is_default_in_the_metrics(launcher: Launcher) -> None:
    port = free_port()
    bot = launcher.start(METRICS_PORT=str(port))
    ana = ProcessCustomer(launcher.fake, 9001)
    ana.start()
    url = f"http://127.0.0.1:{port}/metrics"
    counted = 'zimun_bot_updates_handled_total{business="default"} 1.0'
    with httpx.Client(timeout=10) as http:
        wait_listening(http, url)
        metrics = launcher.fake.wait_for_sync(
            lambda: (text := http.get(url).text) * (counted in text)
        )
        assert http.get(f"http://127.0.0.1:{port}/healthz").status_code == 404
    assert 'zimun_bot_businesses{state="serving"} 1.0' in metrics
    assert bot.stop() == 0, bot.log
    assert "Traceback" not in bot.log, bot.log
