"""Session tokens in the Django integration: ``SESSIONWARE_TOKEN_HEADER =
"Authorization"`` (or any header) and ``SESSIONWARE_TOKEN_ONLY = True`` for
header-only clients, with sessionware's ``SessionMiddleware``.

The decisions are ``core.tokens``'; this module carries them through Django: which
session key (the signed id) a request opens, ``BadRequest`` (Django answers 400)
for ambiguous credentials, and the token header in place of, or beside, the
cookie. A request whose session came as a token is exempt from Django's CSRF
check: CSRF rides on credentials a browser attaches by itself (cookies), and no
browser attaches a custom request header to a cross-site request without the
site's CORS consent.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import BadRequest
from django.core.signals import setting_changed
from django.http import HttpRequest, HttpResponseBase
from django.utils.cache import patch_vary_headers

from ...core.tokens import TokenOptions, TokenRefused
from .engine import setting

__all__ = ["TokenRequest", "open_credential", "send_token", "token_options"]

logger = logging.getLogger("sessionware")
_ATTRIBUTE = "_sessionware_token"
#: The settings' ``TokenOptions`` (or None), read once and again when they change.
_options: list[TokenOptions | None] = []


def token_options() -> TokenOptions | None:
    if not _options:
        header = setting("SESSIONWARE_TOKEN_HEADER")
        _options.append(TokenOptions.of(header, bool(setting("SESSIONWARE_TOKEN_ONLY"))))
    return _options[0]


def _settings_changed(*, setting: str, **kwargs: Any) -> None:
    if setting in ("SESSIONWARE_TOKEN_HEADER", "SESSIONWARE_TOKEN_ONLY"):
        _options.clear()


setting_changed.connect(_settings_changed)


@dataclass(slots=True, frozen=True)
class TokenRequest:
    """How this request's session came: as a token, and whether with a cookie."""

    options: TokenOptions
    via_token: bool
    had_cookie: bool


def open_credential(request: HttpRequest, options: TokenOptions, cookie: str | None) -> str | None:
    """The session key the request opens (``cookie``: the session cookie's value)."""
    header = request.META.get(options.environ_key)
    try:
        opened, via_token = options.credential(cookie, () if header is None else (header,))
    except TokenRefused as exc:
        logger.warning("answering 400: %s", exc)
        raise BadRequest(str(exc)) from None
    setattr(request, _ATTRIBUTE, TokenRequest(options, via_token, cookie is not None))
    if via_token:
        request._dont_enforce_csrf_checks = True
    return opened


def send_token(request: HttpRequest, response: HttpResponseBase, value: str | None) -> bool:
    """For a token-carrying request, put the token header due for ``value`` (None:
    the session was deleted); whether the cookie should be set (or deleted) too."""
    state: TokenRequest | None = request.__dict__.get(_ATTRIBUTE)
    if state is None:
        return True
    options = state.options
    sent = options.after_save(value, value is None, state.via_token, state.had_cookie)
    if sent is not None:
        response[options.sent_as] = sent
    patch_vary_headers(response, (options.header,))
    return options.sends_cookie(state.via_token)
