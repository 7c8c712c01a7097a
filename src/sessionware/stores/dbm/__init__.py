"""``dbm:///path/file``: sessions in a stdlib ``dbm`` database, for one process.

Whichever ``dbm`` flavour Python has is used (``dbm.gnu``, ``dbm.ndbm``, else the
pure-Python ``dbm.dumb``), or the one named with ``?flavour=dumb``. Records are
stored one key each (``_embedded/framing.py``: fixed header with expiry, version and CRCs), so
a save writes one value and never the whole file. The user index lives in the
same database under ``u:<sha256(user)>`` keys (40-hex record keys cannot collide
with it) and is checked when read; revocation markers live under
``r:<sha256(user)>`` keys (``revoked_at`` and ``keep_until`` as two doubles).

One process only: ``dbm`` files cannot be shared by processes (each keeps its own
view), so the store takes an exclusive ``flock`` on ``<file>.lock`` and a second
process gets ``StoreUnavailable``; use ``sqlite://`` or ``file://`` for several
workers. Threads of the process share one handle behind a lock. Being the
file's only user, the store remembers the header of each record it read or
wrote, so a save does not read the value back; ``dbm.dumb`` values are read
with one ``pread`` (``DumbReader``), and under ``ThreadedStore`` on the event
loop when they are in memory (``load_nowait``).

Crashes: a damaged value fails its CRC and reads as a missing session (and is
removed), never as wrong data, and a torn ``dbm.dumb`` index is repaired on open.
``dbm.dumb`` keeps some index changes in memory until ``sync()`` (run by
``close()``, ``purge_expired()`` and every delete), so after a SIGKILL: a new
session is there or missing; a rewrite that fits the value's old space (the store
pads shorter values to the old length so that it always does unless the session
grew) is the new value, or the old one, or missing if the kill tore the write; a
session that grew past its old space comes back as its last version from before
the last sync. gdbm and ndbm give their own (format-specific) guarantees.

Modules: ``_store`` (``DbmStore``: the store interface), ``_database`` (the open
file and the process lock), ``_keys`` (record, user-index and marker keys),
``_headers`` (what the store remembers of each value), ``_dumb`` (``dbm.dumb``'s
reader and crash repair).
"""

from ._store import FLAVOURS, DbmStore

__all__ = ["FLAVOURS", "DbmStore"]
