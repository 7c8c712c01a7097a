"""What the revocation tests share, in one process or across worker processes: the
user, the operations a request and a revoker take, and where each shared store
lives."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest

import sessionware as sw
from tests.stores.sql_support import unique_table

USER = "alice"
REQUEST_OPS = ["change", "regenerate", "login", "visit"]
REVOKER_OPS = ["invalidate", "revoke_user"]


def shared_store(
    kind: str, request: pytest.FixtureRequest, tmp: Path, label: str
) -> tuple[str, dict[str, Any]]:
    """The URL and options of a store that two connections (or processes) share."""
    if kind == "files":
        return f"file://{tmp / 'sessions'}", {}
    if kind == "sqlite":
        return f"sqlite:///{tmp / 'sessions.db'}", {}
    if kind == "redis":
        return request.getfixturevalue("redis_url"), {"prefix": f"{label}-{uuid.uuid4().hex[:8]}:"}
    fixture = "postgres_url" if kind == "postgresql" else "mysql_url"
    return request.getfixturevalue(fixture), {"table": unique_table(label)}


def logged_in_cookie(manager: sw.SessionManager) -> str:
    session = manager.open(None)
    session["cart"] = [1, 2]
    manager.login(session, USER)
    cookie = manager.save_changes(session)
    assert cookie is not None
    return cookie


def act(manager: sw.SessionManager, session: sw.Session, op: str) -> None:
    if op == "change":
        session["note"] = "written after the revocation"
    elif op == "regenerate":
        manager.regenerate(session)
    elif op == "login":
        manager.login(session, USER)
    else:
        assert session.get("cart") == [1, 2]  # a read-only visit
