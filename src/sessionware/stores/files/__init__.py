"""``file:///dir``: one file per session, safe for many threads and processes.

Layout under the directory::

    data/ab/cd/<key>          one record (``_embedded/framing.py``), sharded by the key's
                              first four hex digits so no directory gets huge
    users/ab/cd/<user>/<key>  empty marker files: the user index
    revoked/ab/cd/<user>      a user's revocation marker: two floats, revoked_at
                              and keep_until (``<user>`` is the user id's hash)
    locks/ab.lock             256 shard locks (``flock``), created on first use

Every write goes to ``<key>.tmp`` in the same directory and is renamed over the
record (``os.replace``), so a reader or a crash sees the old record or the new
one, never a mix. Writers of a key hold its shard lock (a thread lock plus an
``flock`` on the shard's lock file), which makes ``save_if_version`` atomic
across processes. ``fsync=True`` (``?fsync=1``) also survives power loss.

Under ``ThreadedStore`` a load is answered on the event loop when the record is
in the kernel's caches (``load_nowait``); writes always run in a thread.

The user index is a hint checked when read: a marker is written before its
record and removed after, so a crash can leave a stale marker (dropped when
``ids_for_user`` or ``purge_expired`` meets it) but never a record that its
user's index misses.

Modules: ``_store`` (``FileStore``: the store interface), ``_disk`` (reading and
atomically replacing files), ``_locks`` (the shard locks), ``_revocations``
(the revocation markers).
"""

from ._store import FileStore, InvalidKeyError

__all__ = ["FileStore", "InvalidKeyError"]
