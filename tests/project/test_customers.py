"""The tests' customers speak one vocabulary at every level (tests/customers.py): a driver that
loses a word, or answers it without `await` where the level awaits, fails here rather than in
the middle of some journey."""

from __future__ import annotations

import inspect

import pytest

from bot.core.payload import Action
from tests.booking.driver import Chat as EngineChat
from tests.customers import Customer, ProcessCustomer, Sees, SyncCustomer
from tests.fakes.bot_api import FakeBotAPI
from tests.telegram.harness import Chat as ApplicationChat
from tests.telegram.harness import RunningBot

ACTS = ("start", "type", "tap", "tap_action")
LOOKS = ("reads", "labels", "can")


@pytest.mark.parametrize("driver", [EngineChat, ApplicationChat], ids=["engine", "application"])
def test_the_awaited_levels_act_with_await(driver: type) -> None:
    for name in ACTS:
        assert inspect.iscoroutinefunction(getattr(driver, name)), f"{driver.__name__}.{name}"
    for name in LOOKS:
        assert not inspect.iscoroutinefunction(getattr(driver, name)), f"{driver.__name__}.{name}"


def test_the_process_level_acts_from_the_tests_thread() -> None:
    for name in (*ACTS, *LOOKS):
        method = getattr(ProcessCustomer, name)
        assert not inspect.iscoroutinefunction(method), f"ProcessCustomer.{name}"


def test_every_driver_is_a_customer() -> None:
    engine = EngineChat(engine=None, customer=None)  # type: ignore[arg-type]
    nothing = RunningBot(FakeBotAPI(), settings=None, sandbox=None)  # type: ignore[arg-type]
    application = ApplicationChat(nothing, chat_id=1)
    process = ProcessCustomer(FakeBotAPI(), 1)
    assert isinstance(engine, Customer) and isinstance(application, Customer)
    assert isinstance(process, SyncCustomer)
    for customer in (engine, application, process):
        assert isinstance(customer, Sees)
        assert customer.reads() == "" and customer.labels() == []  # before the first word
        assert customer.can(Action.BOOK) == 0
