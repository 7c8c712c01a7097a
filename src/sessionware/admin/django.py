"""The sessions admin as a Django view set: ``AdminViews(...).urls`` for
``include()``, over the manager of ``sessionware.integrations.django`` (the
``SESSION_ENGINE``) unless you give another::

    from sessionware.admin.django import AdminViews

    urlpatterns = [
        path("sessions-admin/", include(AdminViews(authorize=lambda r: r.user.is_superuser).urls)),
    ]

``authorize`` receives Django's ``HttpRequest``. The views check their own CSRF
token (a signed double-submit cookie), so they are exempt from Django's.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from django.http import HttpRequest, HttpResponse
from django.urls import path, re_path
from django.views.decorators.csrf import csrf_exempt

from ..stores.base import Store
from ._sync.handler import AdminHandler
from .messages import MAX_BODY, AdminRequest, AdminResponse
from .settings import AdminOptions, AdminSettings, Authorizer

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from .. import SessionManager

__all__ = ["AdminViews"]


class AdminViews:
    """Raises ``AdminConfigurationError`` without ``authorize``. ``manager``: by
    default the Django integration's (``get_manager()``, made on first request)."""

    app_name = "sessionware_admin"

    def __init__(
        self,
        manager: SessionManager | None = None,
        *,
        authorize: Authorizer | None = None,
        store: Store | None = None,
        **options: Unpack[AdminOptions],
    ) -> None:
        # Checked now (no authorizer: refused here, not at the first request).
        self.settings = AdminSettings(authorize=authorize, **options)
        self._manager = manager
        self._handler_of = functools.partial(
            AdminHandler, authorize=authorize, store=store, **options
        )
        self._handler: AdminHandler | None = None

    @property
    def handler(self) -> AdminHandler:
        if self._handler is None:
            manager = self._manager
            if manager is None:
                from ..integrations.django import get_manager

                manager = get_manager()
            self._handler = self._handler_of(manager)
        return self._handler

    @property
    def urls(self) -> tuple[list[Any], str]:
        """``(patterns, app_name)`` for ``include()``."""
        view = csrf_exempt(self.view)
        patterns = [
            path("", view, {"rest": ""}, name="index"),
            re_path(r"^(?P<rest>.+)$", view, name="route"),
        ]
        return patterns, self.app_name

    def view(self, request: HttpRequest, rest: str) -> HttpResponse:
        if request.method == "POST" and int(request.META.get("CONTENT_LENGTH") or 0) > MAX_BODY:
            answer = AdminResponse.json({"error": "Request body too large."}, 413)
        else:
            answer = self.handler.handle(_admin_request(request, rest))
        response = HttpResponse(answer.body, status=answer.status)
        for name, value in answer.all_headers(with_cookie=False):  # one of each name
            response[name] = value
        cookie = answer.cookie
        if cookie is not None:  # Django's cookie jar: its middlewares see it
            response.set_cookie(
                cookie.name,
                cookie.value,
                path=cookie.path,
                secure=cookie.secure,
                httponly=True,
                samesite="Strict",
            )
        return response


def _admin_request(request: HttpRequest, rest: str) -> AdminRequest:
    full = request.path
    return AdminRequest(
        method=request.method or "GET",
        path="/" + rest,
        base=full[: len(full) - len(rest)],
        native=request,
        query={key: request.GET[key] for key in request.GET},
        headers={name.lower(): value for name, value in request.headers.items()},
        body=request.body if request.method == "POST" else b"",
        secure=request.is_secure(),
    )
