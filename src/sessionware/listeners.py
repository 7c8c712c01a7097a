"""Built-in listeners: ``LoggingListener`` and ``Metrics`` (re-exported from
``sessionware.metrics``). Add one with ``manager.add_listener(listener)``.

A listener is any object with some of the hooks ``on_create``, ``on_load``,
``on_save``, ``on_forget``, ``on_regenerate``, ``on_invalidate``, ``on_visit``,
``on_expire`` and ``on_error``; only the hooks it has are called.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from .core.events import HOOKS
from .core.session import Session
from .metrics import Metrics

__all__ = ["LoggingListener", "Metrics"]

#: Per-hook defaults: errors and expiries stand out, routine traffic is DEBUG.
DEFAULT_LEVELS: dict[str, int] = {
    **dict.fromkeys(HOOKS, logging.DEBUG),
    "on_expire": logging.INFO,
    "on_invalidate": logging.INFO,
    "on_regenerate": logging.INFO,
    "on_error": logging.WARNING,
}


def _label(session: Session) -> str:
    # Never the session id (it is the secret the cookie carries), and nothing that
    # would make the sync manager load the session: the store key, if known yet.
    key = session._key
    return "new session" if key is None else f"session {key[:12]}"


class LoggingListener:
    """Logs every hook on ``logger`` (default ``"sessionware.events"``).

    ``levels`` overrides the level of some hooks, e.g. ``{"on_visit": logging.INFO}``;
    ``level`` sets the default of every hook not named there.
    """

    def __init__(
        self,
        logger: logging.Logger | str = "sessionware.events",
        *,
        level: int | None = None,
        levels: Mapping[str, int] | None = None,
    ) -> None:
        unknown = set(levels or ()) - set(HOOKS)
        if unknown:
            raise ValueError(f"not listener hooks: {sorted(unknown)}")
        self.logger = logging.getLogger(logger) if isinstance(logger, str) else logger
        base = DEFAULT_LEVELS if level is None else dict.fromkeys(HOOKS, level)
        self.levels: dict[str, int] = {**base, **(levels or {})}

    def _log(self, hook: str, message: str, *args: object) -> None:
        level = self.levels[hook]
        if self.logger.isEnabledFor(level):
            self.logger.log(level, "%s: " + message, hook, *args)

    def on_create(self, session: Session) -> None:
        self._log("on_create", "%s created", _label(session))

    def on_load(self, session: Session) -> None:
        self._log("on_load", "%s loaded", _label(session))

    def on_save(self, session: Session) -> None:
        self._log("on_save", "%s saved", _label(session))

    def on_forget(self, session: Session) -> None:
        self._log("on_forget", "%s: changes forgotten", _label(session))

    def on_regenerate(self, session: Session, old_key: str) -> None:
        self._log("on_regenerate", "session %s is now %s", old_key[:12], _label(session))

    def on_invalidate(self, session: Session) -> None:
        self._log("on_invalidate", "%s invalidated", _label(session))

    def on_visit(self, session: Session) -> None:
        self._log("on_visit", "%s visited", _label(session))

    def on_expire(self, session_key: str) -> None:
        self._log("on_expire", "session %s expired or is gone", session_key[:12])

    def on_error(self, operation: str, exc: BaseException) -> None:
        self._log("on_error", "%s failed: %r", operation, exc)
