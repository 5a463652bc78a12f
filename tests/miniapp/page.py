"""One customer's booking page in Chromium: open it, tap by what buttons do, type answers.

Buttons are found by what they do (`data-kind`, the payload's action; calendar days by
`data-day`), never by their words, so the same steps work in every language. Every action
waits until the page has the server's answer (`main[aria-busy=false]`). Console errors and
uncaught exceptions are collected (`errors`) for the tests to assert there are none.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

WIDTH, HEIGHT = 360, 640
SETTLED = "main[aria-busy='false']"  # a locator: the page's CSP forbids evaluated strings


@dataclass
class Page:
    page: Any
    errors: list[str] = field(default_factory=list)
    api_calls: list[str] = field(default_factory=list)

    @classmethod
    async def open(
        cls, browser: Any, url: str, *, dark: bool = False, script: tuple[str, bytes] | None = None
    ) -> Page:
        """`script`: (its URL, its body) served by the test to the browser itself (Playwright's
        routing; no server, no network)."""
        context = await browser.new_context(
            viewport={"width": WIDTH, "height": HEIGHT},
            color_scheme="dark" if dark else "light",
        )
        if script is not None:
            address, body = script

            async def serve(route: Any) -> None:
                await route.fulfill(status=200, content_type="text/javascript", body=body)

            await context.route(address, serve)
        page = await context.new_page()
        opened = cls(page)
        page.on(
            "console",
            lambda m: opened.errors.append(m.text) if m.type in ("error", "warning") else None,
        )
        page.on("pageerror", lambda e: opened.errors.append(str(e)))
        page.on("request", lambda r: opened.api_calls.append(r.url) if "/api/" in r.url else None)
        await page.goto(url)
        await page.locator(SETTLED).wait_for()
        return opened

    async def settle(self) -> None:
        await self.page.locator(SETTLED).wait_for()

    async def text(self) -> str:
        return await self.page.inner_text("main")

    async def status(self) -> str:
        return await self.page.inner_text("#status")

    async def count(self, kind: str) -> int:
        return await self.page.locator(f"#screens button[data-kind='{kind}']").count()

    async def tap(self, kind: str, nth: int = 0) -> None:
        buttons = self.page.locator(f"#screens button[data-kind='{kind}']")
        await buttons.nth(nth).click()
        await self.settle()

    async def tap_day(self, nth: int = 0) -> None:
        """The nth free day of the month shown, or the month onward/next when none is free."""
        for _ in range(6):
            days = self.page.locator("#screens .grid button[data-day='free']")
            if await days.count() > nth:
                await days.nth(nth).click()
                await self.settle()
                return
            onward = "month_onward" if await self.count("month_onward") else "month_next"
            await self.tap(onward)
        raise AssertionError(f"no free day: {await self.text()}")

    async def answer(self, text: str) -> None:
        field_ = self.page.locator("#screens form input")
        await field_.fill(text)
        await self.page.locator("#screens form button[type='submit']").click()
        await self.settle()

    async def label(self, kind: str) -> str:
        return await self.page.locator("#screens label").first.inner_text()

    async def screenshot(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        await self.page.screenshot(path=str(path))

    async def no_horizontal_scroll(self) -> bool:
        return await self.page.evaluate(
            "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
        )

    async def unlabelled_controls(self) -> list[str]:
        """Buttons without a name and inputs without a label (what a screen reader reads)."""
        return await self.page.evaluate(
            """() => Array.from(document.querySelectorAll('button, input')).filter(el => {
                if (el.tagName === 'INPUT') { return !(el.labels && el.labels.length); }
                return !(el.getAttribute('aria-label') || el.textContent.trim());
            }).map(el => el.outerHTML)"""
        )

    async def close(self) -> None:
        await self.page.context.close()


async def to_times(page: Page, service: int = 0) -> None:
    """From the menu to the free times of the first free day of a service of the first
    branch."""
    await page.tap("book")
    await page.tap("pick")  # the first branch
    await page.tap("pick", service)
    await page.tap_day()


async def book(page: Page, name: str, email: str) -> None:
    await to_times(page)
    await page.tap("time")
    await page.answer(name)
    await page.answer(email)
    await page.tap("confirm")
