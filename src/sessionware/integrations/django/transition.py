"""Transition mode for the Django engine: a switch from Django's own session
backends that logs nobody out.

``SESSIONWARE_TRANSITION_FROM = "django"`` with ``SESSIONWARE_TRANSITION_UNTIL``
(a datetime, ISO string or Unix seconds): until then, a request whose
``SESSION_COOKIE_NAME`` cookie is a Django session key (not a sessionware one)
gets that session, imported beforehand with ``sessionware import-sessions
django``, converted into a sessionware session with a new signed key, whose cookie
replaces Django's. The user stays logged in (``_auth_user_id`` and the auth hash
come along, and the session is bound to the user for ``revoke_user``). A forged
or unknown key gets a fresh session and no write; after the period such cookies
are refused as any unknown cookie is.
"""

from __future__ import annotations

from django.conf import settings

from ..._sync.manager import SessionManager
from ..._sync.transition import Transition
from ...core.session import Session
from .engine import get_manager, setting

__all__ = ["adopt", "get_transition"]

_transitions: dict[tuple[int, object, str], Transition] = {}


def get_transition(manager: SessionManager) -> Transition | None:
    """The transition the settings ask for (one per manager and settings), or None."""
    peer = setting("SESSIONWARE_TRANSITION_FROM")
    if peer is None:
        return None
    if peer != "django":
        raise ValueError(f"SESSIONWARE_TRANSITION_FROM must be 'django', not {peer!r}")
    until = setting("SESSIONWARE_TRANSITION_UNTIL")
    if until is None:
        raise ValueError("SESSIONWARE_TRANSITION_FROM needs SESSIONWARE_TRANSITION_UNTIL")
    cookie_name: str = settings.SESSION_COOKIE_NAME
    config = (id(manager), until, cookie_name)
    transition = _transitions.get(config)
    if transition is None:
        from ...importers.django import DjangoCookie

        transition = _transitions[config] = Transition(manager, DjangoCookie(cookie_name), until)
    return transition


def adopt(session_key: str | None) -> Session | None:
    """The converted session a Django session key leads to, or None."""
    transition = get_transition(get_manager())
    if transition is None or not transition.takes(session_key):
        return None
    return transition.adopt(session_key)
