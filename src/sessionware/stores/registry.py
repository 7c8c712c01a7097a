"""``open_store(url)`` and ``open_async_store(url)``: pick a store by URL scheme.

Built-in schemes are listed here, so opening one costs no package-metadata scan.
Third-party packages add schemes through the ``sessionware.stores`` entry-point
group (and ``sessionware.async_stores`` for native async stores): the entry point
names the scheme and points at a class with a ``from_url(url, **options)``
classmethod, or at any callable taking ``(url, **options)``.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import json
from pathlib import Path
from typing import Any

from ..errors import SessionwareError, StoreError, redact_url
from .base import AsyncStore, Store

__all__ = [
    "MissingExtraError",
    "UnknownStoreError",
    "install_hint",
    "missing_extra",
    "open_async_store",
    "open_store",
    "scheme_of",
    "sqlalchemy_spelling",
]

_REDIS = "sessionware.stores.redis:RedisStore"
_ASYNC_REDIS = "sessionware.stores.redis:AsyncRedisStore"
_SQL = "sessionware.stores.sql:SQLStore"
_ASYNC_SQL = "sessionware.stores.sql:AsyncSQLStore"

# Which stores are async-sourced and which are sync stores run in threads is
# explained once, in the ``sessionware.stores`` package docstring.

BUILTIN_STORES: dict[str, str] = {
    "memory": "sessionware.stores.memory:MemoryStore",
    "file": "sessionware.stores.files:FileStore",
    "dbm": "sessionware.stores.dbm:DbmStore",
    "sqlite": "sessionware.stores.sqlite:SQLiteStore",
    **dict.fromkeys(
        (
            "redis",
            "rediss",
            "redis+sentinel",
            "redis+cluster",
            "valkey",
            "valkeys",
            "valkey+sentinel",
            "valkey+cluster",
        ),
        _REDIS,
    ),
}

BUILTIN_ASYNC_STORES: dict[str, str] = {
    "memory": "sessionware.stores.memory:AsyncMemoryStore",
    **{scheme: _ASYNC_REDIS for scheme, target in BUILTIN_STORES.items() if target == _REDIS},
}

#: Built-in schemes whose sync store ``open_async_store`` runs in worker threads
#: (``ThreadedStore``): the embedded stores, which have no async client.
THREADED_SCHEMES = frozenset({"file", "dbm", "sqlite"})

#: Any SQLAlchemy URL whose dialect is one of these goes to the SQL store.
SQL_DIALECTS = frozenset({"postgresql", "postgres", "mysql", "mariadb", "mssql", "oracle"})


class UnknownStoreError(SessionwareError, ValueError):
    """No store is registered for the URL's scheme."""


class MissingExtraError(StoreError, ImportError):
    """The store for a URL needs a package that is not installed; the message names
    the extra that brings it and the command that installs it. Also an
    ``ImportError``, which is what it was before it had a clear message."""


# ------------------------------------------------------------ missing extras

#: The extra that brings the client of each database family, by URL dialect. The
#: async stores of PostgreSQL and MySQL need their database's extra even when the
#: sync driver came with ``[sql]``: it also brings SQLAlchemy's asyncio support.
_DIALECT_EXTRAS = {
    "postgresql": "postgres",
    "postgres": "postgres",
    "mysql": "mysql",
    "mariadb": "mysql",
}


#: The module SQLAlchemy imports for a URL naming no driver, when no extra brings
#: it, and the driver of the database's extra to name instead.
_DEFAULT_DRIVERS = {"MySQLdb": "pymysql", "psycopg2": "psycopg"}


def extra_for(url: str, *, is_async: bool = False) -> str:
    """The extra a user installs to open ``url`` (``[sql]`` for dialects without one)."""
    scheme = scheme_of(url)
    if BUILTIN_STORES.get(scheme) == _REDIS:
        return "redis"
    dialect, _, driver = scheme.partition("+")
    if dialect == "sqlite":
        return "sqlite-async" if is_async or driver == "aiosqlite" else "sql"
    return _DIALECT_EXTRAS.get(dialect, "sql")


@functools.cache
def _source_checkout() -> Path | None:
    """The checkout this sessionware runs from (an editable or ``src``-path install),
    or None for an installed wheel or sdist, where ``pip install -e`` means nothing."""
    package = Path(__file__).resolve().parent.parent
    root = package.parent.parent
    if package.parent.name == "src" and (root / "pyproject.toml").is_file():
        return root
    try:
        from importlib.metadata import PackageNotFoundError, distribution

        direct_url = distribution("sessionware").read_text("direct_url.json")
    except (PackageNotFoundError, OSError):
        return None
    try:
        info = json.loads(direct_url or "{}")
    except ValueError:
        return None
    if not info.get("dir_info", {}).get("editable"):
        return None
    url = str(info.get("url", ""))
    return Path(url.removeprefix("file://")) if url.startswith("file://") else None


def install_hint(extra: str) -> str:
    """The command that installs ``extra``: from PyPI, or into the checkout this
    sessionware runs from."""
    checkout = _source_checkout()
    if checkout is not None:
        return f'pip install -e ".[{extra}]" in {checkout}'
    return f'pip install "sessionware[{extra}]"'


def missing_extra(
    url: str, exc: BaseException, *, is_async: bool = False, unknown_driver: bool = False
) -> MissingExtraError:
    """The error for a store whose package (``exc``: the ImportError, or SQLAlchemy's
    error for a driver it cannot load) is missing. ``unknown_driver``: SQLAlchemy
    knows no driver of that name, which may be a typo as well as a missing plugin.
    Raise it ``from exc``."""
    extra = extra_for(url, is_async=is_async)
    detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if unknown_driver:
        needs = (
            "no such driver, or its package is missing; "
            f"the [{extra}] extra brings the supported ones"
        )
    elif extra == "sql" and not scheme_of(url).startswith("sqlite"):
        needs = "this store needs the [sql] extra and the database's driver"
    elif (driver := _default_driver_instead(url, exc)) is not None:
        dialect = scheme_of(url)
        needs = (
            "the URL names no driver and SQLAlchemy's default is in no extra: write "
            f"{dialect}+{driver}://, the driver the [{extra}] extra brings"
        )
    else:
        needs = f"this store needs the [{extra}] extra"
    error = MissingExtraError(
        f"cannot open {redact_url(url)}: {detail} ({needs}: {install_hint(extra)})"
    )
    error.name = getattr(exc, "name", None)
    return error


def _default_driver_instead(url: str, exc: BaseException) -> str | None:
    """The driver to name in a URL that names none, when SQLAlchemy's default for it
    (``exc.name``: mysqlclient's ``MySQLdb``, ``psycopg2``) is what is missing."""
    if "+" in scheme_of(url):
        return None
    return _DEFAULT_DRIVERS.get(getattr(exc, "name", None) or "")


def sqlalchemy_spelling(url: str) -> str:
    """``url`` as SQLAlchemy spells it: ``postgres://``, as many hosts hand it out,
    is ``postgresql://`` (SQLAlchemy no longer knows the short name)."""
    scheme = scheme_of(url)
    dialect, plus, driver = scheme.partition("+")
    if dialect != "postgres":
        return url
    return f"postgresql{plus}{driver}{url[len(scheme) :]}"


def scheme_of(url: str) -> str:
    """The lowercased scheme of a store URL (``"redis+cluster"`` for
    ``redis+cluster://...``); ``UnknownStoreError`` when ``url`` has none."""
    scheme, sep, _ = url.partition("://")
    if not sep or not scheme:
        raise UnknownStoreError(f"not a store URL (expected scheme://...): {redact_url(url)!r}")
    return scheme.lower()


#: What makes a store: a class with ``from_url(url, **options)``, or any callable
#: taking ``(url, **options)`` (an entry point's target; nothing more is known of it).
StoreFactory = Any


def _load(target: str, url: str, *, is_async: bool = False) -> StoreFactory:
    module_name, _, attribute = target.partition(":")
    try:
        return getattr(importlib.import_module(module_name), attribute)
    except ImportError as exc:
        if (exc.name or "").startswith("sessionware"):
            raise  # a broken installation, not a missing extra
        raise missing_extra(url, exc, is_async=is_async) from exc


def _entry_point(group: str, scheme: str) -> StoreFactory | None:
    from importlib.metadata import entry_points

    for entry in entry_points(group=group, name=scheme):
        return entry.load()
    return None


def _build(factory: StoreFactory, url: str, options: dict[str, Any]) -> Any:
    from_url = getattr(factory, "from_url", None)
    return from_url(url, **options) if from_url is not None else factory(url, **options)


def _sync_factory(scheme: str, url: str) -> StoreFactory | None:
    if scheme in BUILTIN_STORES:
        return _load(BUILTIN_STORES[scheme], url)
    if scheme.partition("+")[0] in SQL_DIALECTS or scheme.startswith("sqlite+"):
        return _load(_SQL, url)
    return _entry_point("sessionware.stores", scheme)


def _near_cache(url: str, options: dict[str, Any]) -> tuple[str, Any]:
    """``url`` and ``options`` without the near cache's settings (``?near_cache=on``,
    ``near_cache_entries``, ``near_cache_bytes``), and those settings or None."""
    if "near_cache" not in url and not any(name.startswith("near_cache") for name in options):
        return url, None
    from .near_cache import take_settings

    return take_settings(url, options)


def _cached(store: Store, settings: Any) -> Store:
    """``store`` behind a near cache; closed if the cache cannot be made for it."""
    from .near_cache import NearCacheStore

    try:
        return NearCacheStore(store, max_entries=settings.max_entries, max_bytes=settings.max_bytes)
    except BaseException:
        with contextlib.suppress(Exception):
            store.close()
        raise


async def _async_cached(store: AsyncStore, settings: Any) -> AsyncStore:
    from .near_cache import AsyncNearCacheStore

    try:
        return AsyncNearCacheStore(
            store, max_entries=settings.max_entries, max_bytes=settings.max_bytes
        )
    except BaseException:
        with contextlib.suppress(Exception):
            await store.close()
        raise


def open_store(url: str, *, setup: bool = True, **options: Any) -> Store:
    """A ready ``Store`` for ``url`` (``setup()`` already called unless ``setup=False``).

    ``memory://``, ``file:///dir``, ``dbm:///file``, ``sqlite:///file.db``,
    ``redis://host:6379/0`` (and ``rediss``, ``redis+sentinel``, ``redis+cluster``,
    ``valkey...``), any SQLAlchemy URL such as ``postgresql+psycopg://...``, or a
    scheme a third-party package registered.
    """
    url, near_cache = _near_cache(sqlalchemy_spelling(url), options)
    factory = _sync_factory(scheme_of(url), url)
    if factory is None:
        raise UnknownStoreError(f"no session store is registered for {scheme_of(url)!r} URLs")
    store: Store = _build(factory, url, options)
    if near_cache is not None:
        store = _cached(store, near_cache)
    if setup:
        try:
            store.setup()
        except BaseException:
            # The caller never gets this store to close: release its connections.
            with contextlib.suppress(Exception):
                store.close()
            raise
    return store


async def open_async_store(url: str, *, setup: bool = True, **options: Any) -> AsyncStore:
    """A ready ``AsyncStore`` for ``url``: a native async store where the client has
    one (memory, Redis, SQL), otherwise the sync store run in worker threads."""
    url, near_cache = _near_cache(sqlalchemy_spelling(url), options)
    scheme = scheme_of(url)
    factory: StoreFactory | None
    if scheme in BUILTIN_ASYNC_STORES:
        factory = _load(BUILTIN_ASYNC_STORES[scheme], url, is_async=True)
    elif scheme.partition("+")[0] in SQL_DIALECTS or scheme.startswith("sqlite+"):
        factory = _load(_ASYNC_SQL, url, is_async=True)
    elif scheme in THREADED_SCHEMES:
        factory = None
    else:
        factory = _entry_point("sessionware.async_stores", scheme)
    store: AsyncStore
    if factory is not None:
        store = _build(factory, url, options)
    else:
        from .threaded import ThreadedStore  # here: sync users never import asyncio for it

        store = ThreadedStore(open_store(url, setup=False, **options))
    if near_cache is not None:
        store = await _async_cached(store, near_cache)
    if setup:
        try:
            await store.setup()
        except BaseException:
            with contextlib.suppress(Exception):
                await store.close()
            raise
    return store
