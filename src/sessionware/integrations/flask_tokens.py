"""Session tokens in the Flask integration: ``SessionInterface(manager,
token_header="Authorization", token_only=False)``.

The decisions are ``core.tokens``'; this module carries them through Flask: which
signed id a request opens, a 400 for ambiguous credentials (Flask opens the session
before it routes, and an error raised there would be a 500, so the request's
routing error becomes the ``BadRequest``), and the token header and ``Vary`` on the
response in place of, or beside, the cookie.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from flask import Request, Response
from flask import request as current_request
from werkzeug.exceptions import BadRequest

from ..core.tokens import TokenOptions, TokenRefused

__all__ = ["TokenRequest", "open_credential", "send_token"]

logger = logging.getLogger("sessionware")
ENVIRON_KEY = "sessionware.flask_token"


@dataclass(slots=True, frozen=True)
class TokenRequest:
    """How this request's session came: as a token, and whether with a cookie."""

    via_token: bool
    had_cookie: bool
    refused: bool = False


def open_credential(
    options: TokenOptions, request: Request, cookie_value: str | None
) -> str | None:
    """The signed id the request opens (``cookie_value``: the session cookie's)."""
    header = request.environ.get(options.environ_key)
    try:
        opened, via_token = options.credential(cookie_value, () if header is None else (header,))
    except TokenRefused as exc:
        logger.warning("answering 400: %s", exc)
        request.routing_exception = BadRequest(str(exc))
        request.environ[ENVIRON_KEY] = TokenRequest(False, False, refused=True)
        return None
    request.environ[ENVIRON_KEY] = TokenRequest(via_token, cookie_value is not None)
    return opened


def send_token(options: TokenOptions, response: Response, value: str | None) -> bool:
    """Put the token header due for ``value`` (None: the session was deleted) on
    the response; whether the cookie should be set (or deleted) too."""
    state = current_request.environ.get(ENVIRON_KEY)
    if not isinstance(state, TokenRequest) or state.refused:
        return False
    sent = options.after_save(value, value is None, state.via_token, state.had_cookie)
    if sent is not None:
        response.headers[options.sent_as] = sent
    response.vary.add(options.header)
    return options.sends_cookie(state.via_token)
