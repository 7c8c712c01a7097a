"""``Session``: the per-request mapping the application reads and writes."""

from __future__ import annotations

from collections.abc import Callable, Iterator, MutableMapping
from typing import Any, Generic, TypeVar, overload

from .codecs import Codec, check_key, encode_checked
from .schema import SchemaT, TypedData
from .signing import new_session_id, store_key

__all__ = ["Session"]

_MISSING: Any = object()
T = TypeVar("T")

# Values of these types cannot be changed in place, so handing them out cannot
# change the session behind its back.
_IMMUTABLE = frozenset({str, int, float, bool, type(None), bytes})


class _Metadata(Generic[T]):
    """A read-only attribute of ``Session`` held in the slot named ``_<name>``.

    Reading it loads the session first when the sync manager's lazy load has not
    happened yet. The core reads the slots directly, so only applications pay for
    the check.
    """

    __slots__ = ("_slot",)

    def __set_name__(self, owner: type, name: str) -> None:
        self._slot = "_" + name

    @overload
    def __get__(self, session: None, owner: type) -> _Metadata[T]: ...
    @overload
    def __get__(self, session: Session, owner: type) -> T: ...
    def __get__(self, session: Session | None, owner: type) -> _Metadata[T] | T:
        if session is None:
            return self
        if session._data is None:
            session._mapping()
        value: T = getattr(session, self._slot)
        return value


class Session(MutableMapping[str, Any], Generic[SchemaT]):
    """A ``MutableMapping[str, Any]`` with the session's metadata.

    Attributes: ``id`` (the raw session id; generated on first use for a new session),
    ``is_new``, ``created_at``, ``last_access`` (the time of this access),
    ``expires_at``, ``user_id``, ``modified``, ``cookie_value`` (the signed id to send
    back after a save, or None when nothing needs setting) and ``invalidated``
    (the session was deleted; the cookie should be removed).

    Changes are found by comparing the encoded mapping with the bytes that were
    loaded, so in-place mutation of nested values (``session["cart"].append(3)``) is
    saved without any flag, and a request that only reads writes nothing.
    The manager and the core own every field starting with an underscore.
    """

    __slots__ = (
        "_codec",
        "_created_at",
        "_data",
        "_dirty",
        "_expires_at",
        "_exposed",
        "_force_save",
        "_id",
        "_is_new",
        "_key",
        "_loader",
        "_original",
        "_own_revocations",
        "_replaces",
        "_stored_expires_at",
        "_stored_user_id",
        "_user_changed",
        "_user_id",
        "_version",
        "accessed",
        "cookie_value",
        "invalidated",
        "last_access",
    )

    _own_revocations: dict[str, float]  # unset until this request calls revoke_user

    def __init__(
        self,
        session_id: str | None,
        key: str | None,
        is_new: bool,
        created_at: float,
        now: float,
        expires_at: float,
        data: dict[str, Any] | None,
        codec: Codec,
        /,
    ) -> None:
        # Positional-only: one of these is built per request, and the core is its
        # only caller.
        self._codec = codec
        self._id = session_id
        self._key = key
        self._is_new = is_new
        self._created_at = created_at
        self.last_access = now
        self._expires_at = self._stored_expires_at = expires_at
        self._user_id: str | None = None
        self._stored_user_id: str | None = None
        self._data = data
        # _dirty: a key was set or deleted. _exposed: a mutable value was handed out
        # (it may be changed in place). Neither: the data is as loaded, no encode needed.
        self._dirty = self._exposed = self._force_save = self._user_changed = False
        self.accessed = self.invalidated = False
        self._original: bytes | None = None
        self._version = 0
        self._loader: Callable[[Session], object] | None = None
        # After a regenerate: the (id, store key) whose record the next save replaces.
        self._replaces: tuple[str, str] | None = None
        # ``_own_revocations`` (user id -> time of a ``revoke_user`` this request made)
        # is left unset until such a call: one attribute less to set per request.
        self.cookie_value: str | None = None

    # -- identity -------------------------------------------------------------

    @property
    def id(self) -> str:
        """The session id. Secret: it is what the cookie authenticates."""
        if self._id is None:
            self._id = new_session_id()
            self._key = None
        return self._id

    @property
    def key(self) -> str:
        """The store key: a hash of ``id``."""
        if self._key is None:
            self._key = store_key(self.id)
        return self._key

    # Metadata of a stored session is only known once it is loaded; the sync
    # manager loads lazily, so reading any of these loads first.
    is_new: _Metadata[bool] = _Metadata()
    """True until the session has been stored (a first visit, or a fresh start)."""
    created_at: _Metadata[float] = _Metadata()
    """When the session was first stored (seconds since the epoch)."""
    expires_at: _Metadata[float] = _Metadata()
    """When the stored session expires (seconds since the epoch)."""
    user_id: _Metadata[str | None] = _Metadata()
    """The user this session is bound to by ``manager.login``, or None."""

    @property
    def loaded(self) -> bool:
        """False while the sync manager's lazy load has not happened yet."""
        return self._data is not None

    @property
    def modified(self) -> bool:
        """True when a save would write: forced, or data differs from what was loaded.

        Computing it encodes the mapping; the manager does the same comparison itself.
        """
        if self._force_save or self._user_changed or self._replaces is not None:
            return True
        if self._data is None:
            return False
        if self._is_new:
            return bool(self._data)
        if not self.may_have_changed:
            return False
        return self._original is None or self._encoded_differs()

    @modified.setter
    def modified(self, value: bool) -> None:
        if value:
            self._mapping()  # a forced save needs the data
        self._force_save = value

    def _encoded_differs(self) -> bool:
        return encode_checked(self._codec, self._data or {}) != self._original

    # -- mapping --------------------------------------------------------------

    def _mapping(self) -> dict[str, Any]:
        data = self._data
        if data is None:
            loader, self._loader = self._loader, None
            if loader is not None:
                loader(self)
            data = self._data
            if data is None:
                data = self._data = {}
        self.accessed = True
        return data

    def __getitem__(self, key: str) -> Any:
        value = self._mapping()[key]
        if type(value) not in _IMMUTABLE:
            self._exposed = True
        return value

    def __setitem__(self, key: str, value: Any) -> None:
        if type(key) is not str:
            check_key(key)  # raises: keys are checked here so that saves need not
        self._mapping()[key] = value
        self._dirty = True

    def __delitem__(self, key: str) -> None:
        del self._mapping()[key]
        self._dirty = True

    def __iter__(self) -> Iterator[str]:
        return iter(self._mapping())

    def __len__(self) -> int:
        return len(self._mapping())

    def __contains__(self, key: object) -> bool:
        return key in self._mapping()

    def get(self, key: str, default: Any = None) -> Any:
        value = self._mapping().get(key, default)
        if type(value) not in _IMMUTABLE:
            self._exposed = True
        return value

    def pop(self, key: str, default: Any = _MISSING) -> Any:
        data = self._mapping()
        self._dirty = True
        if default is _MISSING:
            return data.pop(key)
        return data.pop(key, default)

    def clear(self) -> None:
        self._mapping().clear()
        self._dirty = True

    @property
    def typed(self) -> SchemaT:
        """The data as the manager's schema (``SessionManager(schema=Cart)``: a
        ``Cart``); changes to it are saved like changes to the mapping. Without a
        schema, the mapping itself (a dict)."""
        data: Any = self._mapping()  # a TypedData for a Struct or dataclass schema
        self._exposed = True  # a mutable object handed out: compared when saving
        typed: SchemaT = data.value if type(data) is TypedData else data
        return typed

    @typed.setter
    def typed(self, value: SchemaT) -> None:
        data: Any = self._mapping()
        if type(data) is TypedData:
            data.value = value
        else:
            data.clear()
            data.update(value)
        self._dirty = True

    def to_dict(self) -> dict[str, Any]:
        """A shallow copy of the session's data."""
        self._exposed = True
        return dict(self._mapping())

    @property
    def may_have_changed(self) -> bool:
        """False when the data is certainly as loaded: nothing was set or deleted and
        no mutable value was handed out. Lets a read-only request skip encoding."""
        return self._dirty or self._exposed

    def __repr__(self) -> str:
        if self._data is None:
            return "<Session stored (not loaded yet)>"
        state = "new" if self._is_new else "stored"
        return f"<Session {state} user={self._user_id!r} data={self._data!r}>"
