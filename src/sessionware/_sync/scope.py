# Generated from src/sessionware/_async/scope.py by scripts/unasync.py. Do not edit.
"""``with manager.scope(cookie) as session``: one request's session, saved on
success and forgotten on error (``_sync/scope.py`` is generated from this file)."""

from __future__ import annotations

from types import TracebackType
from typing import TYPE_CHECKING, Generic

from ..context import current_session
from ..core.schema import SchemaT
from ..core.session import Session

if TYPE_CHECKING:
    from .manager import SessionManager

__all__ = ["SessionScope"]


class SessionScope(Generic[SchemaT]):
    """``with manager.scope(cookie) as session``: save on success, forget on
    error, ``sessionware.current()`` set inside and always reset."""

    __slots__ = ("_cookie_value", "_manager", "_session", "_token")

    def __init__(self, manager: SessionManager[SchemaT], cookie_value: str | None) -> None:
        self._manager = manager
        self._cookie_value = cookie_value

    def __enter__(self) -> Session[SchemaT]:
        session = self._manager.open(self._cookie_value)
        self._session = session
        self._token = current_session.set(session)
        return session

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        try:
            if exc_type is None:
                self._manager.save_changes(self._session)
            else:
                self._manager.forget_changes(self._session)
        finally:
            current_session.reset(self._token)
