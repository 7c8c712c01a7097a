"""FastAPI dependencies for the request's session and its manager::

    from sessionware.integrations.fastapi import ManagerDep, SessionDep

    @app.post("/login")
    async def login(user: str, session: SessionDep, manager: ManagerDep) -> dict:
        await manager.login(session, user)
        return {"user": session.user_id}

They work with ``sessionware.integrations.starlette.SessionMiddleware`` (which
also gives ``request.session``) and, for ``SessionDep``, with
``sessionware.asgi.SessionMiddleware``. Both are ``async`` so FastAPI runs them
inline instead of in its thread pool.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from starlette.requests import HTTPConnection

from .._async.manager import AsyncSessionManager
from ..core.session import Session

__all__ = ["ManagerDep", "SessionDep", "get_manager", "get_session"]

_NO_MIDDLEWARE = (
    "no sessionware session on this request: add "
    "sessionware.integrations.starlette.SessionMiddleware to the app"
)


async def get_session(connection: HTTPConnection) -> Session:
    """The request's (or websocket's) ``sessionware.Session``."""
    scope = connection.scope
    session = scope.get("sessionware.session")
    if session is None:
        session = scope.get("session")  # sessionware.asgi.SessionMiddleware puts it here
    if not isinstance(session, Session):
        raise RuntimeError(_NO_MIDDLEWARE)
    return session


async def get_manager(connection: HTTPConnection) -> AsyncSessionManager:
    """The ``AsyncSessionManager`` of the Starlette integration's middleware."""
    manager = connection.scope.get("sessionware.manager")
    if not isinstance(manager, AsyncSessionManager):
        raise RuntimeError(_NO_MIDDLEWARE)
    return manager


SessionDep = Annotated[Session, Depends(get_session)]
ManagerDep = Annotated[AsyncSessionManager, Depends(get_manager)]
