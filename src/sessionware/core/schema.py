"""Typed sessions: a session's data decoded straight into a schema, with migrations.

``SessionManager(store, secret_key=..., schema=Cart, schema_version=3,
migrations={1: upgrade_1_to_2, 2: upgrade_2_to_3})``: ``Cart`` is a
``msgspec.Struct``, a dataclass or a ``TypedDict`` whose fields all have defaults
(a new session starts as ``Cart()``). ``SchemaCodec`` is the codec such a manager
uses: a record holds ``[version, data, extras]`` (JSON or MessagePack), decoded and
validated in one msgspec pass when it is at the current version. Anything else
(an older version, a record from before the schema, data that no longer
validates) goes through the migration chain, each ``migrations[n]`` taking the
plain data of version ``n`` (a dict) to version ``n + 1``; a record written
without a schema counts as version 1. Data no migration repairs is a
``CodecError``, which the core treats as a missing session (logged, removed).

The session's mapping API keeps working over the schema's fields, and keeps keys
that are not fields beside them (``TypedData``: Flask's ``_permanent``, a login
library's user id), so the integrations built on it need no change;
``session.typed`` is the typed object itself. Attribute assignments to it are not
validated until the next load, as for any msgspec Struct.
"""

from __future__ import annotations

import dataclasses
import logging
import typing
from collections.abc import Callable, Iterator, Mapping, MutableMapping
from typing import TYPE_CHECKING, Any, Literal

import msgspec

from .codecs import CodecError

if TYPE_CHECKING:
    from typing_extensions import TypeVar

    #: A session's schema; ``Any`` (the plain mapping) when a manager has none.
    SchemaT = TypeVar("SchemaT", default=Any)
else:
    SchemaT = typing.TypeVar("SchemaT")

__all__ = ["Migration", "SchemaCodec", "SchemaT", "TypedData"]

logger = logging.getLogger("sessionware")

#: ``migrations[n]``: the plain data of schema version ``n`` to that of ``n + 1``.
Migration = Callable[[dict[str, Any]], dict[str, Any]]
#: What a schema-less record counts as: the first version.
UNVERSIONED = 1
_NO_EXTRAS: dict[str, Any] = {}


class TypedData(MutableMapping[str, Any]):
    """A Struct or dataclass session as the core's mapping: its fields, then any
    other keys (``extras``: what frameworks keep for themselves, Flask's
    ``_permanent`` and ``_flashes``, a login library's user id...).

    ``value`` is the typed object (``session.typed``). Deleting a field puts it
    back to its default; ``clear()`` starts again from ``schema()``. False while
    the data equals a fresh session's, so a new session left so is not stored."""

    __slots__ = ("_codec", "extras", "value")

    def __init__(self, value: Any, extras: dict[str, Any], codec: SchemaCodec) -> None:
        self.value = value
        self.extras = extras
        self._codec = codec

    def __getitem__(self, key: str) -> Any:
        if key in self._codec.fields:
            return getattr(self.value, key)
        return self.extras[key]

    def __setitem__(self, key: str, value: Any) -> None:
        if key in self._codec.fields:
            setattr(self.value, key, value)
        else:
            self.extras[key] = value

    def __delitem__(self, key: str) -> None:
        if key in self._codec.fields:
            setattr(self.value, key, getattr(self._codec.schema(), key))
        else:
            del self.extras[key]

    def __iter__(self) -> Iterator[str]:
        yield from self._codec.fields
        yield from self.extras

    def __len__(self) -> int:
        return len(self._codec.fields) + len(self.extras)

    def __bool__(self) -> bool:
        # Compared encoded: a schema may not define equality (Struct(eq=False)).
        return bool(self.extras) or self._codec.encoded_value(self.value) != self._codec.default

    def clear(self) -> None:
        self.value = self._codec.schema()
        self.extras = {}

    def __repr__(self) -> str:
        return repr(self.value)


class SchemaCodec:
    """The codec of a typed manager: ``[version, data, extras]`` in, the schema's
    object out (``extras``: keys that are not fields, see ``TypedData``)."""

    name = "schema"

    def __init__(
        self,
        schema: type[Any],
        version: int = 1,
        migrations: Mapping[int, Migration] | None = None,
        *,
        codec: str = "json",
    ) -> None:
        if version < 1:
            raise ValueError("schema_version must be 1 or more")
        self.migrations = dict(migrations or {})
        missing = [n for n in range(UNVERSIONED, version) if n not in self.migrations]
        if missing and self.migrations:
            raise ValueError(f"migrations has no step from version(s) {missing}")
        self.schema = schema
        self.version = version
        self.is_mapping = _is_typed_dict(schema)
        self.fields = _fields(schema)
        try:
            default = schema()
        except TypeError as exc:
            raise ValueError(
                f"every field of a session schema needs a default ({schema.__name__}: {exc})"
            ) from None
        self.name = f"{codec}+{schema.__name__}"
        # tuple[Literal[version], schema, dict[str, Any]], spelt as a call: the schema
        # and its version are values here, which a type expression cannot name.
        current: Any = tuple.__class_getitem__((Literal[version], schema, dict[str, Any]))
        formats: dict[str, tuple[Any, Any, Any]] = {
            "json": (msgspec.json.Encoder(), msgspec.json.Decoder(current), msgspec.json.Decoder()),
            "msgpack": (
                msgspec.msgpack.Encoder(),
                msgspec.msgpack.Decoder(current),
                msgspec.msgpack.Decoder(),
            ),
        }
        if codec not in formats:
            raise ValueError("a schema works with codec='json' or codec='msgpack'")
        self._encoder, self._decoder, self._loose = formats[codec]
        #: A new session's data, encoded: what a session left untouched encodes to.
        self.default: bytes = self.encoded_value(default)

    # -- the codec --------------------------------------------------------------------

    def empty(self) -> Any:
        """A new session's data: the schema's defaults."""
        value = self.schema()
        return value if self.is_mapping else TypedData(value, {}, self)

    def encoded_value(self, value: Any) -> bytes:
        """The schema object alone, encoded (to compare with ``default``)."""
        encoded: bytes = self._encoder.encode(value)
        return encoded

    def encode(self, data: Any) -> bytes:
        if type(data) is TypedData:
            stored = (self.version, data.value, data.extras)
        else:  # a TypedDict's dict, or a plain mapping (the Flask value guard's probe)
            stored = (self.version, data, _NO_EXTRAS)
        try:
            encoded: bytes = self._encoder.encode(stored)
            return encoded
        except (msgspec.EncodeError, OverflowError) as exc:
            raise TypeError(str(exc)) from exc

    def decode(self, payload: bytes) -> Any:
        """The stored data as the schema: straight when at the current version, else
        migrated; ``CodecError`` when nothing makes it valid."""
        try:
            _, value, extras = self._decoder.decode(payload)
        except msgspec.DecodeError:
            value, extras = self._migrated(payload)
        return value if self.is_mapping else TypedData(value, extras, self)

    def from_fields(self, merged: dict[str, Any]) -> Any:
        """The core's merged mapping (after a conflict) as the session's data."""
        if self.is_mapping:
            return merged
        fields, extras = self._split(merged)
        return TypedData(self.schema(**fields), extras, self)

    def _split(self, data: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        """``data``'s fields, and its other keys."""
        fields = {k: v for k, v in data.items() if k in self.fields}
        return fields, {k: v for k, v in data.items() if k not in self.fields}

    # -- migrations -------------------------------------------------------------------

    def _migrated(self, payload: bytes) -> tuple[Any, dict[str, Any]]:
        version, data, extras = self._versioned(payload)
        if version > self.version:
            raise CodecError(f"stored at schema version {version}, newer than {self.version}")
        start = version
        while version < self.version:
            step = self.migrations.get(version)
            if step is None:
                raise CodecError(f"no migration from schema version {version}")
            try:
                data = step(data)
            except Exception as exc:
                failed = f"migration from schema version {version} failed: {exc!r}"
                raise CodecError(failed) from exc
            version += 1
        if not isinstance(data, dict):
            raise CodecError(f"migration to schema version {version} did not give a dict")
        if not self.is_mapping:
            data, others = self._split(data)
            extras = {**extras, **others}
        try:
            value = msgspec.convert(data, self.schema)
        except msgspec.ValidationError as exc:
            raise CodecError(f"stored data does not match {self.schema.__name__}: {exc}") from exc
        if start != self.version:
            logger.info("a session moved from schema version %d to %d", start, self.version)
        return value, extras

    def _versioned(self, payload: bytes) -> tuple[int, dict[str, Any], dict[str, Any]]:
        """The stored version, data and extras: a plain mapping is version 1 (a
        record from before the schema), ``[version, data]`` or ``[version, data,
        extras]`` a typed record."""
        try:
            raw = self._loose.decode(payload)
        except msgspec.DecodeError as exc:
            raise CodecError(str(exc)) from exc
        if isinstance(raw, dict):
            return UNVERSIONED, raw, {}
        if (
            isinstance(raw, list)
            and len(raw) in (2, 3)
            and type(raw[0]) is int
            and all(isinstance(part, dict) for part in raw[1:])
        ):
            return raw[0], raw[1], raw[2] if len(raw) == 3 else {}
        raise CodecError("stored data is not a session")


def _is_typed_dict(schema: type[Any]) -> bool:
    return (
        isinstance(schema, type) and issubclass(schema, dict) and hasattr(schema, "__annotations__")
    )


def _fields(schema: type[Any]) -> frozenset[str]:
    if isinstance(schema, type) and issubclass(schema, msgspec.Struct):
        return frozenset(schema.__struct_fields__)
    if dataclasses.is_dataclass(schema):
        return frozenset(f.name for f in dataclasses.fields(schema))
    if _is_typed_dict(schema):
        return frozenset(typing.get_type_hints(schema))
    raise TypeError(f"schema must be a msgspec.Struct, a dataclass or a TypedDict, not {schema!r}")
