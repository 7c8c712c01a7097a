# Generated from src/sessionware/_async/manager.py by scripts/unasync.py. Do not edit.
"""``SessionManager``: drives one request's session through a store.

Thin on purpose: every decision comes from ``core.lifecycle.SessionCore``; this
class only carries those decisions to the store. ``_sync/manager.py`` is generated
from this file by ``scripts/unasync.py``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Generic, Literal

from .._synchronization import SaveGate, pause
from ..core.codecs import Codec
from ..core.encryption import EncryptionKey
from ..core.events import EventDispatcher
from ..core.lifecycle import Action, SavePlan, SessionCore
from ..core.record import Record
from ..core.retry import conflict_pause
from ..core.schema import Migration, SchemaT
from ..core.session import Session
from ..core.visits import VisitTracker
from ..errors import ConcurrentUpdateError
from ..stores.base import Store, StoreLike
from .revocation import note_own_revocation, revocation_markers
from .scope import SessionScope
from .undecodable import remove_undecodable
from .visits import VisitFlusher

__all__ = ["SaveInFlight", "SessionManager", "SessionScope"]

logger = logging.getLogger("sessionware")

IS_ASYNC = False


class SaveInFlight:
    """A save ``start_save`` began: ``cookie_value`` is known now, the store's
    answer once ``finish()`` returns (the cookie value to set, or None)."""

    __slots__ = ("_manager", "_write", "cookie_value")

    def __init__(
        self,
        cookie_value: str | None,
        manager: SessionManager | None = None,
        write: tuple[Any, ...] | None = None,
    ) -> None:
        self.cookie_value = cookie_value
        self._manager = manager
        self._write = write  # what _finish_write needs, until it has run

    @property
    def pending(self) -> bool:
        """Whether the store's answer is still to be read (``finish()``)."""
        return self._write is not None

    def finish(self) -> str | None:
        write = self._write
        if write is not None:
            self._write = None
            assert self._manager is not None
            self.cookie_value = self._manager._finish_write(*write)
        return self.cookie_value


class SessionManager(Generic[SchemaT]):
    """Opens, saves, forgets, regenerates and deletes sessions in one store.

    ``secret_key``: a str/bytes, or a list whose first key signs and all verify.
    ``idle_timeout``/``max_age``: seconds, or None for off. ``codec``: "json",
    "msgpack", "pickle" (with ``allow_pickle=True``) or a ``Codec``.
    ``visit_tracker``: batches expiry extensions (made for you when
    ``idle_timeout`` is set; ``False`` touches synchronously instead).
    ``same_key_conflicts``: "last_writer_wins" or "raise" when two concurrent
    requests change the same key. Saves of one session are serialized within the
    process (no thread or task races another); across processes a lost
    compare-and-set merges and retries until ``max_save_attempts`` or
    ``save_timeout`` seconds run out, then raises ``ConcurrentUpdateError``.
    ``revocation_window``: seconds a ``revoke_user`` marker is kept, so a login in a
    request that began before the revocation is undone even if it saves this late.
    ``encryption_keys``: ``[current, *old]`` 32-byte keys (or their URL-safe base64)
    to keep session data AES-256-GCM encrypted at rest (needs ``[crypto]``).
    ``schema``: a ``msgspec.Struct``, dataclass or ``TypedDict`` the data is decoded
    into (``session.typed``); ``schema_version`` and ``migrations`` (``{n: fn}``,
    each from version n to n + 1) upgrade older records on load (``core.schema``).
    """

    def __init__(
        self,
        store: StoreLike,
        *,
        secret_key: str | bytes | Sequence[str | bytes],
        idle_timeout: float | None = 1800,
        max_age: float | None = 14 * 24 * 3600,
        codec: str | Codec = "json",
        allow_pickle: bool = False,
        visit_tracker: VisitTracker | Literal[False] | None = None,
        touch_fraction: float = 0.1,
        same_key_conflicts: str = "last_writer_wins",
        max_save_attempts: int = 1000,
        save_timeout: float = 10.0,
        revocation_window: float = 3600.0,
        clock: Callable[[], float] = time.time,
        encryption_keys: Sequence[EncryptionKey] | None = None,
        schema: type[SchemaT] | None = None,
        schema_version: int = 1,
        migrations: Mapping[int, Migration] | None = None,
    ) -> None:
        if max_save_attempts < 1:
            raise ValueError("max_save_attempts must be at least 1")
        self.store: Store = store
        self.core = SessionCore(
            secret_key=secret_key,
            idle_timeout=idle_timeout,
            max_age=max_age,
            codec=codec,
            allow_pickle=allow_pickle,
            touch_fraction=touch_fraction,
            same_key_conflicts=same_key_conflicts,
            encryption_keys=encryption_keys,
            schema=schema,
            schema_version=schema_version,
            migrations=migrations,
        )
        self.events = EventDispatcher()
        self._clock = clock
        self._max_save_attempts = max_save_attempts
        self._save_timeout = save_timeout
        self._revocation_window = revocation_window
        self._markers = revocation_markers(store)
        if self._markers is None:
            logger.warning(
                "%r keeps no revocation markers: a login racing revoke_user() may survive it",
                store,
            )
        self._save_gate = SaveGate()
        if visit_tracker is None and idle_timeout is not None:
            visit_tracker = VisitTracker()
        self.visit_tracker = None if visit_tracker is False else visit_tracker
        self._flusher = (
            VisitFlusher(self.visit_tracker, self.store, self.events)
            if self.visit_tracker is not None
            else None
        )

    # -- listeners ------------------------------------------------------------

    def add_listener(self, listener: object) -> None:
        """Register the hooks ``listener`` implements (``on_save``, ``on_load``...)."""
        self.events.add(listener)

    def remove_listener(self, listener: object) -> None:
        self.events.remove(listener)

    # -- one request ----------------------------------------------------------

    def scope(self, cookie_value: str | None) -> SessionScope[SchemaT]:
        """Open a session for one unit of work; save it on normal exit, forget its
        changes on an exception, and make it ``sessionware.current()`` meanwhile."""
        return SessionScope(self, cookie_value)

    def open(self, cookie_value: str | None) -> Session[SchemaT]:
        """The session a request's cookie names, or a fresh one. No store round trip
        without a genuine cookie."""
        session: Session[SchemaT] = self.core.open(cookie_value, self._clock())
        if session._data is None:
            if IS_ASYNC:
                self._load(session)
            else:
                session._loader = self._load  # loads on first access
        if self.events.handlers["on_visit"]:
            self.events.emit("on_visit", session)
        return session

    def _load(self, session: Session) -> None:
        key = session._key  # an unloaded session always has its key
        assert key is not None
        try:
            record = self.store.load(key)
        except Exception as exc:
            self.events.emit("on_error", "load", exc)
            raise
        tracker = self.visit_tracker
        pending = tracker.pending_expiry(key) if tracker is not None else None
        events = self.events
        if self.core.attach(session, record, pending, session.last_access):
            if events.handlers["on_load"]:
                events.emit("on_load", session)
            return
        if self.core.is_damaged(record, key):
            assert record is not None  # is_damaged: the store returned one
            self._call("delete", remove_undecodable, self.store, record)
        if events.handlers["on_expire"]:
            events.emit("on_expire", key)

    def save_changes(self, session: Session) -> str | None:
        """Write the session if it is new and non-empty or changed (compare-and-set,
        merging with concurrent writers); returns the cookie value to set, if any."""
        now = self._clock()
        return self._carry_out(session, self.core.plan_save(session, now), now)

    def start_save(self, session: Session) -> SaveInFlight:
        """``save_changes`` in two halves, for an integration with work to do while
        the store writes (its response's headers): a write that keeps the
        session's cookie is sent now, where the store can split it (the Redis
        near cache), and ``finish()`` reads its outcome, merging after a
        conflict as ``save_changes`` does. ``cookie_value`` is what ``finish()``
        returns unless a concurrent ``invalidate`` drops the session. Call
        ``finish()`` soon, always: until then the write holds its connection."""
        now = self._clock()
        plan = self.core.plan_save(session, now)
        start = getattr(self.store, "start_save_if_version", None)
        if start is None or not self.core.keeps_cookie(session, plan):
            return SaveInFlight(self._carry_out(session, plan, now))
        record = plan.record
        assert record is not None  # keeps_cookie: a WRITE plan
        gate = self._save_gate.hold(record.id)
        gate.acquire()
        try:
            sent = start(record, plan.expected_version)
        except BaseException as exc:
            gate.release()
            if isinstance(exc, Exception):
                self.events.emit("on_error", "save", exc)
            raise
        return SaveInFlight(session.cookie_value, self, (session, plan, now, gate, sent))

    def _carry_out(self, session: Session, plan: SavePlan, now: float) -> str | None:
        action = plan.action
        if action is Action.WRITE:
            record = plan.record
            assert record is not None  # a WRITE plan always carries its record
            # acquire/release rather than ``async with``: two coroutine frames less.
            gate = self._save_gate.hold(record.id)
            gate.acquire()
            return self._finish_write(session, plan, now, gate, None)
        if action is Action.NOTHING:
            return session.cookie_value
        if action is Action.TOUCH:
            self._touch(session, plan, now)
            return session.cookie_value
        self._delete_stored(session, now)
        return None

    def _finish_write(
        self, session: Session, plan: SavePlan, now: float, gate: Any, sent: Any
    ) -> str | None:
        """A WRITE under its save ``gate`` (released here): ``sent`` when
        ``start_save`` sent it already, else written now."""
        try:
            if self._write(session, plan, sent):
                return session.cookie_value
            return self._settle_after_conflict(session, plan, now)
        finally:
            gate.release()

    def _settle_after_conflict(
        self, session: Session, plan: SavePlan, now: float
    ) -> str | None:
        """A compare-and-set lost: merge onto the winner and retry, at once for the
        first few conflicts and then with short jittered pauses, until written,
        dropped, or ``max_save_attempts``/``save_timeout`` run out."""
        conflicts = 1
        deadline = time.monotonic() + self._save_timeout
        while True:
            if conflicts >= self._max_save_attempts or time.monotonic() > deadline:
                raise ConcurrentUpdateError(
                    f"session {session.key} kept changing under concurrent requests; "
                    f"gave up after {conflicts} attempts"
                )
            delay = conflict_pause(conflicts)
            if delay:
                pause(delay)
            current = self._call("load", self.store.load, session.key)
            plan = self.core.replan_after_conflict(session, plan, current, now)
            if plan.action is Action.NOTHING:
                return session.cookie_value
            if plan.action is Action.DROP:
                logger.info("session %s was deleted meanwhile; changes dropped", session.key)
                self.core.deleted(session, now)
                return None
            if self._write(session, plan):
                return session.cookie_value
            conflicts += 1

    def _write(self, session: Session, plan: SavePlan, sent: Any = None) -> bool:
        record = plan.record
        assert record is not None
        try:
            if sent is None:
                written = self.store.save_if_version(record, plan.expected_version)
            else:  # sent by start_save: only its outcome is left to read
                written = sent.finish()
        except Exception as exc:
            self.events.emit("on_error", "save", exc)
            raise
        if not written:
            return False
        was_new = session._is_new
        # Only a regenerate or a login (both rare) can meet a revocation here.
        if (plan.delete_key is not None or session._user_changed) and not (
            self._new_key_stands(session, plan, record)
        ):
            return True
        self.core.saved(session, plan)
        tracker = self.visit_tracker
        if tracker is not None:
            tracker.discard(record.id)
        events = self.events
        handlers = events.handlers
        if plan.delete_key is not None:
            events.emit("on_regenerate", session, plan.delete_key)
        elif was_new and handlers["on_create"]:
            events.emit("on_create", session)
        if handlers["on_save"]:
            events.emit("on_save", session)
        return True

    def _new_key_stands(self, session: Session, plan: SavePlan, record: Record) -> bool:
        """After a regenerate or login wrote its new record: remove the old one, and
        undo the write (False) if the old one was already gone or the user has been
        revoked since this request began."""
        core = self.core
        if plan.delete_key is not None:
            removed = self._call("delete", self.store.delete, plan.delete_key)
            self._discard_touch(plan.delete_key)
            if core.replaced_record_gone(plan, removed):
                self._undo_write(session, record.id, "its old record was deleted meanwhile")
                return False
        markers = self._markers
        if markers is not None and core.binds_user(session, plan):
            revoked_at = self._call(
                "user_revoked_at", markers.user_revoked_at, record.user_id
            )
            if core.login_revoked(session, revoked_at):
                self._undo_write(session, record.id, "its user was revoked meanwhile")
                return False
        return True

    def _undo_write(self, session: Session, key: str, reason: str) -> None:
        """Remove the record a regenerate or login just wrote and leave the session
        dropped (no record, no cookie): a logged-out session never comes back."""
        logger.info("session %s: %s; the new record is removed", key, reason)
        self._call("delete", self.store.delete, key)
        self._discard_touch(key)
        self.core.deleted(session, self._clock())

    def _touch(self, session: Session, plan: SavePlan, now: float) -> None:
        record = plan.record
        assert record is not None
        flusher = self._flusher
        horizon = flusher.horizon if flusher is not None else None
        if flusher is not None and not self.core.touch_is_urgent(session, now, horizon):
            flusher.queue(record.id, record.expires_at)
        else:
            try:
                self.store.touch_many({record.id: record.expires_at})
            except Exception as exc:
                # A read-only request does not fail because its expiry could not move.
                logger.warning("touching session %s failed: %s", record.id, exc)
                self.events.emit("on_error", "touch_many", exc)
                return
            # An older touch still queued must not be flushed over this one later.
            self._discard_touch(record.id)
        self.core.saved(session, plan)

    def forget_changes(self, session: Session) -> None:
        """Drop this request's changes: nothing is written."""
        self.core.forget(session)
        self.events.emit("on_forget", session)

    def _call(self, operation: str, method: Callable[..., Any], *args: Any) -> Any:
        try:
            return method(*args)
        except Exception as exc:
            self.events.emit("on_error", operation, exc)
            raise

    def _discard_touch(self, key: str) -> None:
        if self.visit_tracker is not None:
            self.visit_tracker.discard(key)

    # -- identity changes -----------------------------------------------------

    def regenerate(self, session: Session) -> None:
        """Give the session a new id (same data) at its next save; the old record is
        deleted then. Call on every privilege change (session-fixation defence)."""
        self.core.regenerate(session)

    def login(self, session: Session, user_id: str) -> None:
        """Regenerate and bind the session to ``user_id`` (indexed for revoke_user)."""
        self.core.login(session, user_id)

    def invalidate(self, session: Session) -> None:
        """Delete the session now; the middleware then removes the cookie."""
        self._delete_stored(session, self._clock())
        self.events.emit("on_invalidate", session)

    def _delete_stored(self, session: Session, now: float) -> None:
        key = self.core.stored_key(session)
        if key is not None:
            self._call("delete", self.store.delete, key)
            self._discard_touch(key)
        self.core.deleted(session, now)

    # -- maintenance ----------------------------------------------------------

    def revoke_user(self, user_id: str) -> int:
        """Delete every session bound to ``user_id`` ("log out everywhere").

        A marker written first makes any login of that user in a request that began
        before this call undo itself when it saves (see ``SessionCore.login_revoked``);
        a revocation made inside a request does not undo that request's own later
        login."""
        now = self._clock()
        markers = self._markers
        if markers is not None:
            self._call(
                "mark_user_revoked",
                markers.mark_user_revoked,
                user_id,
                now,
                now + self._revocation_window,
            )
            note_own_revocation(user_id, now)
        keys = self._call("ids_for_user", self.store.ids_for_user, user_id)
        for key in keys:
            self._discard_touch(key)
        removed: int = self._call("delete_many", self.store.delete_many, keys)
        return removed

    def purge_expired(self) -> int:
        """Remove expired sessions (the store works in bounded batches)."""
        removed: int = self._call("purge_expired", self.store.purge_expired, self._clock())
        return removed

    def flush_visits(self) -> int:
        """Write queued visit touches now; the number of sessions touched."""
        return self._flusher.flush() if self._flusher is not None else 0

    def close(self) -> None:
        """Flush queued visits, stop the background flusher and close the store."""
        if self._flusher is not None:
            self._flusher.close()
        self.store.close()

    def __enter__(self) -> SessionManager:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
