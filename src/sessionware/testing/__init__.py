"""The store conformance suite, for this project's stores and third-party ones.

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
"""

from ._async.conformance import AsyncStoreConformance
from ._sync.conformance import StoreConformance

__all__ = ["AsyncStoreConformance", "StoreConformance"]
