# Generated from tests/stores/_async/test_undecodable_records.py by scripts/unasync.py. Do not edit.
"""A record whose data does not decode is a missing session: the manager removes it
(logged), through the store, and only the version it read, so a fresh write racing
the removal is kept. On every store, against the real servers."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from msgspec.structs import replace

import sessionware as sw
from sessionware.core.record import Record

from ...conftest import SECRET

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
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    url = store_url(request.param, tmp_path, request)
    store = sw.open_store(url)
    try:
        yield store
    finally:
        if hasattr(store, "drop_table"):
            store.drop_table()
        else:
            store.delete_all()
        store.close()


class RewrittenAfterLoad(sw.StoreProxy):
    """Another request writes a fresh record under the key just after this load read
    the undecodable one: the moment an unguarded removal would delete the fresh one."""

    def __init__(self, store: Any) -> None:
        super().__init__(store)
        self.inner: Any = store
        self.fresh: Record | None = None

    def load(self, call: Any, id: str) -> Record | None:
        stale: Record | None = call(id)
        if stale is not None and self.fresh is None:
            self.fresh = replace(stale, data=b'{"fresh":true}', version=stale.version + 1)
            self.inner.save(self.fresh)
        return stale


def stored_session(manager: sw.SessionManager, store: Any) -> tuple[str, str]:
    """A session saved through ``manager``, then its data overwritten with bytes that
    do not decode: its cookie and store key."""
    with manager.scope(None) as session:
        session["cart"] = [1, 2]
    assert session.cookie_value is not None
    key = session.key
    assert key is not None
    record = store.load(key)
    assert record is not None
    store.save(replace(record, data=GARBAGE))
    return session.cookie_value, key


def test_an_undecodable_record_is_a_fresh_session_and_removed_with_a_log_line(
    store: Any, caplog: pytest.LogCaptureFixture
) -> None:
    manager = sw.SessionManager(store, secret_key=SECRET)
    cookie, key = stored_session(manager, store)
    caplog.set_level(logging.INFO, logger="sessionware")
    with manager.scope(cookie) as session:
        assert "cart" not in session
    assert store.load(key) is None
    removals = [r for r in caplog.records if key in r.getMessage() and "removed" in r.getMessage()]
    assert len(removals) == 1
    assert removals[0].levelno == logging.WARNING


def test_a_record_rewritten_while_the_undecodable_one_was_read_is_kept(
    store: Any,
) -> None:
    racing = RewrittenAfterLoad(store)
    manager = sw.SessionManager(racing, secret_key=SECRET)
    cookie, key = stored_session(manager, store)
    with manager.scope(cookie) as session:
        assert "cart" not in session
    kept = store.load(key)
    assert racing.fresh is not None
    assert kept is not None
    assert (kept.version, kept.data) == (racing.fresh.version, racing.fresh.data)
