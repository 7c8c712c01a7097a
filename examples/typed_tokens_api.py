"""A typed FastAPI API for mobile and single-page clients: the session is a ``Cart``
(a msgspec Struct, ``session.typed``) and travels as ``Authorization: Bearer <token>``
instead of a cookie.

Run it:  uvicorn examples.typed_tokens_api:app
Then:
    curl -si -X POST 'http://127.0.0.1:8000/login?user=alice'   # note the token
    curl -s -X POST http://127.0.0.1:8000/cart/apple -H 'Authorization: Bearer <token>'
    curl -s http://127.0.0.1:8000/cart -H 'Authorization: Bearer <token>'

Set SESSION_ENCRYPTION_KEY (``python -c "from sessionware.core.encryption import
new_encryption_key as k; print(k())"``, needs the [crypto] extra) to keep the carts
encrypted at rest too.
"""

from __future__ import annotations

import os
from typing import Annotated, Any

import msgspec
from fastapi import Depends, FastAPI

import sessionware as sw
from sessionware.integrations.fastapi import ManagerDep, get_session
from sessionware.integrations.starlette import SessionMiddleware
from sessionware.stores.memory import AsyncMemoryStore


class Cart(msgspec.Struct):
    """Version 2 of the session's shape: version 1 kept ``items`` as one string."""

    items: list[str] = []
    coupon: str | None = None


def items_as_list(data: dict[str, Any]) -> dict[str, Any]:
    """Version 1 -> 2: ``"apple,pear"`` becomes ``["apple", "pear"]``."""
    data["items"] = [item for item in str(data.get("items", "")).split(",") if item]
    return data


encryption_key = os.environ.get("SESSION_ENCRYPTION_KEY")
manager = sw.AsyncSessionManager(
    AsyncMemoryStore(),  # or: await sw.open_async_store(url) in your app's startup
    secret_key=os.environ.get("SESSION_SECRET", "change me: a long random string, please"),
    schema=Cart,
    schema_version=2,
    migrations={1: items_as_list},
    encryption_keys=[encryption_key] if encryption_key else None,
)

app = FastAPI(title="sessionware typed token API")
app.add_middleware(
    SessionMiddleware,
    manager=manager,
    token_header="Authorization",  # noqa: S106 - a header name: Authorization: Bearer <token>
    token_only=True,  # an API: no cookies, so no CSRF token is needed either
)

#: The request's session, typed: ``session.typed`` is a ``Cart`` to type checkers.
CartSession = Annotated[sw.Session[Cart], Depends(get_session)]


@app.post("/login")
async def login(user: str, session: CartSession, manager: ManagerDep) -> dict[str, Any]:
    """A new session id bound to the user; the response carries its token."""
    await manager.login(session, user)
    return {"user": user}


@app.post("/cart/{item}")
async def add_item(item: str, session: CartSession) -> dict[str, Any]:
    session.typed.items.append(item)  # saved when the response starts
    return {"items": session.typed.items}


@app.get("/cart")
async def show_cart(session: CartSession) -> dict[str, Any]:
    cart = session.typed
    return {"user": session.user_id, "items": cart.items, "coupon": cart.coupon}


@app.post("/logout")
async def logout(session: CartSession, manager: ManagerDep) -> dict[str, Any]:
    """Deletes the session; the response withdraws the token (an empty header)."""
    await manager.invalidate(session)
    return {"user": None}
