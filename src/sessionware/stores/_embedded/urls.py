"""An embedded store's URL: the path it names and its query-string options."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, unquote

__all__ = ["as_bool", "no_more_settings", "split_url", "url_settings"]

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


def url_settings(
    url: str, options: Mapping[str, Any], needs: str | None = None
) -> tuple[str, dict[str, Any]]:
    """A store URL's path and its settings: the query string's, with the keyword
    ``options`` over them. ``needs``: what the store calls its path, if it must
    have one (an empty path is then a ValueError)."""
    path, query = split_url(url)
    if needs is not None and not path:
        raise ValueError(f"{needs}: {url!r}")
    return path, {**query, **options}


def no_more_settings(store: str, settings: Mapping[str, Any]) -> None:
    """Refuses the settings left once a store took those it knows (a TypeError)."""
    if settings:
        raise TypeError(f"unknown {store} store options: {sorted(settings)}")


def as_bool(name: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError(f"option {name}={value!r} is not a boolean (use 1/0, true/false)")
