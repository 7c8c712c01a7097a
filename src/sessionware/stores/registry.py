"""``open_store(url)`` and ``open_async_store(url)``: pick a store by URL scheme.

Built-in schemes are listed here, so opening one costs no package-metadata scan.
Third-party packages add schemes through the ``sessionware.stores`` entry-point
group (and ``sessionware.async_stores`` for native async stores): the entry point
names the scheme and points at a class with a ``from_url(url, **options)``
classmethod, or at any callable taking ``(url, **options)``.
"""

from __future__ import annotations

import importlib
from typing import Any

from ..errors import SessionwareError

__all__ = ["open_async_store", "open_store", "scheme_of"]

_REDIS = "sessionware.stores.redis:RedisStore"
_ASYNC_REDIS = "sessionware.stores.redis:AsyncRedisStore"
_SQL = "sessionware.stores.sql:SQLStore"
_ASYNC_SQL = "sessionware.stores.sql:AsyncSQLStore"
#: The embedded stores have no async client: their sync store, run in threads
#: (loads it can answer from memory stay on the event loop).
_THREADED = "sessionware.stores.threaded:ThreadedStore"

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
    **dict.fromkeys(("file", "dbm", "sqlite"), _THREADED),
    **{scheme: _ASYNC_REDIS for scheme, target in BUILTIN_STORES.items() if target == _REDIS},
}

#: Any SQLAlchemy URL whose dialect is one of these goes to the SQL store.
SQL_DIALECTS = frozenset({"postgresql", "postgres", "mysql", "mariadb", "mssql", "oracle"})


class UnknownStoreError(SessionwareError, ValueError):
    """No store is registered for the URL's scheme."""


def scheme_of(url: str) -> str:
    scheme, sep, _ = url.partition("://")
    if not sep or not scheme:
        raise UnknownStoreError(f"not a store URL (expected scheme://...): {url!r}")
    return scheme.lower()


def _load(target: str) -> Any:
    module_name, _, attribute = target.partition(":")
    return getattr(importlib.import_module(module_name), attribute)


def _entry_point(group: str, scheme: str) -> Any | None:
    from importlib.metadata import entry_points

    for entry in entry_points(group=group, name=scheme):
        return entry.load()
    return None


def _build(factory: Any, url: str, options: dict[str, Any]) -> Any:
    from_url = getattr(factory, "from_url", None)
    return from_url(url, **options) if from_url is not None else factory(url, **options)


def _sync_factory(scheme: str) -> Any | None:
    if scheme in BUILTIN_STORES:
        return _load(BUILTIN_STORES[scheme])
    if scheme.partition("+")[0] in SQL_DIALECTS or scheme.startswith("sqlite+"):
        return _load(_SQL)
    return _entry_point("sessionware.stores", scheme)


def open_store(url: str, *, setup: bool = True, **options: Any) -> Any:
    """A ready ``Store`` for ``url`` (``setup()`` already called unless ``setup=False``).

    ``memory://``, ``file:///dir``, ``dbm:///file``, ``sqlite:///file.db``,
    ``redis://host:6379/0`` (and ``rediss``, ``redis+sentinel``, ``redis+cluster``,
    ``valkey...``), any SQLAlchemy URL such as ``postgresql+psycopg://...``, or a
    scheme a third-party package registered.
    """
    factory = _sync_factory(scheme_of(url))
    if factory is None:
        raise UnknownStoreError(f"no session store is registered for {scheme_of(url)!r} URLs")
    store = _build(factory, url, options)
    if setup:
        store.setup()
    return store


async def open_async_store(url: str, *, setup: bool = True, **options: Any) -> Any:
    """A ready ``AsyncStore`` for ``url``: a native async store where the client has
    one (memory, Redis, SQL), otherwise the sync store run in worker threads."""
    scheme = scheme_of(url)
    factory: Any | None
    if scheme in BUILTIN_ASYNC_STORES:
        factory = _load(BUILTIN_ASYNC_STORES[scheme])
    elif scheme.partition("+")[0] in SQL_DIALECTS or scheme.startswith("sqlite+"):
        factory = _load(_ASYNC_SQL)
    else:
        factory = _entry_point("sessionware.async_stores", scheme)
    if factory is not None:
        store = _build(factory, url, options)
    else:
        from .threaded import ThreadedStore

        store = ThreadedStore(open_store(url, setup=False, **options))
    if setup:
        await store.setup()
    return store
