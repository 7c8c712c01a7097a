"""Hooks run in a forked child: an embedded store's descriptors, locks and
connections must not be shared with the parent."""

from __future__ import annotations

import os
import weakref
from collections.abc import Callable

__all__ = ["call_in_forked_child"]


def call_in_forked_child(method: Callable[[], object]) -> None:
    """Run the bound ``method`` in every child forked from now on, for as long as
    its object lives (held weakly: a store is never kept alive by the hook)."""
    weak = weakref.WeakMethod(method)

    def hook() -> None:
        bound = weak()
        if bound is not None:
            bound()

    os.register_at_fork(after_in_child=hook)
