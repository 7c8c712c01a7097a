"""``lazy_attributes``: a package's names imported on first use, so importing the
package does not import what they need (a framework, asyncio, pytest)."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["lazy_attributes"]


def lazy_attributes(namespace: dict[str, Any], sources: Mapping[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` for the package whose ``globals()`` is ``namespace``:
    ``name`` comes from the module ``sources[name]`` the first time it is asked for,
    and is kept in ``namespace`` from then on."""
    package = namespace["__name__"]

    def load(name: str) -> Any:
        if name not in sources:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(sources[name]), name)
        namespace[name] = value
        return value

    return load
