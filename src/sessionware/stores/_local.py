"""What the embedded stores (files, dbm, sqlite) share: URL parsing, OS errors,
fork hooks. Reading without waiting, for the event loop, is in ``_nowait``."""

from __future__ import annotations

import os
import weakref
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl, unquote

from ..errors import StoreError

__all__ = ["as_bool", "call_in_forked_child", "split_url", "store_error"]

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})


def split_url(url: str) -> tuple[str, dict[str, str]]:
    """``scheme://<path>?a=1`` -> (unquoted path, {"a": "1"}). ``file:///var/x``
    gives ``/var/x`` (absolute), ``file://var/x`` gives ``var/x`` (relative)."""
    _, sep, rest = url.partition("://")
    if not sep:
        raise ValueError(f"not a store URL: {url!r}")
    path, _, query = rest.partition("?")
    return unquote(path), dict(parse_qsl(query, keep_blank_values=True))


def as_bool(name: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError(f"option {name}={value!r} is not a boolean (use 1/0, true/false)")


def store_error(kind: str, action: str, path: str, exc: BaseException) -> StoreError:
    """A ``StoreError`` naming the store, what failed and the path (``exc`` chained)."""
    reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    return StoreError(f"{kind} store could not {action} {path}: {reason}")


def call_in_forked_child(method: Callable[[], object]) -> None:
    """Run the bound ``method`` in every child forked from now on, for as long as
    its object lives (held weakly: a store is never kept alive by the hook)."""
    weak = weakref.WeakMethod(method)

    def hook() -> None:
        bound = weak()
        if bound is not None:
            bound()

    os.register_at_fork(after_in_child=hook)
