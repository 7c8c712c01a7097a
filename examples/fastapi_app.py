"""A FastAPI app with server-side sessions: a visit counter, login and logout.

Run it:  uvicorn examples.fastapi_app:app   (then open http://127.0.0.1:8000/)
Choose the store with SESSION_STORE (default memory://), e.g.
SESSION_STORE=redis://127.0.0.1:6379/0 uvicorn examples.fastapi_app:app
"""

from __future__ import annotations

import os
from typing import Any

from fastapi import FastAPI, Request

from sessionware.integrations.fastapi import ManagerDep, SessionDep
from sessionware.integrations.starlette import SessionMiddleware

app = FastAPI(title="sessionware example")
app.add_middleware(
    SessionMiddleware,
    secret_key=os.environ.get("SESSION_SECRET", "change me: a long random string, please"),
    store=os.environ.get("SESSION_STORE", "memory://"),
    https_only=False,  # plain http on localhost; keep the default (True) in production
)


@app.get("/")
async def count_visits(request: Request) -> dict[str, Any]:
    """``request.session`` works as with Starlette's own middleware."""
    visits = request.session.get("visits", 0) + 1
    request.session["visits"] = visits
    return {"visits": visits}


@app.post("/login")
async def login(user: str, session: SessionDep, manager: ManagerDep) -> dict[str, Any]:
    """A new session id bound to the user (fixation defence, "log out everywhere")."""
    await manager.login(session, user)
    return {"user": session.user_id}


@app.get("/me")
async def me(session: SessionDep) -> dict[str, Any]:
    return {"user": session.user_id, "visits": session.get("visits", 0)}


@app.post("/logout")
async def logout(request: Request) -> dict[str, Any]:
    request.session.clear()  # deletes the stored session and the cookie
    return {"user": None}
