"""The process's ``SessionManager`` for Django's settings, and its stores.

One store per ``SESSIONWARE_STORE`` URL is opened on first use and kept; one manager
per set of the settings it is built from (store, ``SECRET_KEY`` and
``SECRET_KEY_FALLBACKS``, ``SESSION_COOKIE_AGE``, ``SESSIONWARE_LISTENERS``,
``SESSIONWARE_ENCRYPTION_KEYS``, ``SESSIONWARE_SCHEMA``, ``SESSIONWARE_SCHEMA_VERSION``,
``SESSIONWARE_MIGRATIONS``), picked up again after ``override_settings`` changes one
of them.
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.signals import setting_changed
from django.utils.module_loading import import_string
from msgspec.structs import replace

from ..._sync.manager import SessionManager
from ...core.record import Record
from ...stores.base import Store, StoreProxy
from ...stores.registry import open_store

__all__ = [
    "DEFAULT_STORE",
    "close_stores",
    "get_manager",
    "get_store",
    "record_expiry",
    "setting",
]

#: The store used when ``settings.SESSIONWARE_STORE`` is not set.
DEFAULT_STORE = "sqlite:///sessions.db"
#: Settings the manager is built from: changing one (``override_settings``) builds
#: (or picks up) the manager for the new values.
MANAGER_SETTINGS = frozenset(
    {
        "SESSIONWARE_STORE",
        "SESSIONWARE_LISTENERS",
        "SESSIONWARE_ENCRYPTION_KEYS",
        "SESSIONWARE_SCHEMA",
        "SESSIONWARE_SCHEMA_VERSION",
        "SESSIONWARE_MIGRATIONS",
        "SECRET_KEY",
        "SECRET_KEY_FALLBACKS",
        "SESSION_COOKIE_AGE",
    }
)

_lock = threading.Lock()
_stores: dict[str, Store] = {}
_managers: dict[tuple[Any, ...], SessionManager] = {}
_current: SessionManager | None = None
#: The expiry Django wants for the record being saved (see ``_DjangoExpiry``).
record_expiry: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "sessionware_django_expiry", default=None
)


class _DjangoExpiry(StoreProxy):
    """Gives written records Django's expiry (save time + ``get_expiry_age()``),
    which can differ per session, where the manager's policy has one idle timeout.
    Closing is left to ``close_stores``: managers of one URL share the store."""

    def save_if_version(
        self, call: Callable[[Record, int], bool], record: Record, expected_version: int
    ) -> bool:
        expires_at = record_expiry.get()
        if expires_at is not None and expires_at != record.expires_at:
            record = replace(record, expires_at=expires_at)
        written: bool = call(record, expected_version)
        return written

    def close(self, call: Callable[[], None]) -> None:
        return None


def setting(name: str) -> Any:
    """``getattr(settings, name, None)``, read from the cache Django's settings
    object keeps of every setting read: Django fills it on first read and empties it
    whenever settings change (``override_settings``, assignment), and the
    ``settings.X`` lookup itself costs a Python call each time. A miss (not read yet,
    or just changed) reads through ``settings``."""
    cached: dict[str, Any] = object.__getattribute__(settings, "__dict__")
    try:
        return cached[name]
    except KeyError:
        return getattr(settings, name, None)


def get_store() -> Store:
    """The process's store for ``settings.SESSIONWARE_STORE``, opened on first use."""
    url: str = getattr(settings, "SESSIONWARE_STORE", None) or DEFAULT_STORE
    with _lock:
        store = _stores.get(url)
        if store is None:
            store = _stores[url] = open_store(url)
    return store


def get_manager() -> SessionManager:
    """The ``SessionManager`` for the current settings: add listeners or call
    ``revoke_user`` / ``purge_expired`` on it."""
    manager = _current
    return manager if manager is not None else _build_manager()


def _build_manager() -> SessionManager:
    global _current
    fallbacks = tuple(getattr(settings, "SECRET_KEY_FALLBACKS", ()))
    age = settings.SESSION_COOKIE_AGE
    listeners = tuple(getattr(settings, "SESSIONWARE_LISTENERS", ()))
    # [current, *old] keys: session data encrypted at rest (docs/encryption.md).
    encryption = getattr(settings, "SESSIONWARE_ENCRYPTION_KEYS", None)
    encryption_keys = tuple(encryption) if encryption else None
    typing = _schema_settings()
    store = get_store()
    config = (id(store), settings.SECRET_KEY, fallbacks, age, listeners, encryption_keys, typing)
    with _lock:
        manager = _managers.get(config)
        if manager is None:
            manager = SessionManager(
                _DjangoExpiry(store),
                secret_key=[settings.SECRET_KEY, *fallbacks],
                idle_timeout=age,  # Django's sessions live SESSION_COOKIE_AGE past use
                max_age=None,
                encryption_keys=encryption_keys,
                schema=typing[0],
                schema_version=typing[1],
                migrations=dict(typing[2]),
            )
            for listener in listeners:
                manager.add_listener(import_string(listener))
            _managers[config] = manager
        _current = manager
    return manager


def _schema_settings() -> tuple[Any, int, tuple[tuple[int, Any], ...]]:
    """Typed sessions (docs/typed-sessions.md): ``SESSIONWARE_SCHEMA`` (a class or
    its dotted path), ``SESSIONWARE_SCHEMA_VERSION`` and ``SESSIONWARE_MIGRATIONS``
    (``{n: function or dotted path}``), hashable for the managers' cache."""
    schema = getattr(settings, "SESSIONWARE_SCHEMA", None)
    if isinstance(schema, str):
        schema = import_string(schema)
    version = int(getattr(settings, "SESSIONWARE_SCHEMA_VERSION", 1))
    steps = getattr(settings, "SESSIONWARE_MIGRATIONS", None) or {}
    migrations = tuple(
        (int(n), import_string(step) if isinstance(step, str) else step)
        for n, step in sorted(steps.items())
    )
    return schema, version, migrations


def _settings_changed(*, setting: str, **kwargs: Any) -> None:
    global _current
    if setting in MANAGER_SETTINGS:
        _current = None


setting_changed.connect(_settings_changed)


def close_stores() -> None:
    """Flush queued visits, close every store this module opened; the next use
    opens them again."""
    global _current
    with _lock:
        managers, stores = list(_managers.values()), list(_stores.values())
        _managers.clear()
        _stores.clear()
        _current = None
    for manager in managers:
        manager.close()
    for store in stores:
        store.close()
