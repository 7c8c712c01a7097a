"""The context-local current session: set by a manager's scope, read by ``current()``."""

from __future__ import annotations

from contextvars import ContextVar
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .core.session import Session

__all__ = ["current"]

current_session: ContextVar[Session] = ContextVar("sessionware.current")


def current() -> Session:
    """The session of the scope this code runs in (thread or asyncio task).

    Raises ``LookupError`` outside a ``manager.scope(...)`` or middleware request.
    """
    try:
        return current_session.get()
    except LookupError:
        raise LookupError(
            "sessionware.current() called outside a session scope; "
            "use manager.scope(...) or the WSGI/ASGI middleware"
        ) from None
