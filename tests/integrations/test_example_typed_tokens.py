"""``examples/typed_tokens_api.py`` works as its docstring says: a token at login,
a typed cart kept across requests, no cookie, the token withdrawn at logout."""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient


@pytest.fixture
def client() -> Iterator[TestClient]:
    example: Any = importlib.import_module("examples.typed_tokens_api")
    with TestClient(example.app) as client:
        yield client


def test_the_example_keeps_a_typed_cart_behind_a_bearer_token(client: TestClient) -> None:
    login = client.post("/login", params={"user": "alice"})
    assert "set-cookie" not in login.headers
    auth = {"Authorization": login.headers["authorization"]}
    client.post("/cart/apple", headers=auth)
    client.post("/cart/pear", headers=auth)
    cart = client.get("/cart", headers=auth).json()
    assert cart == {"user": "alice", "items": ["apple", "pear"], "coupon": None}
    logout = client.post("/logout", headers=auth)
    assert logout.headers["authorization"] == ""
    assert client.get("/cart", headers=auth).json()["items"] == []


def test_the_example_refuses_a_duplicated_token_header(client: TestClient) -> None:
    token = client.post("/login", params={"user": "bob"}).headers["authorization"]
    twice = [("Authorization", token), ("Authorization", token)]
    assert client.get("/cart", headers=twice).status_code == 400
