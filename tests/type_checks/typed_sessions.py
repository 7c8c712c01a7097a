"""What a type checker sees of a typed manager (checked by ``test_typing.py`` and by
the project's ``mypy`` run; never imported at run time). ``assert_type`` fails the
check if the type differs; an ignore that mypy finds unused fails it too
(``warn_unused_ignores``), so each ``type: ignore`` below proves an error is seen."""

from __future__ import annotations

from typing import Any

import msgspec
from typing_extensions import assert_type

import sessionware as sw
from sessionware.core.session import Session


class Cart(msgspec.Struct):
    items: list[str] = []
    coupon: str | None = None


def sync_manager(store: sw.Store) -> None:
    manager = sw.SessionManager(store, secret_key="...", schema=Cart)
    assert_type(manager, sw.SessionManager[Cart])
    with manager.scope(None) as session:
        assert_type(session, Session[Cart])
        assert_type(session.typed, Cart)
        assert_type(session.typed.items, list[str])
        session.typed = Cart(coupon="SALE")
        session.typed.coupon = 3  # type: ignore[assignment]
        session.typed.not_a_field  # type: ignore[attr-defined]  # noqa: B018
    assert_type(manager.open(None).typed, Cart)


async def async_manager(store: sw.AsyncStore) -> None:
    manager = sw.AsyncSessionManager(store, secret_key="...", schema=Cart)
    assert_type(manager, sw.AsyncSessionManager[Cart])
    async with manager.scope(None) as session:
        assert_type(session.typed, Cart)
    assert_type((await manager.open(None)).typed, Cart)


def untyped_manager(store: sw.Store) -> None:
    manager = sw.SessionManager(store, secret_key="...")
    assert_type(manager, sw.SessionManager[Any])
    with manager.scope(None) as session:
        assert_type(session.typed, Any)
        session["cart"] = [1, 2]  # the mapping API as before


def annotated(manager: sw.SessionManager[Cart], session: Session[Cart]) -> str | None:
    manager.save_changes(session)
    return session.typed.coupon
