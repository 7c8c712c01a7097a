"""The store conformance suite (async source; ``_sync/conformance.py`` is generated)."""

from __future__ import annotations

import pytest

from ..clock import FakeClock
from .helpers import make_record, new_key, unique_user
from .listing import AsyncRecordListingContract
from .markers import AsyncRevocationMarkerContract
from .records import AsyncRecordContract
from .removals import AsyncTouchAndDeleteContract
from .users import AsyncUserIndexContract
from .versions import AsyncCompareAndSetContract

__all__ = ["AsyncStoreConformance", "make_record", "new_key", "unique_user"]


class AsyncStoreConformance(
    AsyncRecordContract,
    AsyncCompareAndSetContract,
    AsyncTouchAndDeleteContract,
    AsyncUserIndexContract,
    AsyncRevocationMarkerContract,
    AsyncRecordListingContract,
):
    """Every behaviour of the store interface. Needs a ``store`` fixture.

    ``store_clock``: override it to return a ``FakeClock`` the store reads its time
    from, and the tests about time passing move it instead of sleeping.
    ``revocation_markers = False``: for a store that keeps no revocation markers.
    """

    pytestmark = pytest.mark.anyio  # unasync: remove

    revocation_markers = True

    @pytest.fixture  # unasync: remove
    def anyio_backend(self) -> str:  # unasync: remove
        return "asyncio"  # unasync: remove

    @pytest.fixture
    def store_clock(self) -> FakeClock | None:
        """None: the store reads the real clock."""
        return None

    @pytest.fixture
    def markers(self) -> None:
        """Requested by the revocation-marker tests: skips them, visibly, for a test
        class that says its store keeps no markers."""
        if not self.revocation_markers:
            pytest.skip("this store keeps no revocation markers (revocation_markers = False)")
