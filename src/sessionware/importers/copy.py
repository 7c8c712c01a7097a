"""Writing a peer's sessions into a sessionware store, resumable and verifiable.

Each ``PeerSession`` becomes a ``Record`` under ``import_key(peer, locator)`` with
the peer's expiry, creation time and user, its data encoded by the codec of the
manager that will read it. Writes are compare-and-set on "must not exist", so a
second run skips what the first wrote (and never overwrites a session already
converted by a request), and ``verify`` counts what is there.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from ..core.codecs import ENCODE_ERRORS, Codec
from ..core.record import Record
from ..core.transition import PeerSession, import_key
from ..stores.base import Store

__all__ = ["ImportReport", "import_sessions", "verify"]


@dataclass
class ImportReport:
    imported: int = 0
    skipped: int = 0  # already imported (a resumed run)
    expired: int = 0  # past their expiry when read
    unconvertible: list[str] = field(default_factory=list)  # the codec cannot encode
    keys: list[str] = field(default_factory=list)  # written or found present


def record_of(peer: str, session: PeerSession, codec: Codec) -> Record:
    """The record an imported session is kept in until it converts."""
    key = import_key(peer, session.locator)
    data = codec.encode(session.data)
    return Record(key, data, session.created_at, session.expires_at, 1, session.user_id)


def import_sessions(
    peer: str,
    sessions: Iterable[PeerSession],
    target: Store,
    codec: Codec,
    now: float,
    advance: Callable[[], None] | None = None,
) -> ImportReport:
    """Copy ``sessions`` into ``target``; ``advance`` is called once per session."""
    report = ImportReport()
    for session in sessions:
        _import_one(peer, session, target, codec, now, report)
        if advance is not None:
            advance()
    return report


def _import_one(
    peer: str, session: PeerSession, target: Store, codec: Codec, now: float, report: ImportReport
) -> None:
    if session.expires_at <= now:
        report.expired += 1
        return
    try:
        record = record_of(peer, session, codec)
    except ENCODE_ERRORS as exc:
        report.unconvertible.append(f"{session.locator[:8]}...: {exc}")
        return
    report.keys.append(record.id)
    if target.save_if_version(record, 0):
        report.imported += 1
    else:
        report.skipped += 1


def verify(target: Store, keys: Iterable[str]) -> int:
    """How many of ``keys`` are in ``target`` now (a converted or expired one is
    gone legitimately, so a rerun shortly after the import should count all)."""
    return sum(1 for key in keys if target.load(key) is not None)
