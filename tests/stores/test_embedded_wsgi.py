"""A store that cannot write turns the request into a 500, through the real WSGI
middleware and Werkzeug's test client, for each embedded store."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
from werkzeug.test import Client
from werkzeug.wrappers import Response

import sessionware as sw
from sessionware.wsgi import SessionMiddleware

from ..conftest import SECRET
from .embedded_support import fill_up, tmpfs


def big_session_app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
    sw.current()["blob"] = "x" * 300_000  # more than the full disk can take
    return Response("saved")(environ, start_response)


def client_for(store: Any) -> Client:
    manager = sw.SessionManager(store, secret_key=SECRET, idle_timeout=None)
    return Client(SessionMiddleware(big_session_app, manager))


@pytest.fixture
def full_disk(tmp_path: Path) -> Iterator[Path]:
    with tmpfs(tmp_path / "mnt", size="1m") as mount:
        yield mount


URLS = ["file://{dir}/sessions", "dbm://{dir}/sessions.dbm", "sqlite:///{dir}/sessions.db"]


@pytest.mark.parametrize("url", URLS)
def test_the_same_request_succeeds_with_room_on_the_disk(tmp_path: Path, url: str) -> None:
    store = sw.open_store(url.format(dir=tmp_path))
    response = client_for(store).get("/")
    assert response.status_code == 200
    assert "Set-Cookie" in response.headers
    store.close()


@pytest.mark.parametrize("url", URLS)
def test_a_full_disk_turns_the_request_into_a_500(full_disk: Path, url: str) -> None:
    store = sw.open_store(url.format(dir=full_disk))
    fill_up(full_disk)
    response = client_for(store).get("/")
    assert response.status_code == 500
    assert "Set-Cookie" not in response.headers
    with contextlib.suppress(sw.StoreError):  # closing may need to write, and cannot
        store.close()


def test_a_read_only_sqlite_store_turns_the_request_into_a_500(tmp_path: Path) -> None:
    sw.open_store(f"sqlite:///{tmp_path}/sessions.db").close()
    store = sw.open_store(f"sqlite:///{tmp_path}/sessions.db?mode=ro")
    response = client_for(store).get("/")
    assert response.status_code == 500
    assert "Set-Cookie" not in response.headers
    store.close()
