"""Fixtures for the switch from another session library: the command line, a
target store that counts writes, a unique key prefix per test on the shared Redis."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from click.testing import CliRunner, Result

import sessionware as sw
from sessionware.cli.commands import cli

from ..conftest import CountingProxy

Import = Callable[..., Result]
DAY = 24 * 3600


@pytest.fixture
def run_import() -> Import:
    """``sessionware import-sessions ARGS...`` in-process."""

    def run(*args: str) -> Result:
        return CliRunner().invoke(cli, ["import-sessions", *args], catch_exceptions=False)

    return run


@pytest.fixture
def target_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'sessions.db'}"


@pytest.fixture
def target(target_url: str) -> Iterator[CountingProxy]:
    """The sessionware store the app reads after the switch, counting writes."""
    store = CountingProxy(sw.open_store(target_url))
    yield store
    store.close()


@pytest.fixture
def redis_prefix(redis_url: str) -> Iterator[str]:
    """A key prefix of this test's own; its keys are deleted afterwards."""
    prefix = f"sw-import-{uuid.uuid4().hex[:12]}:"
    yield prefix
    client = redis.Redis.from_url(redis_url)
    keys = list(client.scan_iter(match=prefix + "*"))
    if keys:
        client.delete(*keys)
    client.close()


def tomorrow() -> float:
    return time.time() + DAY


def yesterday() -> float:
    return time.time() - DAY


def with_cookie(client: Any, name: str, value: str) -> Any:
    client.set_cookie(name, value)
    return client


def deletions(set_cookies: list[str], name: str) -> list[str]:
    """The ``Set-Cookie`` values among ``set_cookies`` that delete cookie ``name``
    (``Max-Age=0`` or expired at the epoch, as each framework spells it)."""
    return [
        value
        for value in set_cookies
        if value.startswith(f"{name}=")
        and ("max-age=0" in value.lower() or "01 jan 1970 00:00:00" in value.lower())
    ]
