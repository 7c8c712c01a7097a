# Generated from src/sessionware/testing/_async/conformance.py by scripts/unasync.py. Do not edit.
"""The store conformance suite (async source; ``_sync/conformance.py`` is generated)."""

from __future__ import annotations

import pytest

from ..clock import FakeClock
from .helpers import make_record, new_key, unique_user
from .listing import RecordListingContract
from .markers import RevocationMarkerContract
from .records import RecordContract
from .removals import TouchAndDeleteContract
from .users import UserIndexContract
from .versions import CompareAndSetContract

__all__ = ["StoreConformance", "make_record", "new_key", "unique_user"]


class StoreConformance(
    RecordContract,
    CompareAndSetContract,
    TouchAndDeleteContract,
    UserIndexContract,
    RevocationMarkerContract,
    RecordListingContract,
):
    """Every behaviour of the store interface. Needs a ``store`` fixture.

    ``store_clock``: override it to return a ``FakeClock`` the store reads its time
    from, and the tests about time passing move it instead of sleeping.
    ``revocation_markers = False``: for a store that keeps no revocation markers.
    """

    revocation_markers = True

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
