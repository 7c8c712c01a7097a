"""Peers' stored sessions into a sessionware store, and their cookies during a switch.

One module per peer library, each with the same two parts:

- ``sessions(...)``: the peer's live stored sessions as ``PeerSession`` values,
  read in bounded batches and decoded by the peer's own serializer (what
  ``sessionware import-sessions PEER`` copies; ``copy.import_sessions`` writes
  them under ``import_key``);
- a ``PeerCookie`` (``cookie(...)``): what the peer's cookie leads to, for the
  integrations' transition mode (``sessionware.AsyncTransition``/``Transition``).

``django`` (database and cache backends), ``flask_session`` (Redis, filesystem,
SQLAlchemy), ``starsessions`` (Redis), ``beaker`` (file, database, Redis) and
``flask`` (Flask's signed cookie sessions, which hold their data: nothing to
import, the transition reads the cookie). Each needs its peer installed.
"""

from __future__ import annotations

from importlib import import_module
from types import ModuleType

from ..core.transition import PeerCookie, PeerSession, import_key

__all__ = ["PEERS", "PeerCookie", "PeerSession", "import_key", "peer_module"]

#: Peer name (as the CLI and the settings spell it) -> its importer module.
PEERS = {
    "django": "django",
    "flask": "flask",
    "flask-session": "flask_session",
    "starsessions": "starsessions",
    "beaker": "beaker",
}


def peer_module(name: str) -> ModuleType:
    """The importer module of the peer called ``name``."""
    try:
        module = PEERS[name]
    except KeyError:
        raise ValueError(f"unknown peer {name!r}; expected one of {sorted(PEERS)}") from None
    return import_module(f"{__name__}.{module}")
