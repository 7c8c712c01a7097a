"""Every decision of a request's session lifecycle, with no I/O.

The sync and async managers ask this module what to do (load or not, what to
write, how to merge after a conflict) and only carry the answer to the store, so
a rule changed here changes both managers.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from enum import Enum
from typing import Any

import msgspec

from ..errors import ConcurrentUpdateError
from .codecs import Codec, encode_named, raw_functions, resolve_codec
from .encryption import EncryptionKey, RecordCipher
from .expiry import ExpiryPolicy
from .record import Record
from .schema import Migration, SchemaCodec
from .session import Session
from .signing import CookieSigner

__all__ = ["Action", "SavePlan", "SessionCore"]

logger = logging.getLogger("sessionware")


class Action(Enum):
    NOTHING = "nothing"
    WRITE = "write"
    DELETE = "delete"
    TOUCH = "touch"
    DROP = "drop"  # the record was deleted meanwhile; never re-create it


class SavePlan(msgspec.Struct, frozen=True, gc=False):
    """What one save must do (a Struct: a NamedTuple with defaults is 5x slower to build)."""

    action: Action
    record: Record | None = None
    expected_version: int = 0
    delete_key: str | None = None  # after a regenerate: the old record to remove
    plain: bytes | None = None  # the data as the codec wrote it (before any sealing)


_NOTHING = SavePlan(Action.NOTHING)
_DROP = SavePlan(Action.DROP)


class SessionCore:
    """The sans-I/O heart of a session manager."""

    def __init__(
        self,
        *,
        secret_key: str | bytes | Sequence[str | bytes],
        idle_timeout: float | None,
        max_age: float | None,
        codec: str | Codec = "json",
        allow_pickle: bool = False,
        touch_fraction: float = 0.1,
        same_key_conflicts: str = "last_writer_wins",
        encryption_keys: Sequence[EncryptionKey] | None = None,
        schema: type[Any] | None = None,
        schema_version: int = 1,
        migrations: Mapping[int, Migration] | None = None,
    ) -> None:
        if same_key_conflicts not in ("last_writer_wins", "raise"):
            raise ValueError("same_key_conflicts must be 'last_writer_wins' or 'raise'")
        self.signer = CookieSigner(secret_key)
        first_key = secret_key if isinstance(secret_key, (str, bytes)) else secret_key[0]
        raw_key = first_key.encode() if isinstance(first_key, str) else first_key
        #: A typed manager's codec (None: the session is a plain mapping).
        self.schema: SchemaCodec | None = None
        if schema is not None:
            if not isinstance(codec, str):
                raise ValueError("a schema works with codec='json' or codec='msgpack'")
            self.schema = SchemaCodec(schema, schema_version, migrations, codec=codec)
        self.codec: Codec = self.schema or resolve_codec(
            codec, secret_key=raw_key, allow_pickle=allow_pickle
        )
        self._encode, self._decode = raw_functions(self.codec)
        self.policy = ExpiryPolicy(idle_timeout, max_age, touch_fraction)
        self.raise_on_same_key = same_key_conflicts == "raise"
        #: Seals record data at rest (None: stored as the codec wrote it).
        self.cipher = RecordCipher(encryption_keys) if encryption_keys is not None else None

    # -- opening --------------------------------------------------------------

    def open(self, cookie_value: str | None, now: float) -> Session:
        """A fresh session, or an unloaded one for a genuine, unexpired cookie."""
        signed = self.signer.unsign(cookie_value)
        if signed is None or self.policy.cookie_expired(signed.created_at, now):
            return self.fresh(now)
        created_at = float(signed.created_at)
        session = Session(
            signed.session_id, signed.key, False, created_at, now, 0.0, None, self.codec
        )
        if signed.stale:
            # Signed by a fallback key: hand the visitor the current key's cookie once,
            # so the old key can be retired (``attach`` withdraws it if the record is gone).
            session.cookie_value = self.signer.resign(signed)
        return session

    def fresh(self, now: float) -> Session:
        expires_at = self.policy.expires_at(now, now)
        data = {} if self.schema is None else self.schema.empty()
        return Session(None, None, True, now, now, expires_at, data, self.codec)

    def attach(
        self, session: Session, record: Record | None, pending_expiry: float | None, now: float
    ) -> bool:
        """Fill an unloaded session from its record. False when it had to start fresh
        (missing, expired or undecodable record): never adopt an unknown id.

        The record's age needs no check of its own: ``open`` checked the cookie's
        signed creation time, which is the record's, against the maximum age."""
        if record is not None and record.id == session._key:
            expires_at = record.expires_at
            if pending_expiry is not None and pending_expiry > expires_at:
                expires_at = pending_expiry
            if expires_at > now:
                try:
                    payload = record.data if self.cipher is None else self._opened(session, record)
                    data = self._decode(payload)
                except ValueError as exc:  # CodecError, or msgspec's DecodeError
                    logger.warning("session %s: stored data does not decode (%s)", record.id, exc)
                else:
                    session._data = data
                    session._original = payload
                    session._version = record.version
                    session._user_id = session._stored_user_id = record.user_id
                    session._created_at = record.created_at
                    session._expires_at = session._stored_expires_at = expires_at
                    return True
        self._reset_fresh(session, now)
        session.cookie_value = None  # no re-signed cookie for a session that is gone
        return False

    def _opened(self, session: Session, record: Record) -> bytes:
        """The record's payload decrypted; one sealed by an old key is re-sealed by
        the next save, even a read-only request's."""
        cipher = self.cipher
        assert cipher is not None
        payload = cipher.open(record.id, record.data)
        if not cipher.is_current(record.data):
            session._force_save = True
        return payload

    def plain(self, record: Record) -> bytes:
        """A stored record's payload as the codec wrote it (decrypted if sealed)."""
        return record.data if self.cipher is None else self.cipher.open(record.id, record.data)

    @staticmethod
    def is_damaged(record: Record | None, key: str) -> bool:
        """After ``attach`` refused it: a live record the store returned for this key
        was refused only because its data does not decode, so it should go."""
        return record is not None and record.id == key

    def _reset_fresh(self, session: Session, now: float) -> None:
        session._id = session._key = None
        session._is_new = True
        session._created_at = now
        session._expires_at = session._stored_expires_at = self.policy.expires_at(now, now)
        session._data = self._empty()
        session._original = None
        session._version = 0
        session._user_id = session._stored_user_id = None

    # -- saving ---------------------------------------------------------------

    def plan_save(self, session: Session, now: float) -> SavePlan:
        """What ``save_changes`` must do (for a TOUCH, ask ``touch_is_urgent`` too)."""
        data = session._data
        if data is None:
            return _NOTHING  # never read or written: a request that costs nothing
        policy = self.policy
        expires_at = policy.expires_at(session._created_at, now)
        if expires_at <= now:
            return _NOTHING if session._is_new else SavePlan(Action.DELETE)
        if session._is_new:
            if not (data or session._force_save or session._user_changed):
                return _NOTHING
            payload = encode_named(self._encode, self.codec, data)
            record = self._record(session, payload, expires_at, 1)
            return SavePlan(Action.WRITE, record, 0, None, payload)
        if not (
            session._dirty
            or session._exposed
            or session._replaces is not None
            or session._force_save
            or session._user_changed
        ):
            return self._plan_touch(session, expires_at)
        payload = encode_named(self._encode, self.codec, data)
        if session._replaces is not None:
            record = self._record(session, payload, expires_at, 1)
            return SavePlan(Action.WRITE, record, 0, session._replaces[1], payload)
        if payload != session._original or session._force_save or session._user_changed:
            if not policy.touch_due(session._stored_expires_at, expires_at):
                # The visit throttle applies to writes too: an expiry that stays put
                # lets a store leave its expiry index alone (SQLite: ~30% of a save).
                expires_at = session._stored_expires_at
            record = self._record(session, payload, expires_at, session._version + 1)
            return SavePlan(Action.WRITE, record, session._version, None, payload)
        return self._plan_touch(session, expires_at)

    def _plan_touch(self, session: Session, expires_at: float) -> SavePlan:
        """An unchanged session: push its expiry forward if the throttle allows."""
        if not self.policy.touch_due(session._stored_expires_at, expires_at):
            return _NOTHING
        return SavePlan(Action.TOUCH, self._record(session, b"", expires_at, 0))

    @staticmethod
    def touch_is_urgent(session: Session, now: float, flush_horizon: float | None) -> bool:
        """A touch cannot wait for the queue when the stored expiry could pass before
        the queue is flushed (``flush_horizon``: seconds; None: there is no queue)."""
        return flush_horizon is None or session._stored_expires_at - now <= 2 * flush_horizon

    def _record(self, session: Session, payload: bytes, expires_at: float, version: int) -> Record:
        key = session._key or session.key  # the property makes an id for a new session
        if self.cipher is not None and payload:  # a touch's empty payload is not stored
            payload = self.cipher.seal(key, payload)
        return Record(key, payload, session._created_at, expires_at, version, session._user_id)

    def saved(self, session: Session, plan: SavePlan) -> None:
        """Bring the session in line with what was just written or touched."""
        record = plan.record
        assert record is not None
        session._expires_at = session._stored_expires_at = record.expires_at
        if plan.action is Action.TOUCH:
            return
        became_visible = session._is_new or session._replaces is not None
        session._original = record.data if plan.plain is None else plan.plain
        session._version = record.version
        session._is_new = False
        session._replaces = None
        session._stored_user_id = session._user_id
        # _exposed stays set: the app may still hold a nested value and change it.
        session._force_save = session._user_changed = session._dirty = False
        if became_visible:
            session.cookie_value = self.signer.sign(session.id, session._created_at)

    @staticmethod
    def keeps_cookie(session: Session, plan: SavePlan) -> bool:
        """A write of a stored session under its own id and user: its cookie stays
        what it is, so it can go out before the store has answered."""
        return (
            plan.action is Action.WRITE
            and plan.expected_version > 0
            and plan.delete_key is None
            and not session._user_changed
        )

    @staticmethod
    def replaced_record_gone(plan: SavePlan, removed: int) -> bool:
        """A regenerate or login wrote its new record, but the old one had already
        been deleted (invalidated, revoked): the new record must go too, or a
        logged-out session would come back under a new id."""
        return plan.delete_key is not None and removed == 0

    @staticmethod
    def binds_user(session: Session, plan: SavePlan) -> bool:
        """This write puts a user's session under a new key (a login, or a regenerate
        of a logged-in session): ``revoke_user`` may not have seen that key, so the
        write must be checked against the user's revocation marker."""
        record = plan.record
        if record is None or record.user_id is None:
            return False
        return session._user_changed or plan.delete_key is not None

    @staticmethod
    def login_revoked(session: Session, revoked_at: float | None) -> bool:
        """A revocation of the user began at or after this request began, so this
        login must not survive it. A revocation this request made itself (before
        logging the user back in) does not count."""
        if revoked_at is None or revoked_at < session.last_access:
            return False
        own: dict[str, float] | None = getattr(session, "_own_revocations", None)
        return own is None or own.get(session._user_id or "", -1.0) < revoked_at

    def deleted(self, session: Session, now: float) -> None:
        """The session's record is gone: clear it and ask for the cookie's removal."""
        self._reset_fresh(session, now)
        session._replaces = None
        session._force_save = session._user_changed = False
        session.cookie_value = None
        session.invalidated = True

    def replan_after_conflict(
        self, session: Session, plan: SavePlan, current: Record | None, now: float
    ) -> SavePlan:
        """A compare-and-set failed: merge this request's key-level changes onto the
        record another request wrote, or drop the save if that record is gone."""
        if plan.expected_version == 0:
            # The new key exists already (an id collision): take another id.
            session._id = session._key = None
            record = plan.record
            assert record is not None
            payload = self.plain(record)  # sealed for the old key: sealed again below
            return msgspec.structs.replace(
                plan, record=self._record(session, payload, record.expires_at, 1)
            )
        if current is None:
            return _DROP
        stored = self._plain_or_empty(current)
        merged = self._merge(session, self._decode_or_empty_bytes(stored))
        payload = encode_named(self._encode, self.codec, merged)
        session._data = merged
        session._original = stored
        session._version = current.version
        session._stored_user_id = current.user_id
        if not session._user_changed:
            session._user_id = current.user_id
        if payload == stored and not session._user_changed:
            return _NOTHING
        expires_at = self.policy.expires_at(session._created_at, now)
        record = self._record(session, payload, expires_at, current.version + 1)
        return SavePlan(Action.WRITE, record, current.version, None, payload)

    def _merge(self, session: Session, theirs: dict[str, Any]) -> dict[str, Any]:
        base = self._decode(session._original) if session._original else {}
        mine = session._data if session._data is not None else {}
        changed = {k: v for k, v in mine.items() if k not in base or base[k] != v}
        removed = [k for k in base if k not in mine]
        if self.raise_on_same_key:
            clashes = [
                k for k in (*changed, *removed) if theirs.get(k, _ABSENT) != base.get(k, _ABSENT)
            ]
            if clashes:
                raise ConcurrentUpdateError(
                    f"session keys {sorted(clashes)!r} were changed by a concurrent request"
                )
        merged = dict(theirs)
        merged.update(changed)
        for key in removed:
            merged.pop(key, None)
        return merged if self.schema is None else self.schema.from_fields(merged)

    def forget(self, session: Session) -> None:
        """Undo this request's changes in memory: back to what was loaded."""
        if session._data is not None:
            session._data = self._decode_or_empty_bytes(session._original)
            session._dirty = session._exposed = False
        if session._replaces is not None:
            session._id, session._key = session._replaces
            session._replaces = None
        session._user_id = session._stored_user_id
        session._force_save = session._user_changed = False

    def _plain_or_empty(self, record: Record) -> bytes:
        try:
            return self.plain(record)
        except ValueError:  # DecryptionError: the other writer's record is unreadable
            return b""

    def _decode_or_empty_bytes(self, payload: bytes | None) -> dict[str, Any]:
        if not payload:
            return self._empty()
        try:
            return self._decode(payload)
        except ValueError:  # CodecError, or msgspec's DecodeError
            return self._empty()

    def _empty(self) -> dict[str, Any]:
        """A fresh session's data: an empty mapping, or the schema's defaults."""
        return {} if self.schema is None else self.schema.empty()

    @staticmethod
    def stored_key(session: Session) -> str | None:
        """The key the session's record is stored under, if it has one."""
        if session._replaces is not None:
            return session._replaces[1]
        return None if session._is_new else session.key

    # -- regeneration and login -----------------------------------------------

    def regenerate(self, session: Session) -> None:
        """Give the session a new id at its next save; the old record goes then."""
        session._mapping()  # load now: the data moves to the new id
        if not session._is_new and session._replaces is None:
            session._replaces = (session.id, session.key)
        session._id = session._key = None

    def login(self, session: Session, user_id: str) -> None:
        if not isinstance(user_id, str) or not user_id:
            raise TypeError("user_id must be a non-empty str")
        self.regenerate(session)
        session._user_id = user_id
        session._user_changed = True


_ABSENT: Any = object()
