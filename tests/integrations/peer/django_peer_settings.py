"""Settings for Django's own session tests on sessionware (see ``django_runner``).

What Django's ``tests/runtests.py`` would configure for ``sessions_tests``, with the
session engine swapped and the store taken from ``$SESSIONWARE_STORE``.
"""

from __future__ import annotations

import os

# Django's test settings use "django_tests_secret_key" (23 bytes); sessionware
# refuses signing keys under 32 bytes, so the same key, lengthened (deterministic).
SECRET_KEY = "django_tests_secret_key" + "-lengthened-for-sessionware-32-bytes"
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3"}}
INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "sessions_tests",
]
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
MIDDLEWARE: list[str] = []
SESSION_ENGINE = "sessionware.integrations.django"
SESSIONWARE_STORE = os.environ["SESSIONWARE_STORE"]
SESSIONWARE_LISTENERS = ["django_peer_tests.OPENS"]
USE_TZ = False
