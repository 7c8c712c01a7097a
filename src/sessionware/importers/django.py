"""Django (the ``db``, ``cached_db`` and ``cache`` session backends): its stored
sessions and its cookie.

Run with the project's settings (``DJANGO_SETTINGS_MODULE``, ``django.setup()``
done, as ``sessionware import-sessions django --settings ...`` does) and the
backend the project used (``engine``, by default ``SESSION_ENGINE``). The data is
decoded by that backend's own ``SessionStore.decode`` (the ``SECRET_KEY``-signed
``SESSION_SERIALIZER`` payload), the expiry is the row's ``expire_date`` or the
cache entry's TTL, and ``_auth_user_id`` (Django's login) is the session's user.
The ``db`` and ``cached_db`` backends are read from the database (keyset pages of
``batch_size`` rows); the ``cache`` backend only from a Redis cache
(``django.core.cache.backends.redis.RedisCache``: other caches cannot list keys).
The cookie (``SESSION_COOKIE_NAME``, ``sessionid``) carries the session key.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from importlib import import_module
from typing import Any

from ..core.transition import PeerSession
from ._redis import scan_prefixed
from ._unsigned import UnsignedCookie

__all__ = ["NAME", "DjangoCookie", "cookie", "sessions"]

NAME = "django"
#: What ``sessionware import-sessions --from`` names for this peer.
SOURCE = "ignored: the database or cache of --settings is read"
#: Where ``django.contrib.auth`` keeps the logged-in user's id.
USER_KEY = "_auth_user_id"
DB_ENGINES = (
    "django.contrib.sessions.backends.db",
    "django.contrib.sessions.backends.cached_db",
)
CACHE_ENGINE = "django.contrib.sessions.backends.cache"
#: Django's session keys: 32 characters of [a-z0-9] (get_random_string).
_SESSION_KEY = re.compile(r"[a-z0-9]{32}")


def _session(key: str, data: dict[str, Any], expires_at: float, now: float) -> PeerSession:
    user = data.get(USER_KEY)
    return PeerSession(key, data, now, expires_at, None if user is None else str(user))


def sessions(
    *, now: float, engine: str | None = None, batch_size: int = 500
) -> Iterator[PeerSession]:
    """The live sessions Django's ``engine`` backend keeps."""
    from django.conf import settings

    engine = engine or settings.SESSION_ENGINE
    if engine in DB_ENGINES:
        return _from_db(engine, now, batch_size)
    if engine == CACHE_ENGINE:
        return _from_cache(now, batch_size)
    raise ValueError(
        f"cannot read sessions of the {engine!r} engine; give the backend the project "
        f"used: one of {(*DB_ENGINES, CACHE_ENGINE)}"
    )


def _from_db(engine: str, now: float, batch_size: int) -> Iterator[PeerSession]:
    from django.utils import timezone

    store_class = import_module(engine).SessionStore
    decode = store_class().decode
    model = store_class.get_model_class()
    live = model.objects.filter(expire_date__gt=timezone.now()).order_by("session_key")
    after = ""
    while True:
        rows = list(live.filter(session_key__gt=after)[:batch_size])
        for row in rows:
            yield _session(
                row.session_key, decode(row.session_data), row.expire_date.timestamp(), now
            )
        if len(rows) < batch_size:
            return
        after = rows[-1].session_key


def _from_cache(now: float, batch_size: int) -> Iterator[PeerSession]:
    from django.conf import settings
    from django.contrib.sessions.backends.cache import KEY_PREFIX
    from django.core.cache import caches

    cache = caches[settings.SESSION_CACHE_ALIAS]
    get_client = getattr(getattr(cache, "_cache", None), "get_client", None)
    if get_client is None:
        raise ValueError("the cache session backend can be read from a Redis cache only")
    prefix = cache.make_key(KEY_PREFIX)
    for key, _, expires_at in scan_prefixed(get_client(), prefix, batch_size, now):
        data = cache.get(KEY_PREFIX + key)  # Django's own serializer
        if data is not None and expires_at is not None:
            yield _session(key, data, expires_at, now)


class DjangoCookie(UnsignedCookie):
    """Django's session cookie: the session key, unsigned (the store must know it)."""

    name = NAME
    default_cookie_name = "sessionid"
    id_pattern = _SESSION_KEY


#: ``cookie(cookie_name="sessionid")``: the peer's cookie, as every importer module has it.
cookie = DjangoCookie
