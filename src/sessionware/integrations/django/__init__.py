"""Django: a session engine that keeps sessions in any sessionware store.

In ``settings.py``::

    SESSION_ENGINE = "sessionware.integrations.django"
    SESSIONWARE_STORE = "redis://localhost:6379/0"   # any sessionware store URL
    SESSIONWARE_LISTENERS = ["myapp.sessions.metrics"]  # optional: listener objects
    MIDDLEWARE = [
        ...,
        # in place of "django.contrib.sessions.middleware.SessionMiddleware":
        "sessionware.integrations.django.SessionMiddleware",
        ...,
    ]

``request.session`` (sync and async methods), ``set_expiry``, ``cycle_key``,
``flush``, ``django.contrib.auth``'s login/logout and ``manage.py clearsessions``
work as with Django's own backends. Underneath is the same ``SessionManager`` as
every other integration (``get_manager()``): signed keys, hashed store keys,
compare-and-set saves that merge concurrent changes, sessions bound to their user
(``get_manager().revoke_user(user_id)`` logs a user out everywhere), listeners and
visit tracking.

The session cookie follows Django's ``SESSION_COOKIE_*`` settings, plus
``SESSION_COOKIE_PARTITIONED = True`` (sessionware's: Django has no such setting)
for a CHIPS ``Partitioned`` cookie; ``sessionware.cookies.CookieOptions`` renders it.

- ``backend``: ``SessionStore``, Django's ``SessionBase`` over the manager.
- ``engine``: the process's manager and stores for the current settings.
- ``middleware``: ``SessionMiddleware``, the drop-in for Django's.
"""

from __future__ import annotations

from .backend import AUTH_USER_KEY, SessionStore
from .engine import DEFAULT_STORE, close_stores, get_manager, get_store
from .middleware import SessionMiddleware

__all__ = [
    "AUTH_USER_KEY",
    "DEFAULT_STORE",
    "SessionMiddleware",
    "SessionStore",
    "close_stores",
    "get_manager",
    "get_store",
]
