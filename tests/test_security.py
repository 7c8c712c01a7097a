"""Security properties that hold for every manager: secrets, cookie values, key rotation."""

from __future__ import annotations

import asyncio
import logging
import secrets

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import sessionware as sw
from sessionware.core.lifecycle import SessionCore
from sessionware.core.signing import CookieSigner, new_session_id
from sessionware.stores.memory import AsyncMemoryStore, MemoryStore

from .conftest import SECRET, CountingProxy, cookie_for

NOW = 1_800_000_000.0
SIGNER = CookieSigner(SECRET)
SIGNED_WITH_SECRET = SIGNER.sign(new_session_id(), NOW)

# -- secrets that are too short or too predictable are refused ------------------


@pytest.mark.parametrize(
    "secret",
    ["k", "a long random secret", b"x" * 31, "é" * 15],
    ids=["one-character", "twenty-characters", "31-bytes", "30-utf8-bytes"],
)
def test_a_secret_shorter_than_32_bytes_is_refused(secret: str | bytes) -> None:
    with pytest.raises(ValueError, match="at least 32 bytes"):
        CookieSigner(secret)


@pytest.mark.parametrize(
    "secret", ["a" * 40, "ab" * 20, "abc" * 11], ids=["one-char", "two-char-pattern", "abc"]
)
def test_a_predictable_str_secret_is_refused_even_when_long(secret: str) -> None:
    with pytest.raises(ValueError, match="too predictable"):
        CookieSigner(secret)


def test_the_usual_generated_secrets_are_accepted() -> None:
    from django.core.management.utils import get_random_secret_key

    for _ in range(200):
        CookieSigner(secrets.token_hex(16))
        CookieSigner(secrets.token_urlsafe(32))
        CookieSigner(get_random_secret_key())
        CookieSigner(secrets.token_bytes(32))


def test_random_bytes_are_judged_by_length_only() -> None:
    CookieSigner(b"\0" * 32)  # bytes carry no character distribution to estimate


def test_every_key_of_a_rotation_list_is_checked_and_named_by_position() -> None:
    with pytest.raises(ValueError, match=r"secret_key\[1\] is 3 bytes long"):
        CookieSigner([SECRET, "old"])


def test_the_refusal_never_shows_the_key() -> None:
    weak = "s3cr3t" * 2
    with pytest.raises(ValueError, match="bytes long") as caught:
        CookieSigner(weak)
    assert weak not in str(caught.value)


def test_the_managers_refuse_a_short_secret() -> None:
    with pytest.raises(ValueError, match="at least 32 bytes"):
        sw.SessionManager(MemoryStore(), secret_key="k")
    with pytest.raises(ValueError, match="at least 32 bytes"):
        sw.AsyncSessionManager(AsyncMemoryStore(), secret_key="k")


# -- any cookie value at all is a fresh session, never a crash or a store call ---

ANY_TEXT = st.text(alphabet=st.characters(exclude_categories=()), max_size=200)  # surrogates too


def forged_near(cookie: str) -> st.SearchStrategy[str]:
    """Values one edit away from a genuine cookie: the likeliest forgeries."""
    return st.tuples(st.integers(0, len(cookie) - 1), st.characters()).map(
        lambda edit: cookie[: edit[0]] + edit[1] + cookie[edit[0] + 1 :]
    )


def test_a_non_ascii_signature_is_refused_not_raised(manager: sw.SessionManager) -> None:
    cookie = cookie_for(manager, n=1)
    assert manager.core.signer.unsign(cookie[:-1] + "é") is None


@settings(max_examples=300, deadline=None)
@given(value=ANY_TEXT)
def test_the_signer_refuses_any_string_it_did_not_sign(value: str) -> None:
    assert SIGNER.unsign(value) is None


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_any_cookie_value_gives_a_fresh_session_and_no_store_call(data: st.DataObject) -> None:
    store = CountingProxy(MemoryStore())
    manager = sw.SessionManager(store, secret_key=SECRET)
    genuine = SIGNED_WITH_SECRET
    value = data.draw(st.one_of(ANY_TEXT, forged_near(genuine)).filter(lambda v: v != genuine))
    with manager.scope(value) as session:
        assert session.is_new
        assert dict(session) == {}
    assert store.calls == []


def test_the_async_manager_gives_a_fresh_session_for_a_non_ascii_cookie() -> None:
    async def scenario() -> None:
        store = AsyncMemoryStore()
        manager = sw.AsyncSessionManager(store, secret_key=SECRET)
        async with manager.scope(None) as first:
            first["n"] = 1
        assert first.cookie_value is not None
        async with manager.scope(first.cookie_value[:-1] + "\u00e9") as session:
            assert session.is_new
        await manager.close()

    asyncio.run(scenario())


# -- stored bytes the codec cannot read are a missing session, logged -----------


@pytest.mark.parametrize("codec", ["json", "msgpack"])
@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(payload=st.binary(max_size=300))
def test_stored_bytes_of_any_shape_never_raise_on_attach(
    codec: str, payload: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    core = SessionCore(secret_key=SECRET, idle_timeout=None, max_age=None, codec=codec)
    session = core.open(core.signer.sign(new_session_id(), NOW), NOW)
    record = sw.Record(session.key, payload, NOW, NOW + 60, 1, None)
    with caplog.at_level(logging.WARNING, logger="sessionware"):
        caplog.clear()
        attached = core.attach(session, record, None, NOW)
    if attached:
        assert dict(session) == core.codec.decode(payload)  # a real session mapping
    else:
        assert session.is_new
        assert dict(session) == {}
        assert "does not decode" in caplog.text
