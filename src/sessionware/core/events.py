"""Listener dispatch: a listener implements only the hooks it needs.

As with SQLAlchemy's pool listeners, ``add`` inspects which hook methods an object
has and registers only those, so an unimplemented hook costs nothing on the hot path.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

__all__ = ["HOOKS", "EventDispatcher"]

logger = logging.getLogger("sessionware.events")

HOOKS = (
    "on_create",
    "on_load",
    "on_save",
    "on_forget",
    "on_regenerate",
    "on_invalidate",
    "on_visit",
    "on_expire",
    "on_error",
)


class EventDispatcher:
    """Per-hook lists of bound methods. A hook that raises is logged, never propagated."""

    def __init__(self) -> None:
        self._listeners: list[object] = []
        self.handlers: dict[str, tuple[Callable[..., object], ...]] = dict.fromkeys(HOOKS, ())

    def add(self, listener: object) -> None:
        hooks = [name for name in HOOKS if callable(getattr(listener, name, None))]
        if not hooks:
            raise TypeError(
                f"{listener!r} implements none of the listener hooks: {', '.join(HOOKS)}"
            )
        self._listeners.append(listener)
        self._rebuild()

    def remove(self, listener: object) -> None:
        self._listeners.remove(listener)
        self._rebuild()

    def _rebuild(self) -> None:
        self.handlers = {
            name: tuple(
                getattr(listener, name)
                for listener in self._listeners
                if callable(getattr(listener, name, None))
            )
            for name in HOOKS
        }

    def emit(self, hook: str, *args: Any) -> None:
        for handler in self.handlers[hook]:
            try:
                handler(*args)
            except Exception as exc:
                logger.exception("session listener %r failed in %s", handler, hook)
                if hook != "on_error":
                    self.emit("on_error", hook, exc)

    def has(self, hook: str) -> bool:
        return bool(self.handlers[hook])
