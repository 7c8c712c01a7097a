"""``sessionware.admin``: a live sessions dashboard to mount in your own app.

A table of live sessions with search, revoke (every session of a user) and delete
(one session); live charts of requests, store operations and latency
percentiles; the visit tracker's and cache's figures. One request handler, four
ways to mount it:

- ``AdminApp(manager, authorize=...)``: a WSGI app (``sessionware.admin.wsgi``);
- ``AsyncAdminApp(amanager, authorize=...)``: an ASGI app (``sessionware.admin.asgi``);
- ``sessionware.admin.django.AdminViews(authorize=...).urls``: for ``include()``;
- ``sessionware.admin.flask.blueprint(manager, authorize=...)``: a Flask blueprint.

There is no default access: each raises ``AdminConfigurationError`` unless given
``authorize(request) -> bool``, which sees every request first. State-changing
requests must carry the page's CSRF token; session values are shown only with
``show_values=True``. Needs Jinja2 (and werkzeug for WSGI, Starlette for ASGI):
the ``[cli]`` extra brings both.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_attributes
from .settings import AdminConfigurationError, AdminOptions, AdminSettings, Authorizer

if TYPE_CHECKING:
    from .asgi import AsyncAdminApp
    from .wsgi import AdminApp

__all__ = [
    "AdminApp",
    "AdminConfigurationError",
    "AdminOptions",
    "AdminSettings",
    "AsyncAdminApp",
    "Authorizer",
]

# Each flavour imports its framework (werkzeug, Starlette) only when asked for.
__getattr__ = lazy_attributes(
    globals(), {"AdminApp": "sessionware.admin.wsgi", "AsyncAdminApp": "sessionware.admin.asgi"}
)
