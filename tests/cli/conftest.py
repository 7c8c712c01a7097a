"""Fixtures for the command-line tests: stores to point the CLI at, a runner.

Each command runs in-process through click's ``CliRunner``. A ``memory://`` store
lives only in its process, so for it the runner opens stores through a registry
that hands the CLI the very store the test filled (the ``CliContext.open_store``
seam); file-backed stores are opened by URL for real, so each command sees what
the previous one left on disk.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

import sessionware as sw
from sessionware.cli._common import CliContext
from sessionware.cli.commands import cli
from sessionware.core.record import Record

HOUR = 3600.0


@dataclass
class Stores:
    """URL -> store for ``memory://`` URLs; every other URL opens for real."""

    shared: dict[str, Any] = field(default_factory=dict)

    def open(self, url: str) -> Any:
        if url in self.shared:
            return self.shared[url]
        return sw.open_store(url)


@pytest.fixture
def stores() -> Stores:
    return Stores()


Run = Callable[..., Result]


@pytest.fixture
def run(stores: Stores) -> Run:
    """``run("stats", url)``: the CLI's result; stdout and stderr kept apart."""
    runner = CliRunner()

    def invoke(*args: str, input: str | None = None) -> Result:
        return runner.invoke(
            cli,
            list(args),
            obj=CliContext(open_store=stores.open),
            input=input,
            env={"COLUMNS": "200"},
        )

    return invoke


# Every kind of store the CLI can be tested against in-process.
STORE_KINDS = ["memory", "sqlite", "redis", "file"]
# dbm:// is left out: a dbm file serves one store instance at a time, so the test
# could not hold it open while the command works on it (test_admin has its own test).


def make_store(
    kind: str, name: str, tmp_path: Path, stores: Stores, request: pytest.FixtureRequest
) -> tuple[str, Any]:
    """A fresh, empty store of ``kind``: its URL and an open instance. A Redis store
    gets a key prefix of its own, so it shares the server with other test runs."""
    if kind == "redis":
        base = request.getfixturevalue("redis_url")
        url = f"{base}?prefix=sessionware-cli-test:{os.getpid()}:{uuid.uuid4().hex}:{name}:"
        store = sw.open_store(url)
        request.addfinalizer(store.close)
        request.addfinalizer(store.delete_all)  # finalizers run last-in, first-out
        return url, store
    if kind == "memory":
        url = f"memory://{name}"
        store = sw.open_store("memory://")
        stores.shared[url] = store
        return url, store
    if kind == "sqlite":
        url = f"sqlite:///{tmp_path / name}.db"
    elif kind == "file":
        url = f"file://{tmp_path / name}"
    else:
        raise ValueError(kind)
    store = sw.open_store(url)
    request.addfinalizer(store.close)
    return url, store


@pytest.fixture(params=STORE_KINDS)
def store_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def filled(
    store_kind: str, tmp_path: Path, stores: Stores, request: pytest.FixtureRequest
) -> tuple[str, Any]:
    """``(url, store)`` of an empty store the test fills."""
    return make_store(store_kind, "sessions", tmp_path, stores, request)


def key_of(n: int) -> str:
    """A well-formed store key (40 hex), distinct per ``n``."""
    return f"{n:040x}"


def put(
    store: Any,
    n: int,
    *,
    user: str | None = None,
    data: bytes = b'{"cart":{"apple":1}}',
    expires_in: float = HOUR,
    created_ago: float = 60.0,
    version: int = 1,
) -> Record:
    """Store a record and return it."""
    now = time.time()
    record = Record(
        id=key_of(n),
        data=data,
        created_at=now - created_ago,
        expires_at=now + expires_in,
        version=version,
        user_id=user,
    )
    store.save(record)
    return record


def single_error_line(result: Result) -> str:
    """The one line a failing command printed on stderr (and it is one line)."""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]
