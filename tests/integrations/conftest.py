"""Framework integration tests: a minimal Django configuration for test_django.py.

Django reads its settings once per process, so they are configured here, before any
test module of this directory imports Django's session machinery.
"""

from __future__ import annotations

import django
from django.conf import settings

if not settings.configured:
    settings.configure(
        SECRET_KEY="django-test-secret-key-that-is-long-enough-000",
        INSTALLED_APPS=["django.contrib.sessions"],  # for manage.py clearsessions
        MIDDLEWARE=["django.contrib.sessions.middleware.SessionMiddleware"],
        ROOT_URLCONF="tests.integrations.django_site",
        SESSION_ENGINE="sessionware.integrations.django",
        SESSIONWARE_STORE="memory://",
        ALLOWED_HOSTS=["testserver"],
        DATABASES={},
        USE_TZ=True,
    )
    django.setup()
