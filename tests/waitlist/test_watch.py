"""The watcher alone (bot.followup.waitlist_watch) against the sandbox over HTTP, with a client
that does not sleep between retries: an unanswering Zimun ends the scan and the next one tries
again; a refusal for one pair (a service removed) is looked at again next time round, not at every
scan; a customer the send certainly did not reach is told at the next flush, at most once."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from bot.core.cadence import WAIT_CADENCE, day_bounds
from bot.core.screens import Reply
from bot.followup.waitlist_watch import WaitlistWatch
from bot.store.storage import Storage
from bot.zimun.client import ZimunClient
from sandbox.testing import SandboxServer
from tests.booking.conftest import make_client
from tests.clock import MONDAY
from tests.waitlist.steps import BRANCH, SATURDAY, SERVICE, fill_day


@pytest.fixture
async def api(sandbox: SandboxServer) -> AsyncIterator[ZimunClient]:
    async with make_client(sandbox) as client:
        yield client


@pytest.fixture
def storage(tmp_path: Path) -> Iterator[Storage]:
    store = Storage(str(tmp_path / "bot.db"))
    yield store
    store.close()


def wait_for(storage: Storage, user: int, service: str = SERVICE) -> int:
    return storage.join_waitlist(
        user_id=user,
        chat_id=user,
        service_id=service,
        service_name=service,
        location_id=BRANCH,
        location_name=BRANCH,
        timezone="Europe/Madrid",
        day=SATURDAY,
        ends_at=day_bounds(SATURDAY, "Europe/Madrid")[1],
        language="en",
        now=MONDAY,
        next_check_at=MONDAY + WAIT_CADENCE.near_every,
    )


def watch(api: ZimunClient, storage: Storage, sandbox: SandboxServer) -> WaitlistWatch:
    return WaitlistWatch(api, storage, now=sandbox.clock.now, monotonic=lambda: 0.0)


async def test_an_unanswering_zimun_ends_the_scan_and_the_next_one_tries_again(
    api: ZimunClient, storage: Storage, sandbox: SandboxServer
) -> None:
    sandbox.clock.set(MONDAY)
    walk_ins = fill_day(sandbox, SATURDAY)
    wait_for(storage, 1)
    sandbox.business_cancel(walk_ins[0].id)
    looker = watch(api, storage, sandbox)
    sandbox.clock.set(MONDAY + WAIT_CADENCE.near_every)
    sandbox.faults.fail_next(2, 503, path="/availability")  # the call and its retry
    result = await looker.check_due()
    assert result.stopped and result.offered == 0
    sandbox.clock.set(MONDAY + WAIT_CADENCE.near_every + WAIT_CADENCE.scan_every)
    assert (await looker.check_due()).offered == 1  # still due: the next scan looks


async def test_a_refused_pair_is_looked_at_next_time_round_not_at_every_scan(
    api: ZimunClient, storage: Storage, sandbox: SandboxServer
) -> None:
    sandbox.clock.set(MONDAY)
    wait_for(storage, 1, service="svc_cleaning")
    sandbox.remove_service("svc_cleaning")  # availability: 404
    looker = watch(api, storage, sandbox)
    sandbox.clock.set(MONDAY + WAIT_CADENCE.near_every)
    assert (await looker.check_due()).failed == 1
    sandbox.clock.set(MONDAY + WAIT_CADENCE.near_every + WAIT_CADENCE.scan_every)
    assert (await looker.check_due()).failed == 0
    sandbox.clock.set(MONDAY + 2 * WAIT_CADENCE.near_every)
    assert (await looker.check_due()).failed == 1


async def test_a_send_that_did_not_arrive_is_retried_and_told_once(
    api: ZimunClient, storage: Storage, sandbox: SandboxServer
) -> None:
    sandbox.clock.set(MONDAY)
    walk_ins = fill_day(sandbox, SATURDAY)
    entry_id = wait_for(storage, 1)
    sandbox.business_cancel(walk_ins[0].id)
    looker = watch(api, storage, sandbox)
    sandbox.clock.set(MONDAY + WAIT_CADENCE.near_every)
    await looker.check_due()
    sent: list[tuple[int, Reply]] = []

    async def refused(chat_id: int, reply: Reply) -> bool:
        return False  # e.g. Telegram's flood limit: certainly not delivered

    async def delivered(chat_id: int, reply: Reply) -> bool:
        sent.append((chat_id, reply))
        return True

    assert (await looker.flush(refused)).retry == 1
    assert (await looker.flush(delivered)).sent == 1
    assert (await looker.flush(delivered)).sent == 0
    assert [chat for chat, _ in sent] == [1]
    told = storage.waitlist_entry(entry_id)
    assert told is not None and (told.status, told.attempts) == ("told", 2)
    # A day that passed before the telling: not told.
    sandbox.clock.set(day_bounds(SATURDAY, "Europe/Madrid")[1] + timedelta(seconds=1))
    assert (await looker.check_due()).ended == 1
