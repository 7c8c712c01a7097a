"""The stores the benchmarks know, each one entry in ``STORES``.

An entry says how to open sessionware's store for a run (URL and options, in a
private directory / key prefix / table so concurrent runs and other users of the
same servers are never touched), how to do the same work with the raw client (the
limit sessionware is measured against), and why it may be unavailable.

Adding a store is one ``StoreSpec`` in ``STORES``: a ``url`` function and a raw
client class with ``load``/``save``/``close``.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import os
import shutil
import socket
import sqlite3
import tempfile
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from sessionware import Record, open_store

__all__ = ["STORES", "RunContext", "StoreSpec", "Target", "Unavailable", "discard", "open_target"]

REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
POSTGRES_URL = os.environ.get(
    "BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
MYSQL_URL = os.environ.get("BENCH_MYSQL_URL", "mysql+pymysql://root@127.0.0.1:3306/test")


class Unavailable(Exception):
    """This store cannot run here (module not merged, extra missing, server down)."""


@dataclass
class RunContext:
    """Per-run isolation: a temporary directory and a unique tag for names."""

    workdir: str
    tag: str = field(default_factory=lambda: f"b{os.getpid()}_{uuid.uuid4().hex[:8]}")
    counter: int = 0

    def unique(self, stem: str) -> str:
        """A name no other run or target of this run uses."""
        self.counter += 1
        return f"{stem}_{self.tag}_{self.counter}"

    @classmethod
    def create(cls) -> RunContext:
        return cls(tempfile.mkdtemp(prefix="sessionware-bench-"))

    def cleanup(self) -> None:
        shutil.rmtree(self.workdir, ignore_errors=True)


# -- raw clients: the same work without sessionware -----------------------------------


class RawMemory:
    """dict get / set of the encoded bytes: the floor for an in-process store."""

    def __init__(self, ctx: RunContext) -> None:
        self.data: dict[str, bytes] = {}

    def load(self, key: str) -> Any:
        return self.data.get(key)

    def save(self, record: Record) -> None:
        self.data[record.id] = record.data

    def save_many(self, records: Iterable[Record]) -> None:
        for record in records:
            self.save(record)

    def close(self) -> None:
        pass


class RawFiles:
    """open/read, and write to a temp file + ``os.replace``: an atomic file per key."""

    def __init__(self, ctx: RunContext) -> None:
        self.directory = os.path.join(ctx.workdir, ctx.unique("rawfiles"))
        os.makedirs(self.directory)

    def load(self, key: str) -> bytes | None:
        try:
            with open(os.path.join(self.directory, key), "rb") as handle:
                return handle.read()
        except FileNotFoundError:
            return None

    def save(self, record: Record) -> None:
        path = os.path.join(self.directory, record.id)
        temporary = f"{path}.tmp"
        with open(temporary, "wb") as handle:
            handle.write(record.data)
        os.replace(temporary, path)

    def save_many(self, records: Iterable[Record]) -> None:
        for record in records:
            self.save(record)

    def close(self) -> None:
        pass


class RawDbm:
    """``dbm.open(path, "c")`` get / set with the default dbm implementation."""

    def __init__(self, ctx: RunContext) -> None:
        import dbm

        path = os.path.join(ctx.workdir, ctx.unique("raw.dbm"))
        self.db = dbm.open(path, "c")  # noqa: SIM115 - kept open for the run, closed in close()

    def load(self, key: str) -> bytes | None:
        return self.db.get(key)

    def save(self, record: Record) -> None:
        self.db[record.id] = record.data

    def save_many(self, records: Iterable[Record]) -> None:
        for record in records:
            self.save(record)

    def close(self) -> None:
        self.db.close()


_SQL_COLUMNS = "id, data, created_at, expires_at, version, user_id"


def _row(record: Record) -> tuple[Any, ...]:
    return (
        record.id,
        record.data,
        record.created_at,
        record.expires_at,
        record.version,
        record.user_id,
    )


class RawSQLite:
    """sqlite3 in WAL mode: SELECT, then INSERT ... ON CONFLICT DO UPDATE."""

    def __init__(self, ctx: RunContext) -> None:
        path = os.path.join(ctx.workdir, ctx.unique("raw") + ".db")
        self.db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute(
            "CREATE TABLE sessions (id TEXT PRIMARY KEY, data BLOB NOT NULL, created_at REAL, "
            "expires_at REAL, version INTEGER, user_id TEXT)"
        )
        self._upsert = (
            f"INSERT INTO sessions ({_SQL_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (id) DO UPDATE SET data = excluded.data, "
            "expires_at = excluded.expires_at, version = excluded.version"
        )

    def load(self, key: str) -> Any:
        return self.db.execute(
            "SELECT data, created_at, expires_at, version, user_id FROM sessions WHERE id = ?",
            (key,),
        ).fetchone()

    def save(self, record: Record) -> None:
        self.db.execute(self._upsert, _row(record))

    def save_many(self, records: Iterable[Record]) -> None:
        self.db.execute("BEGIN")
        self.db.executemany(self._upsert, (_row(r) for r in records))
        self.db.execute("COMMIT")

    def close(self) -> None:
        self.db.close()


class RawRedis:
    """redis-py (hiredis parser): GET, then SET with PX."""

    def __init__(self, ctx: RunContext) -> None:
        import redis

        self.client = redis.Redis.from_url(_plain_redis_url())
        self.prefix = ctx.unique("rawbench") + ":"

    def load(self, key: str) -> bytes | None:
        value = self.client.get(self.prefix + key)
        assert not isinstance(value, str)  # no decode_responses: bytes
        return value

    def save(self, record: Record) -> None:
        ttl_ms = max(1, int((record.expires_at - _now()) * 1000))
        self.client.set(self.prefix + record.id, record.data, px=ttl_ms)

    def save_many(self, records: Iterable[Record]) -> None:
        pipe = self.client.pipeline(transaction=False)
        for number, record in enumerate(records, 1):
            ttl_ms = max(1, int((record.expires_at - _now()) * 1000))
            pipe.set(self.prefix + record.id, record.data, px=ttl_ms)
            if number % 5000 == 0:
                pipe.execute()
        pipe.execute()

    def close(self) -> None:
        cursor = 0
        while True:
            cursor, keys = self.client.scan(cursor, match=self.prefix + "*", count=5000)
            if keys:
                self.client.unlink(*keys)
            if cursor == 0:
                break
        self.client.close()


class _RawDBAPI:
    """A DB-API client doing SELECT + upsert on its own table."""

    placeholder = "%s"
    upsert_tail = ""

    def __init__(self, ctx: RunContext) -> None:
        self.table = ctx.unique("rawbench")
        self.db = self.connect()
        with self.db.cursor() as cursor:
            cursor.execute(self.create_sql())
        self._select = (
            f"SELECT data, created_at, expires_at, version, user_id FROM {self.table} WHERE id = %s"
        )
        self._upsert = (
            f"INSERT INTO {self.table} ({_SQL_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s) "
            + self.upsert_tail
        )

    def connect(self) -> Any:
        raise NotImplementedError

    def create_sql(self) -> str:
        raise NotImplementedError

    def load(self, key: str) -> Any:
        with self.db.cursor() as cursor:
            cursor.execute(self._select, (key,))
            return cursor.fetchone()

    def save(self, record: Record) -> None:
        with self.db.cursor() as cursor:
            cursor.execute(self._upsert, _row(record))

    def save_many(self, records: Iterable[Record]) -> None:
        batch: list[tuple[Any, ...]] = []
        with self.db.cursor() as cursor:
            for record in records:
                batch.append(_row(record))
                if len(batch) >= 2000:
                    cursor.executemany(self._upsert, batch)
                    batch.clear()
            if batch:
                cursor.executemany(self._upsert, batch)

    def close(self) -> None:
        with contextlib.suppress(Exception), self.db.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {self.table}")
        self.db.close()


class RawPostgres(_RawDBAPI):
    """psycopg 3 (autocommit, server-side prepared after a few runs): SELECT + upsert."""

    upsert_tail = (
        "ON CONFLICT (id) DO UPDATE SET data = EXCLUDED.data, "
        "expires_at = EXCLUDED.expires_at, version = EXCLUDED.version"
    )

    def connect(self) -> Any:
        import psycopg

        url = POSTGRES_URL.replace("postgresql+psycopg://", "postgresql://")
        return psycopg.connect(url, autocommit=True)

    def create_sql(self) -> str:
        return (
            f"CREATE TABLE {self.table} (id VARCHAR(40) PRIMARY KEY, data BYTEA NOT NULL, "
            "created_at DOUBLE PRECISION, expires_at DOUBLE PRECISION, version INTEGER, "
            "user_id VARCHAR(255))"
        )


class RawMariaDB(_RawDBAPI):
    """PyMySQL (autocommit): SELECT + INSERT ... ON DUPLICATE KEY UPDATE."""

    upsert_tail = (
        "ON DUPLICATE KEY UPDATE data = VALUES(data), expires_at = VALUES(expires_at), "
        "version = VALUES(version)"
    )

    def connect(self) -> Any:
        import pymysql
        from sqlalchemy.engine import make_url

        url = make_url(MYSQL_URL)
        return pymysql.connect(
            host=url.host or "127.0.0.1",
            port=url.port or 3306,
            user=url.username or "root",
            password=url.password or "",
            database=url.database or "test",
            autocommit=True,
        )

    def create_sql(self) -> str:
        return (
            f"CREATE TABLE {self.table} (id VARCHAR(40) PRIMARY KEY, data LONGBLOB NOT NULL, "
            "created_at DOUBLE, expires_at DOUBLE, version INTEGER, user_id VARCHAR(255)) "
            "ENGINE=InnoDB"
        )


def _now() -> float:
    import time

    return time.time()


# -- raw async twins: what an async app pays to use the same client ------------------


class RawAsyncMemory:
    """The dict behind coroutines: what ``await`` on an in-process store costs."""

    def __init__(self, ctx: RunContext) -> None:
        self.data: dict[str, bytes] = {}

    async def load(self, key: str) -> Any:
        return self.data.get(key)

    async def save(self, record: Record) -> None:
        self.data[record.id] = record.data

    async def close(self) -> None:
        pass


class RawInThreads:
    """The sync raw client run in a thread pool (``run_in_executor``), as an async
    app must run a blocking client; the same pool size as ``ThreadedStore``."""

    def __init__(self, raw: Any) -> None:
        from concurrent.futures import ThreadPoolExecutor

        self.raw = raw
        self.pool = ThreadPoolExecutor(4)

    async def load(self, key: str) -> Any:
        import asyncio

        return await asyncio.get_running_loop().run_in_executor(self.pool, self.raw.load, key)

    async def save(self, record: Record) -> None:
        import asyncio

        await asyncio.get_running_loop().run_in_executor(self.pool, self.raw.save, record)

    async def close(self) -> None:
        self.pool.shutdown()
        self.raw.close()


class RawAsyncRedis:
    """redis.asyncio (hiredis parser): GET, then SET with PX."""

    def __init__(self, ctx: RunContext) -> None:
        import redis.asyncio

        self.client = redis.asyncio.Redis.from_url(_plain_redis_url())
        self.prefix = ctx.unique("rawbench") + ":"

    async def load(self, key: str) -> Any:
        return await self.client.get(self.prefix + key)

    async def save(self, record: Record) -> None:
        ttl_ms = max(1, int((record.expires_at - _now()) * 1000))
        await self.client.set(self.prefix + record.id, record.data, px=ttl_ms)

    async def close(self) -> None:
        async for key in self.client.scan_iter(match=self.prefix + "*", count=1000):
            await self.client.unlink(key)
        await self.client.aclose()


class _RawAsyncDBAPI:
    """An async DB-API client doing SELECT + upsert on its own table."""

    sync: type[_RawDBAPI]

    def __init__(self, ctx: RunContext) -> None:
        self.ctx = ctx
        self.db: Any = None
        self.helper = self.sync(ctx)  # creates the table (and drops it at close)

    async def connect(self) -> Any:
        raise NotImplementedError

    async def load(self, key: str) -> Any:
        if self.db is None:
            self.db = await self.connect()
        async with self.db.cursor() as cursor:
            await cursor.execute(self.helper._select, (key,))
            return await cursor.fetchone()

    async def save(self, record: Record) -> None:
        if self.db is None:
            self.db = await self.connect()
        async with self.db.cursor() as cursor:
            await cursor.execute(self.helper._upsert, _row(record))

    async def close(self) -> None:
        if self.db is not None:
            result = self.db.close()
            if hasattr(result, "__await__"):
                await result
        self.helper.close()


class RawAsyncPostgres(_RawAsyncDBAPI):
    """psycopg 3 AsyncConnection (autocommit): SELECT + upsert."""

    sync = RawPostgres

    async def connect(self) -> Any:
        import psycopg

        url = POSTGRES_URL.replace("postgresql+psycopg://", "postgresql://")
        return await psycopg.AsyncConnection.connect(url, autocommit=True)


class RawAsyncMariaDB(_RawAsyncDBAPI):
    """aiomysql (autocommit): SELECT + INSERT ... ON DUPLICATE KEY UPDATE."""

    sync = RawMariaDB

    async def connect(self) -> Any:
        import aiomysql
        from sqlalchemy.engine import make_url

        url = make_url(MYSQL_URL)
        return await aiomysql.connect(
            host=url.host or "127.0.0.1",
            port=url.port or 3306,
            user=url.username or "root",
            password=url.password or "",
            db=url.database or "test",
            autocommit=True,
        )


def _threaded(raw: Callable[[RunContext], Any]) -> Callable[[RunContext], Any]:
    return lambda ctx: RawInThreads(raw(ctx))


def _plain_redis_url() -> str:
    return REDIS_URL.partition("?")[0]


# -- filling a store fast, exactly as its own writes would ------------------------------


def _fill_by_saving(store: Any, records: Iterable[Record]) -> None:
    """The store's own ``save`` in a tight loop (in-process and file stores)."""
    save = store.save
    for record in records:
        save(record)


def _fill_sqlite(store: Any, records: Iterable[Record]) -> None:
    """One sqlite3 transaction with ``executemany`` of the store's own upsert columns:
    the rows are exactly what ``SQLiteStore.save`` writes."""
    db = sqlite3.connect(store.path, isolation_level=None, timeout=30)
    try:
        db.execute("BEGIN IMMEDIATE")
        db.executemany(
            f"INSERT OR REPLACE INTO {store.table} ({_SQL_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)",
            (_row(record) for record in records),
        )
        db.execute("COMMIT")
        # Leave no WAL as large as the table behind: the first timed write would
        # otherwise copy it all back (a checkpoint) during warm-up or a round.
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        db.close()


def _fill_redis(store: Any, records: Iterable[Record]) -> None:
    """The store's own save script (EVALSHA), pipelined 2,000 calls per round trip."""
    from sessionware.stores.redis._codec import save_args
    from sessionware.stores.redis._scripts import SAVE_SCRIPT

    sha = store.client.script_load(SAVE_SCRIPT)
    pipe = store.client.pipeline(transaction=False)
    for number, record in enumerate(records, 1):
        pipe.evalsha(sha, 1, store.keys.session(record.id), *save_args(record, -1))
        if number % 2000 == 0:
            pipe.execute()
    pipe.execute()


def _fill_sql(store: Any, records: Iterable[Record]) -> None:
    """SQLAlchemy executemany INSERT into the store's table, 5,000 rows a batch."""
    from sqlalchemy import MetaData, Table, insert

    table = Table(store.table, MetaData(), autoload_with=store.engine)
    statement = insert(table)
    batch: list[dict[str, Any]] = []
    with store.engine.begin() as connection:
        for record in records:
            batch.append(dict(zip(_SQL_COLUMNS.split(", "), _row(record), strict=True)))
            if len(batch) >= 5000:
                connection.execute(statement, batch)
                batch = []
        if batch:
            connection.execute(statement, batch)


# -- removing what a target left behind ---------------------------------------------


def _discard_local(url: str) -> None:
    """Local stores live in a directory of their own under the run's workdir."""
    from sessionware.stores._embedded.urls import split_url

    path, _ = split_url(url)
    shutil.rmtree(os.path.dirname(path) if not url.startswith("file:") else path, True)


def _discard_redis(url: str) -> None:
    store = open_store(url, setup=False)
    try:
        store.delete_all()
    finally:
        store.close()


def _discard_sql(url: str) -> None:
    from sessionware.stores.sql import SQLStore

    store = open_store(url, setup=False)
    assert isinstance(store, SQLStore)
    try:
        store.drop_table()
    finally:
        store.close()


# -- the registry ----------------------------------------------------------------


@dataclass(frozen=True)
class StoreSpec:
    """How to benchmark one store.

    ``module``: sessionware's store module (missing = not merged yet).
    ``url``: a fresh store URL for one target of this run, with every option in it
    (a private directory, ``?prefix=`` or ``?table=``), so runs never collide and any
    process or integration can open the same store from the URL alone.
    ``raw`` / ``raw_async``: the raw clients doing the same work (sync, async).
    ``fill``: bulk-writes records as the store's own save would (scale runs).
    ``discard``: removes what a target's URL left (keys, table, files).
    ``server``: host:port that must accept connections. ``requires``: client
    modules (the store's extra). ``shared``: several processes can use it at once.
    """

    name: str
    module: str
    url: Callable[[RunContext], str]
    raw: Callable[[RunContext], Any]
    raw_async: Callable[[RunContext], Any]
    config: str
    fill: Callable[[Any, Iterable[Record]], None] = _fill_by_saving
    discard: Callable[[str], None] = _discard_local
    server: tuple[str, int] | None = None
    requires: tuple[str, ...] = ()
    shared: bool = False
    slow_fill: bool = False

    def check(self) -> None:
        """Raise ``Unavailable`` with the reason this store cannot run here."""
        for module in self.requires:
            try:
                importlib.import_module(module)
            except ImportError as exc:
                raise Unavailable(
                    f"client library missing ({exc.name}); install its extra"
                ) from exc
        try:
            importlib.import_module(self.module)
        except ModuleNotFoundError as exc:
            if exc.name == self.module:
                raise Unavailable(f"{self.module} does not exist yet (not merged)") from exc
            raise Unavailable(f"{self.module} needs {exc.name}") from exc
        if self.server is not None and not _reachable(*self.server):
            raise Unavailable(f"no server at {self.server[0]}:{self.server[1]} (start it)")


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1.0):
            return True
    except OSError:
        return False


def _local(scheme: str, filename: str) -> Callable[[RunContext], str]:
    def url(ctx: RunContext) -> str:
        directory = os.path.join(ctx.workdir, ctx.unique(scheme))
        os.makedirs(directory)
        return f"{scheme}://{os.path.join(directory, filename)}"

    return url


def _with_query(base: str, name: str, value: str) -> str:
    return f"{base}{'&' if '?' in base else '?'}{name}={value}"


STORES: dict[str, StoreSpec] = {
    spec.name: spec
    for spec in (
        StoreSpec(
            "memory",
            "sessionware.stores.memory",
            url=lambda ctx: "memory://",
            raw=RawMemory,
            raw_async=RawAsyncMemory,
            config="in-process dict; raw: dict get/set of the encoded bytes",
            discard=lambda url: None,
        ),
        StoreSpec(
            "files",
            "sessionware.stores.files",
            url=lambda ctx: _local("file", "")(ctx).rstrip("/"),
            raw=RawFiles,
            raw_async=_threaded(RawFiles),
            config="one file per session in a temp dir; raw: open/read + write/os.replace",
            slow_fill=True,
        ),
        StoreSpec(
            "dbm",
            "sessionware.stores.dbm",
            url=_local("dbm", "sessions.dbm"),
            raw=RawDbm,
            raw_async=_threaded(RawDbm),
            config="dbm file in a temp dir (dbm.dumb here); raw: dbm.open(...)[key] get/set",
            slow_fill=True,
        ),
        StoreSpec(
            "sqlite",
            "sessionware.stores.sqlite",
            url=lambda ctx: _local("sqlite", "s.db")(ctx).replace("sqlite://", "sqlite:///"),
            raw=RawSQLite,
            raw_async=_threaded(RawSQLite),
            config="file in a temp dir; raw: sqlite3, WAL, synchronous=NORMAL, SELECT + upsert",
            fill=_fill_sqlite,
            shared=True,
        ),
        StoreSpec(
            "redis",
            "sessionware.stores.redis",
            url=lambda ctx: _with_query(REDIS_URL, "prefix", ctx.unique("swbench") + ":"),
            raw=RawRedis,
            raw_async=RawAsyncRedis,
            config="127.0.0.1:6379, hiredis; raw: redis-py GET + SET PX",
            fill=_fill_redis,
            discard=_discard_redis,
            server=("127.0.0.1", 6379),
            requires=("redis",),
            shared=True,
        ),
        StoreSpec(
            "postgresql",
            "sessionware.stores.sql",
            url=lambda ctx: _with_query(POSTGRES_URL, "table", ctx.unique("swbench")),
            raw=RawPostgres,
            raw_async=RawAsyncPostgres,
            config="127.0.0.1:5432 via psycopg 3; raw: psycopg SELECT + INSERT ON CONFLICT",
            fill=_fill_sql,
            discard=_discard_sql,
            server=("127.0.0.1", 5432),
            requires=("sqlalchemy", "psycopg"),
        ),
        StoreSpec(
            "mariadb",
            "sessionware.stores.sql",
            url=lambda ctx: _with_query(MYSQL_URL, "table", ctx.unique("swbench")),
            raw=RawMariaDB,
            raw_async=RawAsyncMariaDB,
            config="127.0.0.1:3306 via PyMySQL; raw: PyMySQL SELECT + ON DUPLICATE KEY UPDATE",
            fill=_fill_sql,
            discard=_discard_sql,
            server=("127.0.0.1", 3306),
            requires=("sqlalchemy", "pymysql"),
            slow_fill=True,
        ),
    )
}


@dataclass
class Target:
    """An opened store of one spec, plus its raw twin; ``close`` removes both."""

    spec: StoreSpec
    url: str
    store: Any
    raw: Any

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.store.close()
        if self.raw is not None:
            with contextlib.suppress(Exception):
                self.raw.close()
        discard(self.spec, self.url)


def discard(spec: StoreSpec, url: str) -> None:
    """Remove what ``url`` left behind; a failure is logged, never raised."""
    try:
        spec.discard(url)
    except Exception:
        logging.getLogger("benchmarks").warning("could not clean up %s", url, exc_info=True)


def open_target(spec: StoreSpec, ctx: RunContext, *, with_raw: bool = True) -> Target:
    url = spec.url(ctx)
    store = open_store(url)
    raw = spec.raw(ctx) if with_raw else None
    return Target(spec, url, store, raw)


def populate(target: Target, records: Iterable[Record]) -> None:
    """Fill the store as fast as it allows, with records exactly as its own save
    writes them (see each spec's ``fill``)."""
    target.spec.fill(target.store, records)
