"""Tools for testing sessionware and stores built for it.

The store conformance suite, for this project's stores and third-party ones.
Subclass ``StoreConformance`` (or ``AsyncStoreConformance``) in a test module and
give it a ``store`` fixture that yields a fresh, set-up, empty store::

    import pytest
    from sessionware.testing import StoreConformance

    class TestMyStore(StoreConformance):
        @pytest.fixture
        def store(self):
            store = MyStore("...")
            store.setup()
            store.delete_all()
            yield store
            store.close()

The async suite needs the ``anyio`` pytest plugin (``pip install anyio``).
Stores may keep times at millisecond precision; the suite allows for that.

Also: ``FaultInjector`` (a store proxy that makes chosen operations fail) and
``hammer_one_session`` (many writers on one session; no update may be lost).
The conformance suites import pytest; the other tools do not.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .concurrency import HammerResult, hammer_one_session
from .faults import FaultInjector

if TYPE_CHECKING:
    from ._async.conformance import AsyncStoreConformance
    from ._sync.conformance import StoreConformance

__all__ = [
    "AsyncStoreConformance",
    "FaultInjector",
    "HammerResult",
    "StoreConformance",
    "hammer_one_session",
]

_SUITES = {
    "AsyncStoreConformance": "sessionware.testing._async.conformance",
    "StoreConformance": "sessionware.testing._sync.conformance",
}


def __getattr__(name: str) -> Any:
    # The suites import pytest; load them only when asked for.
    if name not in _SUITES:
        raise AttributeError(f"module 'sessionware.testing' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(_SUITES[name]), name)
    globals()[name] = value
    return value
