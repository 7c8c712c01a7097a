"""``FlaskSession``: what ``flask.session`` is with sessionware's Flask integration.

Split from ``flask.py`` (the session interface) to keep each module readable.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextvars import Token
from typing import Any

from flask.json.tag import TaggedJSONSerializer
from flask.sessions import SessionMixin

from ..context import current_session
from ..core.codecs import Codec
from ..core.session import Session
from .flask_codec import TaggedJSONCodec, needs_tagging

__all__ = ["CODEC_HINT", "FlaskSession", "ValueGuard", "value_guard"]

logger = logging.getLogger("sessionware")
_MISSING: Any = object()

#: Where a value the codec cannot store is pointed to.
CODEC_HINT = (
    "set SESSIONWARE_CODEC = 'flask' (init_app's default) or give the manager "
    "codec=TaggedJSONCodec() to keep Flask's tagged types (tuple, bytes, Markup, "
    "UUID, datetime)"
)
#: Where Flask's ``flash()`` keeps the messages of the next request.
FLASHES_KEY = "_flashes"


class ValueGuard:
    """For a manager whose codec is not Flask's tagged JSON: a value that codec
    cannot encode fails when it is assigned (naming ``SESSIONWARE_CODEC``), not
    later at save as a 500; and flashed messages are kept in Flask's tagged form
    so ``flash(Markup(...))`` and ``(category, message)`` tuples come back as
    they were flashed with any codec."""

    __slots__ = ("_codec", "_serializer")

    def __init__(self, codec: Codec) -> None:
        self._codec = codec
        self._serializer = TaggedJSONSerializer()

    def stored(self, key: str, value: Any) -> Any:
        """What to keep for ``session[key] = value``."""
        tags = self._serializer.tags
        if key == FLASHES_KEY:
            return self._serializer.tag(value)
        if needs_tagging(value, tags):
            try:
                self._codec.encode({key: value})
            except (TypeError, ValueError, OverflowError) as exc:
                raise TypeError(
                    f"session value for key {key!r} ({type(value).__name__}) cannot be "
                    f"stored by the {self._codec.name!r} codec ({exc}); {CODEC_HINT}"
                ) from exc
        return value

    def loaded(self, key: str, value: Any) -> Any:
        """What ``session[key]`` gives for a kept ``value`` (FlaskSession asks only
        for the flashes: every other value is kept as it was given)."""
        if key == FLASHES_KEY:
            return self._serializer._untag_scan(value)
        return value


def value_guard(codec: Codec) -> ValueGuard | None:
    """The guard a manager's codec needs: none for Flask's tagged JSON."""
    return None if isinstance(codec, TaggedJSONCodec) else ValueGuard(codec)


class FlaskSession(SessionMixin):
    """What ``flask.session`` is: Flask's ``SessionMixin`` around a ``sessionware.Session``.

    As Flask's ``SessionMixin`` defines them: ``permanent`` lives in the data under
    ``"_permanent"``; ``accessed`` is True once the request used the session
    (Flask's request context sets it; reads and writes through ``sessionware.current()``
    count too) and then the response varies on ``Cookie``; ``modified`` is True
    once a value was set or deleted through it (as Flask's own session says), when
    the data differs from what was loaded (an in-place change of a nested value), or
    when a save was forced by setting it; ``new`` is True for a session not stored yet.
    ``.session`` is the underlying ``sessionware.Session`` (also ``sessionware.current()``).
    """

    def __init__(
        self, session: Session, cookie_value: str | None, guard: ValueGuard | None = None
    ) -> None:
        self.session = session
        self.cookie_value = cookie_value  # what the request sent
        self._guard = guard
        self._accessed = False
        self._written = False  # a value was set or deleted through this wrapper
        self._token: Token[Session] | None = None
        self._finished = False

    #: What ``permanent`` is while the data has no ``"_permanent"`` (the interface
    #: sets it from ``SESSION_PERMANENT``).
    permanent_default = False

    @property
    def permanent(self) -> bool:
        return bool(self.get("_permanent", self.permanent_default))

    @permanent.setter
    def permanent(self, value: bool) -> None:
        self["_permanent"] = bool(value)

    @property
    def sid(self) -> str:
        """Flask-Session's ``session.sid``: the session id (secret: the cookie
        carries it, signed). A new session gets the id it will be stored under."""
        return self.session.id

    # Flask 3.1.3+ marks the session accessed whenever the proxy is used; older
    # versions expect the session to notice reads itself: support both.
    @property
    def accessed(self) -> bool:
        return self._accessed or self.session.accessed

    @accessed.setter
    def accessed(self, value: bool) -> None:
        self._accessed = value

    @property
    def modified(self) -> bool:
        # A write through flask.session answers without encoding the data to compare.
        return self._written or self.session.modified

    @modified.setter
    def modified(self, value: bool) -> None:
        self.session.modified = value
        if not value:
            self._written = False

    # The ignore: Flask's SessionMixin declares ``new`` a plain writable attribute;
    # here it is read-only, answered by the sessionware session.
    @property
    def new(self) -> bool:  # type: ignore[override]
        return self.session.is_new

    def __getitem__(self, key: str) -> Any:
        value = self.session[key]
        if key == FLASHES_KEY and self._guard is not None:
            return self._guard.loaded(key, value)
        return value

    def __setitem__(self, key: str, value: Any) -> None:
        if self._guard is not None:
            value = self._guard.stored(key, value)
        self.session[key] = value
        self._written = True

    def __delitem__(self, key: str) -> None:
        del self.session[key]
        self._written = True

    def __iter__(self) -> Iterator[str]:
        return iter(self.session)

    def __len__(self) -> int:
        return len(self.session)

    def __contains__(self, key: object) -> bool:
        return key in self.session

    def get(self, key: str, default: Any = None) -> Any:
        if key != FLASHES_KEY or self._guard is None:
            return self.session.get(key, default)
        return self[key] if key in self.session else default

    def pop(self, key: str, default: Any = _MISSING) -> Any:
        if key in self.session:
            self._written = True
            value = self.session.pop(key)
            if key == FLASHES_KEY and self._guard is not None:
                return self._guard.loaded(key, value)
            return value
        if default is _MISSING:
            raise KeyError(key)
        return default

    def clear(self) -> None:
        self.session.clear()
        self._written = True

    def __repr__(self) -> str:
        return f"<FlaskSession {self.session!r}>"

    def _bind(self) -> None:
        self._token = current_session.set(self.session)

    def _unbind(self) -> None:
        token, self._token = self._token, None
        if token is not None:
            try:
                current_session.reset(token)
            except ValueError:
                # Bound in another context (a copied one): nothing to undo here.
                logger.debug("sessionware.current() was bound in another context")
