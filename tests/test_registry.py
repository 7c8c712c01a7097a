"""open_store / open_async_store: choosing a store by URL, and third-party schemes."""

from __future__ import annotations

import asyncio
from importlib.metadata import EntryPoint
from typing import Any

import pytest

import sessionware as sw
from sessionware.errors import redact_url
from sessionware.stores import registry
from sessionware.stores.memory import AsyncMemoryStore, MemoryStore


def test_memory_url_opens_the_memory_store() -> None:
    assert isinstance(sw.open_store("memory://"), MemoryStore)


def test_memory_url_opens_the_async_memory_store() -> None:
    store = asyncio.run(sw.open_async_store("memory://"))
    assert isinstance(store, AsyncMemoryStore)


@pytest.mark.parametrize("url", ["nope://x", "no-scheme-at-all", "://x"])
def test_an_unknown_or_malformed_url_is_a_clear_error(url: str) -> None:
    with pytest.raises(registry.UnknownStoreError):
        sw.open_store(url)


def test_a_third_party_scheme_is_found_through_its_entry_point(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    class ThirdPartyStore(MemoryStore):
        @classmethod
        def from_url(cls, url: str, **options: Any) -> ThirdPartyStore:
            store = cls()
            store.url = url  # type: ignore[attr-defined]
            return store

    entry = EntryPoint(name="acme", value="x:y", group="sessionware.stores")
    monkeypatch.setattr(EntryPoint, "load", lambda self: ThirdPartyStore)

    def fake_entry_points(group: str, name: str) -> list[EntryPoint]:
        return [entry] if (group, name) == ("sessionware.stores", "acme") else []

    monkeypatch.setattr("importlib.metadata.entry_points", fake_entry_points)
    store = sw.open_store("acme://bucket/sessions")
    assert isinstance(store, ThirdPartyStore)
    assert store.url == "acme://bucket/sessions"  # type: ignore[attr-defined]


def test_redact_url_hides_the_password() -> None:
    assert redact_url("redis://user:s3cret@host:6379/0") == "redis://user:***@host:6379/0"
    assert redact_url("redis://host:6379/0") == "redis://host:6379/0"
    assert "s3cret" not in str(sw.StoreUnavailable("redis://:s3cret@h/0", "refused"))
