"""Credentials in a store URL (user info or query string) never appear in an error,
a repr, the CLI or the demo dashboard: one ``redact_url`` serves them all."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from werkzeug.test import Client

import sessionware as sw
from sessionware.errors import redact_text, redact_url
from sessionware.stores.memory import MemoryStore

from .conftest import SECRET

PASSWORD = "hunter2-the-password"
SENTINEL_PASSWORD = "sentinel-pw-42"
SSL_PASSWORD = "ssl-key-passphrase-7"

#: Every URL family, with its credentials, pointing at a port nobody listens on.
CLOSED_PORT_URLS = {
    "redis-userinfo": f"redis://:{PASSWORD}@127.0.0.1:1/0",
    "redis-query": f"redis://127.0.0.1:1/0?password={PASSWORD}",
    "redis-sentinel": (
        f"redis+sentinel://127.0.0.1:1/mymaster?sentinel_password={SENTINEL_PASSWORD}"
        f"&password={PASSWORD}"
    ),
    "postgresql-query": f"postgresql+psycopg://u@127.0.0.1:1/db?password={PASSWORD}",
    "postgresql-userinfo": f"postgresql+psycopg://u:{PASSWORD}@127.0.0.1:1/db",
    "mysql-query": f"mysql+pymysql://root@127.0.0.1:1/test?password={PASSWORD}",
}
SECRETS = (PASSWORD, SENTINEL_PASSWORD, SSL_PASSWORD)


def assert_no_secret(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text
    assert "***" in text


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("redis://:pw@h/0", "redis://:***@h/0"),
        ("redis://h/0?password=pw&db=1", "redis://h/0?password=***&db=1"),
        (
            "redis+sentinel://h/m?sentinel_password=a&password=b",
            "redis+sentinel://h/m?sentinel_password=***&password=***",
        ),
        (
            "rediss://h/0?ssl_password=k&ssl_keyfile=/k.pem",
            "rediss://h/0?ssl_password=***&ssl_keyfile=/k.pem",
        ),
        ("postgresql+psycopg://u@h/db?password=p%40ss", "postgresql+psycopg://u@h/db?password=***"),
        (
            "x://h/?passwd=a&secret=b&token=c&api_key=d",
            "x://h/?passwd=***&secret=***&token=***&api_key=***",
        ),
        ("sqlite:///sessions.db?timeout=5", "sqlite:///sessions.db?timeout=5"),
    ],
)
def test_redact_url_hides_every_credential_and_nothing_else(url: str, shown: str) -> None:
    assert redact_url(url) == shown


def test_redact_text_removes_a_query_password_written_or_decoded() -> None:
    url = "postgresql+psycopg://u@h/db?password=p%40ss"
    assert redact_text("auth failed for p@ss and p%40ss", url) == "auth failed for *** and ***"


@pytest.mark.parametrize("url", CLOSED_PORT_URLS.values(), ids=CLOSED_PORT_URLS.keys())
def test_store_unavailable_never_shows_a_credential(url: str) -> None:
    with pytest.raises(sw.StoreUnavailable) as caught:
        store = sw.open_store(url)
        try:
            store.count()
        finally:
            store.close()
    assert_no_secret(str(caught.value))


@pytest.mark.parametrize("url", CLOSED_PORT_URLS.values(), ids=CLOSED_PORT_URLS.keys())
def test_the_async_stores_store_unavailable_never_shows_a_credential(url: str) -> None:
    async def scenario() -> None:
        store = await sw.open_async_store(url)
        try:
            await store.count()
        finally:
            await store.close()

    with pytest.raises(sw.StoreUnavailable) as caught:
        asyncio.run(scenario())
    assert_no_secret(str(caught.value))


def test_a_redis_url_error_never_shows_a_credential() -> None:
    url = f"rediss://127.0.0.1:1/0?password={PASSWORD}&ssl_password={SSL_PASSWORD}"
    with pytest.raises(ValueError, match="unknown Redis store option") as caught:
        sw.open_store(url)
    assert_no_secret(str(caught.value))


@pytest.mark.parametrize(
    "url",
    [CLOSED_PORT_URLS["redis-userinfo"], CLOSED_PORT_URLS["redis-query"]],
    ids=["userinfo", "query"],
)
def test_a_redis_store_repr_never_shows_a_credential(url: str) -> None:
    import redis

    from sessionware.stores.redis import RedisStore

    store = RedisStore(redis.Redis(host="127.0.0.1", port=1), url=url)
    assert_no_secret(repr(store))


def test_a_sql_store_repr_never_shows_a_query_password(postgres_url: str) -> None:
    # The test server trusts local connections, so the password is carried, not checked.
    joiner = "&" if "?" in postgres_url else "?"
    store: Any = sw.open_store(f"{postgres_url}{joiner}password={PASSWORD}")
    try:
        assert_no_secret(repr(store))
    finally:
        store.close()


def test_the_demo_dashboard_never_shows_a_credential() -> None:
    from sessionware.cli.demo.app import DemoApp

    url = CLOSED_PORT_URLS["redis-sentinel"] + f"&ssl_password={SSL_PASSWORD}"
    app = DemoApp(MemoryStore(), SECRET, store_url=url)
    try:
        page = Client(app).get("/admin/", environ_base={"REMOTE_ADDR": "127.0.0.1"})
        assert page.status_code == 200
        assert "sentinel_password=***" in page.text
        assert_no_secret(page.text)
    finally:
        app.close()
