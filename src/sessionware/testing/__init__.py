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

A few tests are about time passing (a record's expiry, a revocation marker's
``keep_until``). They wait for the real clock (about a quarter of a second each)
unless the store reads its time through a clock you give it; then override the
``store_clock`` fixture to return a ``FakeClock`` and build the store with it::

    class TestMyStore(StoreConformance):
        @pytest.fixture
        def store_clock(self):
            return FakeClock()

        @pytest.fixture
        def store(self, store_clock):
            store = MyStore("...", clock=store_clock)
            ...

The revocation-marker tests (``mark_user_revoked`` / ``user_revoked_at``) run for
every store; a store that keeps no markers (the manager then warns that a login
racing ``revoke_user()`` may survive it) opts out with
``revocation_markers = False`` on its test class. The tests of the optional
``newest`` / ``delete_if_version`` (``stores.base.RecordListing``) skip, saying so,
for a store without them.

Also: ``FaultInjector`` (a store proxy that makes chosen operations fail) and
``hammer_one_session`` (many writers on one session; no update may be lost).
The conformance suites import pytest; the other tools do not.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_attributes
from .clock import FakeClock
from .concurrency import HammerResult, hammer_one_session
from .faults import FaultInjector

if TYPE_CHECKING:
    from ._async.conformance import AsyncStoreConformance
    from ._sync.conformance import StoreConformance

__all__ = [
    "AsyncStoreConformance",
    "FakeClock",
    "FaultInjector",
    "HammerResult",
    "StoreConformance",
    "hammer_one_session",
]

# The suites import pytest; load them only when asked for.
__getattr__ = lazy_attributes(
    globals(),
    {
        "AsyncStoreConformance": "sessionware.testing._async.conformance",
        "StoreConformance": "sessionware.testing._sync.conformance",
    },
)
