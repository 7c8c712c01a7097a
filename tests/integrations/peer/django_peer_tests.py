"""Django's own session tests (``sessions_tests/tests.py``) on sessionware's engine.

Django runs ``SessionTestsMixin`` once per backend; here it runs on
``sessionware.integrations.django.SessionStore``, without and with time zones (as
Django does for its database backend). ``SessionMiddlewareTests`` runs with
sessionware's engine behind Django's middleware, then behind sessionware's drop-in.
The two names those tests take from Django's database backend are swapped for
sessionware's: ``DatabaseSession`` (a backend) and ``Session`` (the model they read
a stored session back from).
"""

from __future__ import annotations

from typing import Any
from unittest import mock

from django.test import SimpleTestCase, override_settings
from sessions_tests import tests as django_tests

from sessionware.integrations.django import SessionMiddleware, SessionStore


class _Opens:
    """A manager listener (``SESSIONWARE_LISTENERS``): counts the sessions the
    manager opened, so the runner can tell the tests ran on sessionware."""

    count = 0

    def on_visit(self, session: Any) -> None:
        _Opens.count += 1


OPENS = _Opens()


class _StoredSession:
    def __init__(self, session_key: str) -> None:
        self.session_key = session_key

    def get_decoded(self) -> dict[str, Any]:
        return dict(SessionStore(self.session_key).items())


class _StoredSessions:
    """``Session.objects.get(session_key=...)``, read from sessionware's store."""

    class objects:  # noqa: N801  # the model manager's name
        @staticmethod
        def get(*, session_key: str) -> _StoredSession:
            return _StoredSession(session_key)


@override_settings(USE_TZ=False)
class SessionwareSessionTests(django_tests.SessionTestsMixin, SimpleTestCase):
    backend = SessionStore


@override_settings(USE_TZ=True)
class SessionwareSessionWithTimeZoneTests(SessionwareSessionTests):
    pass


class SessionwareEngineMiddlewareTests(django_tests.SessionMiddlewareTests):
    """Django's middleware, sessionware's engine."""

    middleware: Any = django_tests.SessionMiddleware

    def setUp(self) -> None:
        super().setUp()
        swaps = {
            "DatabaseSession": SessionStore,
            "Session": _StoredSessions,
            "SessionMiddleware": self.middleware,
        }
        for name, replacement in swaps.items():
            patcher = mock.patch.object(django_tests, name, replacement)
            patcher.start()
            self.addCleanup(patcher.stop)


class SessionwareMiddlewareTests(SessionwareEngineMiddlewareTests):
    """sessionware's drop-in middleware and engine."""

    middleware = SessionMiddleware
