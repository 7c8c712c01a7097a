"""What the admin tests share: sessions made through a manager, and reading the
page's CSRF token."""

from __future__ import annotations

import re
from typing import Any

import sessionware as sw

SECRET = "admin-test-secret-key-that-is-long-enough-0"
ADMIN_SECRET = "admin-csrf-key-for-the-tests-long-enough-000"
_TOKEN = re.compile(r'<meta name="csrf-token" content="([0-9a-f]{64})">')


def token_in(page: str) -> str:
    """The CSRF token the admin page carries."""
    match = _TOKEN.search(page)
    assert match is not None, page[:500]
    return match.group(1)


def logged_in(manager: sw.SessionManager, user: str, **data: Any) -> str:
    """The cookie value of a new session bound to ``user`` (with ``data``)."""
    with manager.scope(None) as session:
        session.update(data or {"cart": ["apple"]})
        manager.login(session, user)
    assert session.cookie_value is not None
    return session.cookie_value


async def async_logged_in(manager: sw.AsyncSessionManager, user: str) -> str:
    async with manager.scope(None) as session:
        session["cart"] = ["apple"]
        await manager.login(session, user)
    assert session.cookie_value is not None
    return session.cookie_value


def is_logged_out(manager: sw.SessionManager, cookie: str) -> bool:
    """The cookie no longer opens its session: a fresh, empty one comes instead."""
    session = manager.open(cookie)
    return session.is_new and session.user_id is None and dict(session) == {}


def key_of(manager: sw.SessionManager, cookie: str) -> str:
    session = manager.open(cookie)
    assert not session.is_new
    return session.key
