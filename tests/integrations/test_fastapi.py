"""The FastAPI example app and dependencies, driven through FastAPI's TestClient."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

import sessionware as sw
from sessionware.asgi import SessionMiddleware
from sessionware.integrations.fastapi import ManagerDep, SessionDep
from sessionware.stores.memory import AsyncMemoryStore

from ..conftest import SECRET

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "fastapi_app.py"


def load_example() -> Any:
    spec = importlib.util.spec_from_file_location("fastapi_example", EXAMPLE)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def client(monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    monkeypatch.delenv("SESSION_STORE", raising=False)
    with TestClient(load_example().app) as client:
        yield client


def test_the_example_counts_visits(client: TestClient) -> None:
    assert [client.get("/").json()["visits"] for _ in range(3)] == [1, 2, 3]


def test_login_binds_the_user_and_changes_the_cookie(client: TestClient) -> None:
    client.get("/")
    before = client.cookies["session"]
    assert client.post("/login", params={"user": "ada"}).json() == {"user": "ada"}
    assert client.cookies["session"] != before
    assert client.get("/me").json() == {"user": "ada", "visits": 1}


def test_logout_forgets_the_user_and_deletes_the_cookie(client: TestClient) -> None:
    client.post("/login", params={"user": "ada"})
    client.post("/logout")
    assert "session" not in client.cookies
    assert client.get("/me").json() == {"user": None, "visits": 0}


def test_the_example_runs_on_a_store_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SESSION_STORE", "memory:///example")
    with TestClient(load_example().app) as client:
        assert [client.get("/").json()["visits"] for _ in range(2)] == [1, 2]


def test_the_dependencies_explain_a_missing_middleware() -> None:
    app = FastAPI()

    @app.get("/session")
    async def needs_session(session: SessionDep) -> dict[str, Any]:
        return {}

    @app.get("/manager")
    async def needs_manager(manager: ManagerDep) -> dict[str, Any]:
        return {}

    client = TestClient(app)
    for path in ("/session", "/manager"):
        with pytest.raises(RuntimeError, match="add sessionware"):
            client.get(path)


def test_session_dep_works_with_the_plain_asgi_middleware() -> None:
    manager = sw.AsyncSessionManager(AsyncMemoryStore(), secret_key=SECRET)
    app = FastAPI()

    @app.get("/")
    async def count(session: SessionDep) -> dict[str, Any]:
        session["n"] = session.get("n", 0) + 1
        return {"n": session["n"]}

    with TestClient(SessionMiddleware(app, manager, secure=False)) as client:
        assert [client.get("/").json()["n"] for _ in range(2)] == [1, 2]


def test_the_readme_snippet_runs() -> None:
    readme = (EXAMPLE.parents[1] / "README.md").read_text()
    section = readme.split("### Starlette / FastAPI", 1)[1]
    code = section.split("```python", 1)[1].split("```", 1)[0]
    namespace: dict[str, Any] = {}
    exec(compile(code, "README.md", "exec"), namespace)
    with TestClient(namespace["app"]) as client:
        assert [client.get("/").json()["visits"] for _ in range(2)] == [1, 2]
        assert client.post("/login", params={"user": "ada"}).json() == {"user": "ada"}
        client.post("/logout")
        assert client.get("/").json() == {"visits": 1}
