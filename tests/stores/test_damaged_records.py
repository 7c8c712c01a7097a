"""A record a store cannot read (foreign bytes under its keys) is a missing session:
logged once with its key, removed, never an error. Real Redis (the redis_url fixture)."""

from __future__ import annotations

import asyncio
import dbm.dumb
import logging
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

import sessionware as sw
from sessionware.stores.dbm import DbmStore
from sessionware.stores.files import FileStore
from sessionware.testing._sync.conformance import make_record

from ..conftest import SECRET

FOREIGN = b"written by some other program"


@pytest.fixture
def prefix(redis_url: str) -> Iterator[str]:
    prefix = f"damaged-{secrets.token_hex(4)}:"
    yield prefix
    client = redis.Redis.from_url(redis_url)
    for key in client.scan_iter(f"{prefix}*"):
        client.delete(key)
    client.close()


def plant_foreign_value(redis_url: str, store: Any, key: str) -> str:
    """Overwrite a session's value with bytes the store did not write; the Redis key."""
    redis_key = store.keys.session(key)
    client = redis.Redis.from_url(redis_url)
    client.set(redis_key, FOREIGN)
    client.close()
    return str(redis_key)


def redis_has(redis_url: str, redis_key: str) -> bool:
    client = redis.Redis.from_url(redis_url)
    try:
        return bool(client.exists(redis_key))
    finally:
        client.close()


def test_redis_treats_foreign_bytes_as_a_missing_session_logs_and_removes_them(
    redis_url: str, prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    store = sw.open_store(f"{redis_url}?prefix={prefix}")
    manager = sw.SessionManager(store, secret_key=SECRET)
    try:
        with manager.scope(None) as session:
            session["n"] = 1
        cookie = session.cookie_value
        redis_key = plant_foreign_value(redis_url, store, session.key)
        with caplog.at_level(logging.WARNING, logger="sessionware"):
            for _ in range(2):
                with manager.scope(cookie) as again:
                    assert again.is_new
                    assert dict(again) == {}
        assert not redis_has(redis_url, redis_key)
        damaged = [r for r in caplog.records if "is damaged" in r.getMessage()]
        assert len(damaged) == 1
        assert session.key in damaged[0].getMessage()
    finally:
        manager.close()


def test_the_async_redis_store_treats_foreign_bytes_as_missing_and_removes_them(
    redis_url: str, prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    async def scenario() -> None:
        store = await sw.open_async_store(f"{redis_url}?prefix={prefix}")
        manager = sw.AsyncSessionManager(store, secret_key=SECRET)
        try:
            async with manager.scope(None) as session:
                session["n"] = 1
            redis_key = plant_foreign_value(redis_url, store, session.key)
            with caplog.at_level(logging.WARNING, logger="sessionware"):
                async with manager.scope(session.cookie_value) as again:
                    assert again.is_new
            assert not redis_has(redis_url, redis_key)
            assert "is damaged" in caplog.text
        finally:
            await manager.close()

    asyncio.run(scenario())


# -- file and dbm stores: damaged records were removed silently; now logged too ------


def damaged_warnings(caplog: pytest.LogCaptureFixture, key: str) -> int:
    return sum("is damaged" in r.getMessage() and key in r.getMessage() for r in caplog.records)


def test_a_damaged_record_file_is_logged_once_with_its_key(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = FileStore(tmp_path)
    store.setup()
    record = make_record()
    store.save(record)
    Path(store._record_path(record.id)).write_bytes(b"garbage" * 10)
    with caplog.at_level(logging.WARNING, logger="sessionware"):
        assert store.load(record.id) is None
        assert store.load(record.id) is None
    assert damaged_warnings(caplog, record.id) == 1
    store.close()


def test_a_damaged_dbm_value_is_logged_once_with_its_key(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "sessions.dbm"
    store = DbmStore(path, flavour="dumb")
    record = make_record()
    store.save(record)
    store.close()
    with dbm.dumb.open(str(path), "w") as raw:
        raw[record.id.encode()] = b"garbage bytes, not a record"
    store = DbmStore(path, flavour="dumb")
    try:
        with caplog.at_level(logging.WARNING, logger="sessionware"):
            assert store.load(record.id) is None
            assert store.load(record.id) is None
        assert damaged_warnings(caplog, record.id) == 1
    finally:
        store.close()
