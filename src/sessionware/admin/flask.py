"""``blueprint()``: the sessions admin as a Flask blueprint, over the
``SessionManager`` your app's ``sessionware.integrations.flask.SessionInterface``
uses (or any other)::

    app.register_blueprint(admin_blueprint(manager, authorize=is_admin),
                           url_prefix="/sessions-admin")

``authorize`` receives ``flask.request``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import Blueprint, Response, request

from ..stores.base import Store
from ._sync.handler import AdminHandler
from .messages import MAX_BODY
from .settings import AdminOptions, Authorizer
from .wsgi import admin_request

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from .. import SessionManager

__all__ = ["blueprint"]


def blueprint(
    manager: SessionManager,
    *,
    authorize: Authorizer | None = None,
    store: Store | None = None,
    name: str = "sessionware_admin",
    **options: Unpack[AdminOptions],
) -> Blueprint:
    """A blueprint serving the admin at its ``url_prefix``. Raises
    ``AdminConfigurationError`` without ``authorize``."""
    handler = AdminHandler(manager, authorize=authorize, store=store, **options)
    admin = Blueprint(name, __name__)

    @admin.route("/", defaults={"rest": ""}, methods=["GET", "HEAD", "POST"])
    @admin.route("/<path:rest>", methods=["GET", "HEAD", "POST"])
    def serve(rest: str) -> Response:
        request.max_content_length = MAX_BODY
        base = request.script_root + request.path[: len(request.path) - len(rest)]
        answer = handler.handle(admin_request(request, "/" + rest, base))
        response = Response(answer.body, status=answer.status)
        response.headers.clear()
        for header, value in answer.all_headers():
            response.headers.add(header, value)
        return response

    return admin
