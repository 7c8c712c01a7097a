"""The URLconf of the Django project the admin tests mount it in: an administrator
is a visitor whose Django session says so."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.urls import include, path

from sessionware.admin.django import AdminViews


def is_admin(request: Any) -> bool:
    return bool(request.session.get("role") == "admin")


def become_admin(request: HttpRequest) -> HttpResponse:
    request.session["role"] = "admin"
    return HttpResponse("you are an administrator now")


urlpatterns = [
    path("become-admin", become_admin),
    path("sessions-admin/", include(AdminViews(authorize=is_admin).urls)),
]
