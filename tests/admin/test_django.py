"""The admin's Django view set included in a Django project whose session engine
is sessionware's; the admin works on that engine's manager."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client, override_settings

import sessionware as sw
import tests.integrations.conftest  # noqa: F401 - configures Django, once per process
from sessionware.admin import AdminConfigurationError
from sessionware.admin.django import AdminViews
from sessionware.integrations.django import get_manager

from .support import is_logged_out, logged_in, token_in


@pytest.fixture(autouse=True)
def urls() -> Iterator[None]:
    with override_settings(ROOT_URLCONF="tests.admin.django_urls"):
        yield


@pytest.fixture
def manager() -> Iterator[sw.SessionManager]:
    manager = get_manager()
    yield manager
    manager.store.delete_all()


@pytest.fixture
def admin() -> Any:
    client = Client()
    client.post("/become-admin")
    return client


def test_the_view_set_refuses_to_be_made_without_an_authorizer() -> None:
    with pytest.raises(AdminConfigurationError):
        AdminViews()


def test_a_visitor_who_is_not_an_administrator_is_refused() -> None:
    assert Client().get("/sessions-admin/").status_code == 403


def test_an_administrator_sees_the_page_under_its_include(admin: Any) -> None:
    response = admin.get("/sessions-admin/")

    assert response.status_code == 200
    cookie = response.cookies["sessionware_admin_csrf"]
    assert cookie["path"] == "/sessions-admin/"
    assert cookie["httponly"]
    assert cookie["samesite"] == "Strict"
    assert admin.get("/sessions-admin/static/admin.js").status_code == 200


def test_an_administrator_revokes_a_user(admin: Any, manager: sw.SessionManager) -> None:
    alice = logged_in(manager, "alice")
    token = token_in(admin.get("/sessions-admin/").content.decode())

    response = admin.post(
        "/sessions-admin/revoke",
        {"user": "alice"},
        content_type="application/json",
        headers={"X-CSRF-Token": token},
    )

    assert response.json()["removed"] == 1
    assert is_logged_out(manager, alice)


def test_a_revoke_without_the_csrf_token_is_refused(admin: Any, manager: sw.SessionManager) -> None:
    alice = logged_in(manager, "alice")
    admin.get("/sessions-admin/")

    response = admin.post(
        "/sessions-admin/revoke", {"user": "alice"}, content_type="application/json"
    )

    assert response.status_code == 403
    assert not is_logged_out(manager, alice)


def test_an_oversized_body_is_refused(admin: Any) -> None:
    token = token_in(admin.get("/sessions-admin/").content.decode())

    response = admin.post(
        "/sessions-admin/revoke",
        {"user": "x" * 20_000},
        content_type="application/json",
        headers={"X-CSRF-Token": token},
    )

    assert response.status_code == 413
