"""A record whose data does not decode is a missing session: the manager removes it
(logged), through the store, and only the version it read, so a fresh write racing
the removal is kept. On every store, against the real servers."""

from __future__ import annotations

import logging
import secrets
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from msgspec.structs import replace

import sessionware as sw
from sessionware.core.record import Record

from ...conftest import SECRET

pytestmark = pytest.mark.anyio  # unasync: remove

KINDS = ["memory", "file", "dbm", "sqlite", "postgresql", "mariadb", "redis"]
GARBAGE = b"\xff\xfe not a session"


def store_url(kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """A URL of a fresh store of ``kind`` of its own (own table, own key prefix)."""
    label = secrets.token_hex(5)
    if kind == "memory":
        return "memory://"
    if kind in ("file", "dbm"):
        return f"{kind}://{tmp_path}/{kind}-{label}"
    if kind == "sqlite":
        return f"sqlite:///{tmp_path}/sqlite-{label}.db"
    if kind == "redis":
        return f"{request.getfixturevalue('redis_url')}?prefix=undecodable-{label}:"
    server = request.getfixturevalue("postgres_url" if kind == "postgresql" else "mysql_url")
    return f"{server}?table=sw_undecodable_{label}"


@pytest.fixture(params=KINDS)
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Any]:
    url = store_url(request.param, tmp_path, request)
    store = await sw.open_async_store(url)
    try:
        yield store
    finally:
        if hasattr(store, "drop_table"):
            await store.drop_table()
        else:
            await store.delete_all()
        await store.close()


class RewrittenAfterLoad(sw.StoreProxy):
    """Another request writes a fresh record under the key just after this load read
    the undecodable one: the moment an unguarded removal would delete the fresh one."""

    def __init__(self, store: Any) -> None:
        super().__init__(store)
        self.inner: Any = store
        self.fresh: Record | None = None

    async def load(self, call: Any, id: str) -> Record | None:
        stale: Record | None = await call(id)
        if stale is not None and self.fresh is None:
            self.fresh = replace(stale, data=b'{"fresh":true}', version=stale.version + 1)
            await self.inner.save(self.fresh)
        return stale


async def stored_session(manager: sw.AsyncSessionManager, store: Any) -> tuple[str, str]:
    """A session saved through ``manager``, then its data overwritten with bytes that
    do not decode: its cookie and store key."""
    async with manager.scope(None) as session:
        session["cart"] = [1, 2]
    assert session.cookie_value is not None
    key = session.key
    assert key is not None
    record = await store.load(key)
    assert record is not None
    await store.save(replace(record, data=GARBAGE))
    return session.cookie_value, key


async def test_an_undecodable_record_is_a_fresh_session_and_removed_with_a_log_line(
    store: Any, caplog: pytest.LogCaptureFixture
) -> None:
    manager = sw.AsyncSessionManager(store, secret_key=SECRET)
    cookie, key = await stored_session(manager, store)
    caplog.set_level(logging.INFO, logger="sessionware")
    async with manager.scope(cookie) as session:
        assert "cart" not in session
    assert await store.load(key) is None
    removals = [r for r in caplog.records if key in r.getMessage() and "removed" in r.getMessage()]
    assert len(removals) == 1
    assert removals[0].levelno == logging.WARNING


async def test_a_record_rewritten_while_the_undecodable_one_was_read_is_kept(
    store: Any,
) -> None:
    racing = RewrittenAfterLoad(store)
    manager = sw.AsyncSessionManager(racing, secret_key=SECRET)
    cookie, key = await stored_session(manager, store)
    async with manager.scope(cookie) as session:
        assert "cart" not in session
    kept = await store.load(key)
    assert racing.fresh is not None
    assert kept is not None
    assert (kept.version, kept.data) == (racing.fresh.version, racing.fresh.data)
