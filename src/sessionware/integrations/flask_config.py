"""The Flask integration's reading of ``app.config``: the manager it builds (store,
keys, lifetimes, codec) and whether sessions are permanent by default."""

from __future__ import annotations

import secrets
from typing import Any

from flask import Flask

from .._sync.manager import SessionManager
from ..core.codecs import Codec
from ..core.expiry import lifetime_limits
from ..core.signing import CookieSigner
from ..stores.base import StoreLike
from ..stores.registry import open_store
from .flask_codec import TaggedJSONCodec

__all__ = ["DEFAULT_STORE", "app_signer", "manager_from_config", "permanent_by_default"]

#: The store ``init_app`` opens when ``SESSIONWARE_STORE`` is not configured.
DEFAULT_STORE = "sqlite:///sessions.db"


def app_signer(keys: list[str | bytes]) -> CookieSigner:
    """A signer for Flask's keys, or a ValueError that names the Flask settings."""
    try:
        return CookieSigner(keys)
    except ValueError as exc:
        raise ValueError(
            f"Flask's SECRET_KEY (then SECRET_KEY_FALLBACKS) signs sessionware's cookies: {exc}"
        ) from None


def manager_from_config(
    app: Flask, store: StoreLike | str | None = None, **manager_options: Any
) -> SessionManager:
    """A ``SessionManager`` configured from ``app.config``.

    The store from ``store`` (a store or a URL) or ``SESSIONWARE_STORE`` (default
    ``sqlite:///sessions.db``); the keys from ``SECRET_KEY`` plus
    ``SECRET_KEY_FALLBACKS`` (a random placeholder while there is no secret key:
    ``init_app``'s interface then gives Flask's null session); the lifetimes from
    ``PERMANENT_SESSION_LIFETIME`` with Flask's meaning, which slides: a session
    lives that long after its last request (``SESSIONWARE_LIFETIME = "absolute"``
    counts it from creation instead), ``SESSIONWARE_MAX_AGE`` (seconds, default
    None) an optional absolute cap from creation and ``SESSIONWARE_IDLE_TIMEOUT``
    (seconds, default None) an optional shorter idle limit; the codec from
    ``SESSIONWARE_CODEC``: "flask" (the default, Flask's tagged JSON, see
    ``TaggedJSONCodec``), "json", "msgpack" or a ``Codec``. ``manager_options``
    go to ``SessionManager`` as they are (``clock=``, ``visit_tracker=``...).
    """
    config = app.config
    secret = config.get("SECRET_KEY")
    fallbacks = config.get("SECRET_KEY_FALLBACKS") or []
    keys = [secret, *fallbacks] if secret else [secrets.token_urlsafe(32)]
    app_signer(keys)  # a key sessionware refuses is named as the Flask setting it is
    if store is None or isinstance(store, str):
        store = open_store(store or config.get("SESSIONWARE_STORE") or DEFAULT_STORE)
    codec: str | Codec = config.get("SESSIONWARE_CODEC", "flask")
    if codec == "flask":
        codec = TaggedJSONCodec()
    idle_timeout, max_age = lifetime_limits(
        app.permanent_session_lifetime.total_seconds(),
        sliding=_sliding(config.get("SESSIONWARE_LIFETIME", "sliding")),
        idle_timeout=config.get("SESSIONWARE_IDLE_TIMEOUT"),
        max_age=config.get("SESSIONWARE_MAX_AGE"),
    )
    return SessionManager(
        store,
        secret_key=keys,
        max_age=max_age,
        idle_timeout=idle_timeout,
        codec=codec,
        **manager_options,
    )


def permanent_by_default(app: Flask) -> bool:
    """Whether a session is permanent until the app says otherwise:
    ``SESSION_PERMANENT`` (Flask-Session's setting) when set; otherwise True in an
    app configured for Flask-Session (it has ``SESSION_TYPE``), as Flask-Session's
    default is, and False elsewhere, as Flask's cookie sessions are."""
    config = app.config
    return bool(config.get("SESSION_PERMANENT", "SESSION_TYPE" in config))


def _sliding(meaning: str) -> bool:
    """``SESSIONWARE_LIFETIME``: "sliding" (Flask's) or "absolute" (from creation)."""
    if meaning not in ("sliding", "absolute"):
        raise ValueError(f"SESSIONWARE_LIFETIME must be 'sliding' or 'absolute', not {meaning!r}")
    return meaning == "sliding"
