"""Django settings for the switch tests, read from the environment by each process.

``SW_DJANGO_DB``: an SQLite path, or ``postgres:<schema>`` (the suite's
PostgreSQL, in a schema of the test's own); ``SW_DJANGO_ENGINE``: the session
engine (Django's db or cache backend before the switch, sessionware's after);
``SW_DJANGO_CACHE``: "<Redis URL> <key prefix>" for the cache backend;
``SW_TARGET``: the sessionware store; ``SW_UNTIL``: the transition's end;
``SW_RENAMED``: set, the switch also renames the session cookie (Django's
``sessionid`` becomes ``SESSIONWARE_TRANSITION_COOKIE``, sessionware's is ``sw``).
"""

from __future__ import annotations

import os

from django.http import HttpRequest, JsonResponse
from django.urls import path

_DB = os.environ.get("SW_DJANGO_DB", ":memory:")


def _database() -> dict[str, object]:
    if not _DB.startswith("postgres:"):
        return {"ENGINE": "django.db.backends.sqlite3", "NAME": _DB}
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": "test",
        "USER": "postgres",
        "HOST": "127.0.0.1",
        "PORT": "5432",
        "OPTIONS": {"options": f"-c search_path={_DB.partition(':')[2]}"},
    }


SECRET_KEY = "django-switch-test-secret-key-long-enough-0123456789"
INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
]
MIDDLEWARE = [
    "sessionware.integrations.django.middleware.SessionMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
]
DATABASES = {"default": _database()}
SESSION_ENGINE = os.environ.get("SW_DJANGO_ENGINE", "django.contrib.sessions.backends.db")
if os.environ.get("SW_DJANGO_CACHE"):  # "<redis url> <key prefix>": the cache backend's
    _location, _prefix = os.environ["SW_DJANGO_CACHE"].split()
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": _location,
            "KEY_PREFIX": _prefix,
        }
    }
SESSIONWARE_STORE = os.environ.get("SW_TARGET", "memory://")
if os.environ.get("SW_UNTIL"):
    SESSIONWARE_TRANSITION_FROM = "django"
    SESSIONWARE_TRANSITION_UNTIL = float(os.environ["SW_UNTIL"])
    if os.environ.get("SW_RENAMED"):
        SESSION_COOKIE_NAME = "sw"
        SESSIONWARE_TRANSITION_COOKIE = "sessionid"
ROOT_URLCONF = __name__
ALLOWED_HOSTS = ["testserver"]
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def whoami(request: HttpRequest) -> JsonResponse:
    user = request.user
    return JsonResponse({"user": user.get_username(), "cart": request.session.get("cart")})


urlpatterns = [path("whoami", whoami)]
