"""sessionware: server-side web sessions and visit tracking.

One manager, any store, sync and async, safe by default::

    import sessionware as sw

    store = sw.open_store("sqlite:///sessions.db")
    manager = sw.SessionManager(store, secret_key="...")
    with manager.scope(cookie_value) as session:
        session["cart"] = [1, 2]

``import sessionware`` imports no asyncio, database driver or web framework; the
async names below load on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import wsgi
from ._sync.manager import SessionManager, SessionScope
from .context import current
from .core.codecs import Codec
from .core.record import Record
from .core.session import Session
from .core.visits import VisitTracker
from .errors import ConcurrentUpdateError, SessionwareError, StoreError, StoreUnavailable
from .stores.base import AsyncStore, Store, StoreProxy
from .stores.registry import open_store

if TYPE_CHECKING:
    from ._async.manager import AsyncSessionManager
    from .stores.registry import open_async_store

__version__ = "0.1.0"

__all__ = [
    "AsyncSessionManager",
    "AsyncStore",
    "Codec",
    "ConcurrentUpdateError",
    "Record",
    "Session",
    "SessionManager",
    "SessionScope",
    "SessionwareError",
    "Store",
    "StoreError",
    "StoreProxy",
    "StoreUnavailable",
    "VisitTracker",
    "current",
    "open_async_store",
    "open_store",
    "wsgi",
]

_LAZY = {
    "AsyncSessionManager": ("sessionware._async.manager", "AsyncSessionManager"),
    "open_async_store": ("sessionware.stores.registry", "open_async_store"),
    "asgi": ("sessionware.asgi", None),
}


def __getattr__(name: str) -> Any:
    # Async names import asyncio; load them only when asked for.
    if name not in _LAZY:
        raise AttributeError(f"module 'sessionware' has no attribute {name!r}")
    import importlib

    module_name, attribute = _LAZY[name]
    module = importlib.import_module(module_name)
    value = module if attribute is None else getattr(module, attribute)
    globals()[name] = value
    return value
