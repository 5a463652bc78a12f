"""One contract, two stores: the async Store has every public method of the synchronous
Storage with the same arguments, both stores keep it, the factory picks one from the settings,
and a task's open batch never swallows another task's write."""

from __future__ import annotations

import asyncio
import inspect
import re
from pathlib import Path

import pytest

from bot.config.settings import Settings
from bot.core.records import FunnelEvent
from bot.store.contract import Coordination, Store
from bot.store.factory import open_store
from bot.store.postgres import PostgresStore
from bot.store.sqlite_async import SqliteStore
from bot.store.storage import Storage
from tests.backends import Backend
from tests.clock import MONDAY
from tests.postgres import PASSWORD

SYNC_ONLY = {"for_business", "batch"}  # no I/O: a plain method, as in Storage


def _public(cls: type) -> set[str]:
    return {
        name
        for name in dir(cls)
        if not name.startswith("_")
        and callable(getattr(cls, name))
        and not isinstance(inspect.getattr_static(cls, name), property)
    }


def _returns(annotation: object) -> str:
    """A plan's `Plan[X]` is its store's `X`."""
    text = str(annotation)
    match = re.fullmatch(r"Plan\[(.*)\]", text)
    return match.group(1) if match else text


def test_the_contract_has_every_method_of_storage_with_its_arguments() -> None:
    """Storage's methods, and coordination besides (several processes: no synchronous twin)."""
    assert _public(Storage) == _public(Store) - _public(Coordination)
    for name in _public(Storage):
        sync, contract = (
            inspect.signature(getattr(Storage, name)),
            inspect.signature(getattr(Store, name)),
        )
        assert list(sync.parameters.values()) == list(contract.parameters.values()), name
        if name not in ("close", "ping", "for_business", "batch"):
            assert _returns(sync.return_annotation) == _returns(contract.return_annotation), name
        is_coroutine = inspect.iscoroutinefunction(getattr(Store, name))
        assert is_coroutine == (name not in SYNC_ONLY), name


@pytest.mark.parametrize("cls", [SqliteStore, PostgresStore])
def test_both_stores_keep_the_contract(cls: type) -> None:
    assert _public(Store) <= _public(cls)
    for name in _public(Store):
        ours, contract = getattr(cls, name), getattr(Store, name)
        assert inspect.iscoroutinefunction(ours) == inspect.iscoroutinefunction(contract), name
        assert list(inspect.signature(ours).parameters) == list(
            inspect.signature(contract).parameters
        ), name


async def test_each_store_is_a_store(store: Store) -> None:
    assert isinstance(store, Store)
    assert isinstance(store.for_business("studio-b"), Store)


def _settings(tmp_path: Path, database_url: str = "") -> Settings:
    return Settings(  # type: ignore[call-arg]
        _env_file=None,
        TELEGRAM_BOT_TOKEN="1:x",
        ZIMUN_CLIENT_ID="client",
        ZIMUN_CLIENT_SECRET="secret",
        BOT_DB_PATH=str(tmp_path / "bot.db"),
        DATABASE_URL=database_url,
    )


async def test_the_factory_opens_sqlite_when_database_url_is_blank(tmp_path: Path) -> None:
    for blank in ("", "  "):
        store = await open_store(_settings(tmp_path, blank))
        assert isinstance(store, SqliteStore) and store.storage.path == str(tmp_path / "bot.db")
        await store.close()


async def test_the_factory_opens_postgres_and_never_shows_the_password(
    tmp_path: Path, pg_url: str
) -> None:
    settings = _settings(tmp_path, pg_url)
    assert PASSWORD not in repr(settings) and PASSWORD not in str(settings.model_dump())
    store = await open_store(settings, business="studio-a")
    assert isinstance(store, PostgresStore) and store.business == "studio-a"
    assert PASSWORD not in store.label
    await store.close()
    missing = pg_url.rsplit("/", 1)[0] + "/no_such_db"
    with pytest.raises(Exception) as caught:
        await open_store(_settings(tmp_path, missing))
    message = str(caught.value)
    assert "no_such_db" in message and "127.0.0.1" in message and "\n" not in message
    assert PASSWORD not in message and PASSWORD not in repr(caught.value)


async def test_a_batch_held_across_an_await_keeps_other_tasks_writes_out(
    backend: Backend,
) -> None:
    """One task's batch waits on something (the network); another task writes meanwhile: its
    write is its own, and survives the batch's rollback."""
    store = await backend.open()
    inside, release = asyncio.Event(), asyncio.Event()

    async def holder() -> None:
        with pytest.raises(RuntimeError):
            async with store.batch():
                await store.set_language(1, "de")
                inside.set()
                await release.wait()
                raise RuntimeError("rolled back")

    async def other() -> None:
        await inside.wait()
        await store.for_business("studio-b").set_language(2, "it")

    held = asyncio.create_task(holder())
    written = asyncio.create_task(other())
    await inside.wait()
    for _ in range(5):
        await asyncio.sleep(0)
    release.set()
    await asyncio.gather(held, written)
    assert await store.get_language(1) is None
    assert await store.for_business("studio-b").get_language(2) == "it"


def test_messages_name_host_and_database_never_the_password() -> None:
    from bot.store.postgres import Target

    target = Target("postgresql://bot:p%40ss%20w0rd@db.example:6432/bookings")
    assert target.label == "db.example:6432/bookings"
    shown = target.safe("failed for p@ss w0rd (typed p%40ss%20w0rd)\nsecond line")
    assert "p@ss" not in shown and "p%40ss" not in shown and "\n" not in shown
    with pytest.raises(Exception, match="not a postgresql:// URL") as caught:
        Target("mysql://bot:hunter2@db/x")
    assert "hunter2" not in str(caught.value)


async def test_an_updates_writes_go_together_as_the_engine_writes_them(backend: Backend) -> None:
    """save_with_funnel: the events and the conversation (PostgreSQL: one query, its
    parameters bound by the client, so quotes and percent signs must come through as typed)."""
    store = await backend.open("studio-'a'")
    state = '{"name": "O\'Brien", "note": "100% $1 ?2 %s"}'
    events = [
        FunnelEvent(at=MONDAY, attempt="x1", event="started"),
        FunnelEvent(MONDAY, "x1", "step", step="time", location_name="Rue d'Or"),
    ]
    await store.save_with_funnel(5, 6, state, pending=True, funnel=events)
    row = await store.load_conversation(5)
    assert row is not None and (row.user_id, row.state) == (6, state)
    assert await store.pending_conversations() == [row]
    assert await store.funnel_since(MONDAY) == events
    await store.save_with_funnel(5, 6, None, pending=False, funnel=events[:1])  # events only
    assert await store.load_conversation(5) == row
    assert len(await store.funnel_since(MONDAY)) == 3
    await store.save_with_funnel(5, 6, "{}", pending=False, funnel=[])  # the state only
    assert await store.pending_conversations() == []
    assert await store.for_business("").conversation_count() == 0  # that business's only
