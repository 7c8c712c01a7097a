"""Flask's own (signed cookie) sessions: nothing to import, the cookie holds them.

During a transition the cookie is read as Flask reads it: its
``SecureCookieSessionInterface`` signing serializer (``SECRET_KEY`` and
``SECRET_KEY_FALLBACKS``, the ``cookie-session`` salt, Flask's tagged JSON),
refusing a cookie older than ``PERMANENT_SESSION_LIFETIME`` as Flask does. A
forged or expired cookie gives nothing; Flask-Login's ``_user_id`` is the user.
"""

from __future__ import annotations

from flask import Flask
from flask.sessions import SecureCookieSessionInterface
from itsdangerous import BadSignature

from ..core.transition import PeerSession

__all__ = ["NAME", "FlaskCookie", "cookie"]

NAME = "flask"
USER_KEY = "_user_id"


class FlaskCookie:
    """Flask's session cookie, verified and decoded with ``app``'s settings."""

    name = NAME

    def __init__(self, app: Flask, cookie_name: str | None = None) -> None:
        self.app = app
        self.cookie_name = cookie_name or app.config["SESSION_COOKIE_NAME"]
        self._interface = SecureCookieSessionInterface()

    def locate(self, cookie_value: str) -> PeerSession | None:
        app = self.app
        serializer = self._interface.get_signing_serializer(app)
        if serializer is None:  # no SECRET_KEY: Flask could not have signed it
            return None
        lifetime = app.permanent_session_lifetime.total_seconds()
        try:
            data, signed_at = serializer.loads(
                cookie_value, max_age=int(lifetime), return_timestamp=True
            )
        except BadSignature:
            return None
        if not isinstance(data, dict):
            return None
        user = data.get(USER_KEY)
        created_at = signed_at.timestamp()
        return PeerSession("", data, created_at, created_at + lifetime, user and str(user))


def cookie(app: Flask, cookie_name: str | None = None) -> FlaskCookie:
    return FlaskCookie(app, cookie_name)
