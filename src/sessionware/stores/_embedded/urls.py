"""An embedded store's URL: the path it names and its query-string options."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, unquote

__all__ = ["as_bool", "split_url"]

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
