"""Flask's tagged JSON as a sessionware codec (``SESSIONWARE_CODEC = "flask"``).

Flask's cookie sessions keep tuples, bytes, ``Markup``, ``UUID`` and ``datetime``
values (and a dict whose one key looks like a tag) through
``flask.json.tag.TaggedJSONSerializer``; this codec gives server-side sessions the
same values back, with Flask's own tagging. It stays as fast as the plain JSON codec
for sessions that hold no such value: msgspec encodes and decodes, and Flask's
(Python) tagging runs only on a session that needs it, found by a type walk on
encode and a look at each ``{`` on decode.
"""

from __future__ import annotations

from typing import Any

import msgspec
from flask.json.tag import TaggedJSONSerializer

from ..core.codecs import CodecError

__all__ = ["TaggedJSONCodec", "may_be_tagged", "needs_tagging"]

# Exact types JSON keeps as they are (a subclass such as Markup or an enum is not).
_PLAIN_SCALARS = frozenset({str, int, float, bool, type(None)})
_DEFAULT_TAG_COUNT = len(TaggedJSONSerializer.default_tags)


def may_be_tagged(payload: bytes) -> bool:
    """Whether encoded bytes may hold a tagged value. Every default tag key starts
    with a space and msgspec writes objects without spaces, so a tagged value
    always begins ``{" ``; looking at each ``{`` (memchr) is cheaper than a
    substring search over the whole payload."""
    at = payload.find(b"{")
    while at >= 0:
        if payload[at + 1 : at + 3] == b'" ':
            return True
        at = payload.find(b"{", at + 1)
    return False


def needs_tagging(value: Any, tags: dict[str, Any]) -> bool:
    """Whether Flask's serializer would tag anything in ``value``: True for a value
    JSON cannot keep as it is (tuple, bytes, Markup, UUID, datetime, any other
    non-JSON type) or a dict whose only key is one of ``tags``."""
    kind = type(value)
    if kind in _PLAIN_SCALARS:
        return False
    if kind is list:
        # Loops, not any(): a generator costs more than the walk on a small session.
        for item in value:  # noqa: SIM110
            if type(item) not in _PLAIN_SCALARS and needs_tagging(item, tags):
                return True
        return False
    if kind is dict:
        if len(value) == 1 and next(iter(value)) in tags:
            return True
        for item in value.values():
            if type(item) not in _PLAIN_SCALARS and needs_tagging(item, tags):
                return True
        return False
    return True


class TaggedJSONCodec:
    """Flask's session serializer as a codec: JSON that keeps tuples, bytes,
    ``Markup``, ``UUID`` and ``datetime`` values, as Flask's cookie sessions do.

    The default codec of ``init_app``. Tags registered on ``.serializer`` (Flask's
    ``TaggedJSONSerializer.register``) are honoured; the fast path then steps aside.
    Values neither JSON nor a tag can represent raise ``TypeError`` at save, as with
    Flask's cookie sessions.
    """

    name = "flask"

    def __init__(self) -> None:
        self._serializer = serializer = TaggedJSONSerializer()
        # register() changes these in place, and always appends to ``order`` (even
        # with force=True): while it has the default length, only the default tags,
        # which the fast paths know, apply.
        self._order = serializer.order
        self._tags = serializer.tags
        self._encode = msgspec.json.Encoder().encode
        self._decode = msgspec.json.Decoder(dict[str, Any]).decode
        self._decode_any = msgspec.json.Decoder().decode

    @property
    def serializer(self) -> TaggedJSONSerializer:
        """Flask's serializer doing the tagging: ``codec.serializer.register(Tag)``."""
        return self._serializer

    def encode(self, data: dict[str, Any]) -> bytes:
        try:
            if len(self._order) == _DEFAULT_TAG_COUNT:
                tags = self._tags
                # The session's own values walked here: one call less per value.
                for value in data.values():
                    if type(value) not in _PLAIN_SCALARS and needs_tagging(value, tags):
                        break
                else:
                    if len(data) != 1 or next(iter(data)) not in tags:
                        return self._encode(data)
            return self._encode(self._serializer.tag(data))
        except (msgspec.EncodeError, OverflowError) as exc:
            raise TypeError(str(exc)) from exc

    def decode(self, payload: bytes) -> dict[str, Any]:
        try:
            if len(self._order) == _DEFAULT_TAG_COUNT and not may_be_tagged(payload):
                return self._decode(payload)
            # _untag_scan is what TaggedJSONSerializer.loads runs on the loaded JSON.
            data = self._serializer._untag_scan(self._decode_any(payload))
        except (msgspec.DecodeError, ValueError, TypeError, KeyError) as exc:
            raise CodecError(f"stored session is not Flask tagged JSON: {exc}") from exc
        if not isinstance(data, dict):
            raise CodecError("stored session is not a mapping")
        return data
