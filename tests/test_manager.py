"""What only the sync SessionManager does: it loads a session on first use, not at
open. Everything else both managers do is tested once, in tests/_async/test_manager.py,
and generated into tests/_sync/test_manager.py."""

from __future__ import annotations

import sessionware as sw

from .conftest import CountingProxy, cookie_for


def test_the_sync_manager_loads_only_when_the_session_is_first_used(
    manager: sw.SessionManager, counting_store: CountingProxy
) -> None:
    cookie = cookie_for(manager, n=1)
    counting_store.calls.clear()
    session = manager.open(cookie)
    assert counting_store.calls == []
    assert session["n"] == 1
    assert counting_store.calls == ["load"]


def test_a_request_that_never_touches_its_session_costs_nothing(
    manager: sw.SessionManager, counting_store: CountingProxy
) -> None:
    cookie = cookie_for(manager, n=1)
    counting_store.calls.clear()
    with manager.scope(cookie):
        pass
    assert counting_store.calls == []
