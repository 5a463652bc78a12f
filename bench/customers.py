"""Simulated customers: each one a chat that books (and maybe reschedules or cancels) by reading
the buttons the bot shows, like a person would, one action at a time.

A customer sends one update, waits until the bot has fully handled it (the application's last
handler group tells the fake), records the latency from the moment the update was available to
the bot to the last Bot API call the bot made for it, thinks for a while, and acts again.
Buttons are found by what they do (the payload's action, decoded with the bot's own codec) so
the journeys work in every language and do not depend on labels.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from bench.fake_telegram import BenchBotAPI
from bot.core.payload import Action, decode

LANGUAGES = ("en", "es", "it", "de")
JOURNEY_STEPS = 10  # a booking is 9 actions, a reschedule or cancel after it 4 to 6 more
NAMES = ("Ana García", "Luca Rossi", "Jürgen Müller", "Zoë O'Brien", "李雷")


class JourneyFailed(Exception):
    """The bot showed something a customer could not go on from."""


class TimeUp(Exception):
    """The scenario's window is over: the customer stops before their next action."""


class Window:
    """The measured part of a latency scenario, shared by its customers.

    Customers first walk, unmeasured and without pause, a random number of steps into their
    journey, so that once the window opens they are spread over every step as real traffic is
    (not all on the calendar at the same moment). The window opens when the last one is in
    place, and closes after `duration` seconds, or later, up to `longest`, until `min_samples`
    updates were measured.
    """

    def __init__(
        self, customers: int, duration: float, *, min_samples: int = 0, longest: float = 0.0
    ) -> None:
        self.waiting = customers
        self.duration = duration
        self.longest = max(longest, duration)
        self.min_samples = min_samples
        self.opened = asyncio.Event()
        self.start = 0.0

    def arrive(self) -> None:
        self.waiting -= 1
        if self.waiting <= 0 and not self.opened.is_set():
            self.start = asyncio.get_running_loop().time()
            self.opened.set()

    def closed(self, samples: Samples) -> bool:
        elapsed = asyncio.get_running_loop().time() - self.start
        if elapsed < self.duration:
            return False
        return samples.updates >= self.min_samples or elapsed >= self.longest


@dataclass
class Samples:
    """What every customer of a scenario adds to."""

    latencies: list[float] = field(default_factory=list)  # seconds, one per update
    updates: int = 0
    bookings: int = 0
    reschedules: int = 0
    cancels: int = 0
    failures: int = 0
    replay: list[tuple[int, list[tuple[str, dict[str, Any]]]]] = field(default_factory=list)
    keep_latencies: bool = True  # off when measuring memory: the list would be counted


class Chat:
    """One customer's chat: the latest keyboard, documents received, and the update in flight."""

    def __init__(
        self,
        api: BenchBotAPI,
        chat_id: int,
        samples: Samples,
        *,
        language: str = "en",
        think: float = 0.0,
        rng: random.Random | None = None,
        record: bool = False,
    ) -> None:
        self.api = api
        self.chat_id = chat_id
        self.samples = samples
        self.think = think
        self.rng = rng or random.Random(chat_id)
        self.user = api.user_json(chat_id, NAMES[chat_id % len(NAMES)].split()[0], language)
        # The newest message with buttons, as JSON text: a string is invisible to the garbage
        # collector, while 500 customers' parsed keyboards would double the objects it scans
        # in the bot's process and lengthen its pauses (a cost of the benchmark, not the bot).
        self._keyboard: str | None = None
        self._keyboard_id: int | None = None
        self.documents = 0
        self.sent: list[tuple[str, dict[str, Any]]] | None = [] if record else None
        self._waiting: int | None = None
        self._done: asyncio.Future[None] | None = None
        self._last_call = 0.0
        self._measured = True
        self.window: Window | None = None
        self.warm = 0  # actions still to take before the window, unmeasured and without pause

    # ---- Listener ------------------------------------------------------------------------------

    def on_call(self, method: str, params: Mapping[str, Any], result: Any, at: float) -> None:
        self._last_call = at
        if method == "sendDocument":
            self.documents += 1
        elif isinstance(result, dict):
            if result.get("reply_markup"):
                self._keyboard, self._keyboard_id = json.dumps(result), result["message_id"]
            elif self._keyboard is not None and result["message_id"] == self._keyboard_id:
                self._keyboard = self._keyboard_id = None  # its buttons were removed

    def on_done(self, update_id: int, at: float) -> None:
        if update_id != self._waiting or self._done is None:
            return
        injected = self.api.injected_at.pop(update_id, at)
        last = self._last_call if self._last_call >= injected else at
        if self._measured:
            if self.samples.keep_latencies:
                self.samples.latencies.append(last - injected)
            self.samples.updates += 1
        if not self._done.done():
            self._done.set_result(None)

    # ---- acting --------------------------------------------------------------------------------

    def __enter__(self) -> Chat:
        self.api.listeners[self.chat_id] = self
        return self

    def __exit__(self, *exc: object) -> None:
        self.api.listeners.pop(self.chat_id, None)

    async def send(self, kind: str, payload: dict[str, Any]) -> None:
        """Put one update in the bot's queue and wait until it is fully handled."""
        await self._before_action()
        if self.sent is not None:
            self.sent.append((kind, payload))
        self._waiting = self.api.push(kind, payload)
        self._done = asyncio.get_running_loop().create_future()
        await self._done
        self._done = None
        if self.think and self._measured:
            await asyncio.sleep(self.think * self.rng.uniform(0.5, 1.5))

    async def _before_action(self) -> None:
        if self.window is None:
            return
        if self.warm > 0:
            self.warm -= 1
            return
        if not self._measured:  # in place: wait for everyone, then start at a random moment
            self._measured = True
            self.window.arrive()
            await self.window.opened.wait()
            await asyncio.sleep(self.rng.uniform(0, self.think))
        if self.window.closed(self.samples):
            raise TimeUp

    async def text(self, text: str) -> None:
        await self.send("message", self.api.text_payload(self.user, text))

    async def tap_data(self, data: str) -> None:
        await self.send("callback_query", self.api.tap_payload(self.user, self.keyboard, data))

    @property
    def keyboard(self) -> dict[str, Any] | None:
        """The newest message with buttons, parsed afresh."""
        return json.loads(self._keyboard) if self._keyboard is not None else None

    def buttons(self, action: Action) -> list[str]:
        keyboard = self.keyboard
        if keyboard is None:
            return []
        found = []
        for row in keyboard["reply_markup"].get("inline_keyboard", []):
            for button in row:
                data = button.get("callback_data")
                payload = decode(data)
                if payload is not None and payload.action == action:
                    found.append(data)
        return found

    async def tap(self, action: Action, nth: int | None = None) -> None:
        choices = self.buttons(action)
        if not choices:
            raise JourneyFailed(f"no {action.name} button on {self._labels()}")
        index = self.rng.randrange(len(choices)) if nth is None else nth % len(choices)
        await self.tap_data(choices[index])

    def _labels(self) -> list[str]:
        keyboard = self.keyboard
        if keyboard is None:
            return []
        rows = keyboard["reply_markup"].get("inline_keyboard", [])
        return [b.get("text", "") for row in rows for b in row]

    # ---- journeys ------------------------------------------------------------------------------

    async def book(self, plan: int) -> None:
        """/start, Book, a branch, a service, a day, a time, name, email, Confirm."""
        await self.text("/start")
        await self.to_calendar(plan)
        await self._day_and_time(Action.USE_NAME, plan // 9)
        await self.text(NAMES[plan % len(NAMES)])
        await self.text(f"customer{self.chat_id}.{plan}@example.com")
        documents = self.documents
        await self.tap(Action.CONFIRM)
        if self.documents == documents:
            raise JourneyFailed("no calendar file after Confirm")
        self.samples.bookings += 1

    async def to_calendar(self, plan: int, taps: int = 3) -> None:
        """From the main menu: Book, a branch, a service offered there (the first `taps`)."""
        steps = ((Action.BOOK, None), (Action.PICK, plan % 3), (Action.PICK, plan // 3))
        for action, nth in steps[:taps]:
            await self.tap(action, nth)

    async def reschedule(self, plan: int) -> None:
        """/mybookings, the newest booking, Reschedule, a day, a time, Yes."""
        await self._open_newest_booking()
        await self.tap(Action.RESCHEDULE)
        await self._day_and_time(Action.YES, plan // 7 + 1)
        await self.tap(Action.YES)
        self.samples.reschedules += 1

    async def cancel(self) -> None:
        """/mybookings, the newest booking, Cancel booking, Yes."""
        await self._open_newest_booking()
        await self.tap(Action.CANCEL_BOOKING)
        await self.tap(Action.YES)
        self.samples.cancels += 1

    async def _open_newest_booking(self) -> None:
        await self.text("/mybookings")
        await self.tap(Action.OPEN_BOOKING, -1)

    async def _browse_months(self) -> None:
        """Look at the next month and come back, as customers comparing dates do (the
        calendar's answer covers them all: no Zimun call)."""
        if self.buttons(Action.MONTH_NEXT):
            await self.tap(Action.MONTH_NEXT)
            if self.buttons(Action.MONTH_PREV):
                await self.tap(Action.MONTH_PREV)

    async def _day_and_time(self, next_action: Action, day: int) -> None:
        """Pick a free day and a free time until the next step shows (a slot someone else took
        brings fresh times: pick again)."""
        await self._browse_months()
        for _ in range(8):
            if not self.buttons(Action.TIME):
                if not self.buttons(Action.DAY):
                    onward = Action.MONTH_ONWARD
                    await self.tap(onward if self.buttons(onward) else Action.MONTH_NEXT)
                    continue
                await self.tap(Action.DAY, day)
                day += 1
                if not self.buttons(Action.TIME):
                    continue
            await self.tap(Action.TIME)
            if self.buttons(next_action):
                return
        raise JourneyFailed(f"no free time found; screen: {self._labels()}")


async def customer(
    api: BenchBotAPI,
    chat_id: int,
    samples: Samples,
    *,
    think: float,
    manage_share: float,
    window: Window | None = None,
    max_bookings: int | None = None,
    record: bool = False,
) -> None:
    """Book again and again (each time maybe followed by a reschedule or a cancel), until
    `max_bookings` are done or, mid-journey if need be, the window closes."""
    rng = random.Random(chat_id)
    language = LANGUAGES[chat_id % len(LANGUAGES)]
    done = 0
    with Chat(api, chat_id, samples, language=language, think=think, rng=rng, record=record) as me:
        if window is not None:
            me.window, me.warm, me._measured = window, rng.randrange(JOURNEY_STEPS), False
        try:
            while max_bookings is None or done < max_bookings:
                plan = rng.randrange(1000)
                try:
                    await me.book(plan)
                    roll = rng.random()
                    if roll < manage_share / 2:
                        await me.reschedule(plan)
                    elif roll < manage_share:
                        await me.cancel()
                except JourneyFailed:
                    samples.failures += 1
                done += 1
        except TimeUp:
            pass
        if me.sent is not None:
            samples.replay.append((chat_id, me.sent))


async def echo_customer(
    api: BenchBotAPI, chat_id: int, samples: Samples, script: list[tuple[str, dict[str, Any]]]
) -> None:
    """Send the same updates a bot customer sent, one after the other, to the echo floor."""
    with Chat(api, chat_id, samples) as me:
        for kind, payload in script:
            await me.send(kind, payload)
