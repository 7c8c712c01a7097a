"""The store interface every backend implements, and ``StoreProxy`` to wrap one.

``Store`` (``AsyncStore``) is what every store must provide. ``RevocationMarkers``
(``AsyncRevocationMarkers``) is the optional rest: every built-in store keeps
revocation markers, and a manager whose store (or a store it wraps) lacks them
still works, but warns that a login racing ``revoke_user()`` may survive it.
``RecordListing`` (``AsyncRecordListing``) is optional too, and every built-in
store has it: the newest records without loading every one (``sessionware list``),
and a delete guarded by the version (the manager removes an undecodable record
with it, so a fresh write racing the removal is kept).
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping
from typing import Any, Protocol, TypeAlias, runtime_checkable

from ..core.record import Record

__all__ = [
    "STORE_OPERATIONS",
    "AsyncRecordListing",
    "AsyncRevocationMarkers",
    "AsyncStore",
    "AsyncStoreLike",
    "RecordListing",
    "RevocationMarkers",
    "Store",
    "StoreLike",
    "StoreProxy",
    "has_record_listing",
    "keeps_revocation_markers",
    "unwrapped",
]

STORE_OPERATIONS = (
    "setup",
    "load",
    "save",
    "save_if_version",
    "touch_many",
    "delete",
    "delete_many",
    "delete_all",
    "ids",
    "count",
    "ids_for_user",
    "mark_user_revoked",
    "user_revoked_at",
    "newest",
    "delete_if_version",
    "purge_expired",
    "close",
)


@runtime_checkable
class Store(Protocol):
    """A synchronous session store. Keys are ``Record.id`` (hashed ids); times are
    Unix seconds; only live (unexpired) records are ever returned or counted."""

    def setup(self) -> None:
        """Create tables/directories. Idempotent; safe from many processes at once."""

    def load(self, id: str) -> Record | None:
        """The live record stored under ``id``, or None when missing or expired."""

    def save(self, record: Record) -> None:
        """Insert or replace ``record``."""

    def save_if_version(self, record: Record, expected_version: int) -> bool:
        """Write only if the stored live version is ``expected_version`` (0: must not
        exist, or be expired). True when written."""

    def touch_many(self, expiries: Mapping[str, float]) -> None:
        """Push ``expires_at`` of each live record forward; never shortens, never creates."""

    def delete(self, id: str) -> int:
        """Remove one record; the number removed (0 or 1)."""

    def delete_many(self, ids: Iterable[str]) -> int:
        """Remove these records; the number removed."""

    def delete_all(self) -> int:
        """Remove every record of this store; the number removed."""

    def ids(self) -> Iterator[str]:
        """The keys of live records."""

    def count(self) -> int:
        """The number of live records."""

    def ids_for_user(self, user_id: str) -> list[str]:
        """Keys of the live records bound to ``user_id``, found through an index."""

    def purge_expired(self, now: float | None = None) -> int:
        """Remove expired records in bounded batches; the number removed."""

    def close(self) -> None:
        """Release connections and files."""


@runtime_checkable
class RevocationMarkers(Protocol):
    """The optional part of a ``Store``: what ``revoke_user`` leaves behind so that a
    login in a request that began before it undoes itself when it saves."""

    def mark_user_revoked(self, user_id: str, revoked_at: float, keep_until: float) -> None:
        """Remember that ``user_id``'s sessions were revoked at ``revoked_at``, until
        ``keep_until``; an existing marker keeps the later of each time. Markers are
        not sessions: never loaded, listed or counted; ``delete_all`` and
        ``purge_expired`` remove them."""

    def user_revoked_at(self, user_id: str) -> float | None:
        """The latest revocation time of ``user_id`` while its marker is kept, else None."""


@runtime_checkable
class RecordListing(Protocol):
    """The optional part of a ``Store`` for administration: the newest records,
    and a delete that leaves a record rewritten meanwhile alone."""

    def newest(self, limit: int) -> list[Record]:
        """The ``limit`` live records created last, newest first (equal creation
        times: the greater key first), reading no more of the store than it must."""

    def delete_if_version(self, id: str, expected_version: int) -> bool:
        """Remove the record under ``id`` only if its stored version is still
        ``expected_version`` (expired or not); True when removed."""


@runtime_checkable
class AsyncStore(Protocol):
    """``Store`` with every operation a coroutine; ``ids`` is an async iterator."""

    async def setup(self) -> None: ...

    async def load(self, id: str) -> Record | None: ...

    async def save(self, record: Record) -> None: ...

    async def save_if_version(self, record: Record, expected_version: int) -> bool: ...

    async def touch_many(self, expiries: Mapping[str, float]) -> None: ...

    async def delete(self, id: str) -> int: ...

    async def delete_many(self, ids: Iterable[str]) -> int: ...

    async def delete_all(self) -> int: ...

    def ids(self) -> AsyncIterator[str]: ...

    async def count(self) -> int: ...

    async def ids_for_user(self, user_id: str) -> list[str]: ...

    async def purge_expired(self, now: float | None = None) -> int: ...

    async def close(self) -> None: ...


@runtime_checkable
class AsyncRevocationMarkers(Protocol):
    """``RevocationMarkers`` with both operations coroutines."""

    async def mark_user_revoked(
        self, user_id: str, revoked_at: float, keep_until: float
    ) -> None: ...

    async def user_revoked_at(self, user_id: str) -> float | None: ...


@runtime_checkable
class AsyncRecordListing(Protocol):
    """``RecordListing`` with both operations coroutines."""

    async def newest(self, limit: int) -> list[Record]: ...

    async def delete_if_version(self, id: str, expected_version: int) -> bool: ...


#: Operations a store may offer on a connection its caller gives (a near cache's
#: tracked Redis connection): a proxy runs them through its override of the plain
#: operation, so ``load_on(connection, id)`` is intercepted as ``load``.
ON_CONNECTION = {"load_on": "load", "save_if_version_on": "save_if_version"}
#: Operations a store may also offer in two halves on such a connection (sent now,
#: answered later): hidden by a proxy that overrides the plain operation, so that
#: the override sees the whole operation, through its ``ON_CONNECTION`` variant.
SPLIT_ON_CONNECTION = {"start_save_on": "save_if_version"}


def _on_connection(override: Any, target: Any, connection: Any, *args: Any) -> Any:
    return override(functools.partial(target, connection), *args)


class StoreProxy:
    """Wraps a store; is itself a store. Override an operation to intercept it::

        class Timing(StoreProxy):
            def load(self, call, id):
                started = time.perf_counter()
                try:
                    return call(id)
                finally:
                    record(time.perf_counter() - started)

    The override receives the wrapped store's bound method first, then the
    operation's arguments. Operations a proxy does not override go straight to the
    wrapped store with no extra call. Proxies stack: ``Timing(Tracing(store))``, and
    a subclass may extend an override with ``super().load(call, id)``.
    For an async store write ``async def load(self, call, id): return await call(id)``.
    """

    _intercepted: frozenset[str] = frozenset()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._intercepted = frozenset(op for op in STORE_OPERATIONS if hasattr(cls, op))

    def __init__(self, store: Store | AsyncStore | StoreProxy) -> None:
        self.store = store
        # Instance attributes shadow the class's overrides: callers use the store's
        # signature (``proxy.load(id)``), while the class keeps the overrides intact
        # for ``super()``. The wrapped method is bound once, here, not per call.
        cls = type(self)
        for operation in STORE_OPERATIONS:
            target = getattr(store, operation, None)
            if target is None:  # a third-party store without an optional operation
                continue
            if operation in self._intercepted:
                target = functools.partial(getattr(cls, operation), self, target)
            setattr(self, operation, target)
        for variant, operation in ON_CONNECTION.items():
            target = getattr(store, variant, None)
            if target is not None and operation in self._intercepted:
                override = functools.partial(getattr(cls, operation), self)
                setattr(self, variant, functools.partial(_on_connection, override, target))
        for variant, operation in SPLIT_ON_CONNECTION.items():
            if operation in self._intercepted and hasattr(store, variant):
                setattr(self, variant, None)

    def __getattr__(self, name: str) -> Any:
        # Backend-specific extras (e.g. a Redis store's client) stay reachable.
        if name == "store":
            raise AttributeError(name)
        return getattr(self.store, name)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.store!r})"


#: Where a wrapper keeps the store it wraps: a proxy's ``store``, a threaded or async
#: memory store's ``sync_store``, a tiered store's ``durable`` (the authority).
_WRAPPED_AS = ("sync_store", "durable", "store")


def unwrapped(store: object) -> Iterator[object]:
    """``store``, then each store it wraps, down to the innermost (at most 16 deep)."""
    for _ in range(16):
        yield store
        attributes = getattr(store, "__dict__", {})
        inner = next((attributes[name] for name in _WRAPPED_AS if name in attributes), None)
        if inner is None:
            return
        store = inner


#: What the managers and the wrapping stores (threaded, tiered) take: a store, or a
#: ``StoreProxy`` around one. A proxy is the store it wraps at runtime, but its
#: overrides take the wrapped method first (``load(self, call, id)``), so a proxy
#: subclass matches no store protocol statically; ``StoreProxy`` itself does (its
#: ``__getattr__`` forwards).
StoreLike: TypeAlias = Store | StoreProxy
AsyncStoreLike: TypeAlias = AsyncStore | StoreProxy


def keeps_revocation_markers(store: object) -> bool:
    """Whether ``store``, down through proxies and wrappers (threaded, tiered), has
    ``mark_user_revoked`` and ``user_revoked_at``."""
    return all(
        hasattr(layer, "mark_user_revoked") and hasattr(layer, "user_revoked_at")
        for layer in unwrapped(store)
    )


def has_record_listing(store: object) -> bool:
    """Whether ``store``, down through proxies and wrappers (threaded, tiered), has
    ``newest`` and ``delete_if_version``."""
    return all(
        hasattr(layer, "newest") and hasattr(layer, "delete_if_version")
        for layer in unwrapped(store)
    )
