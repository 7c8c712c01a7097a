"""What the embedded stores (``files``, ``dbm``, ``sqlite``) share; nothing here
is public.

- ``framing``: the binary form of a record (header, CRCs) for the file and dbm stores.
- ``nowait``: reading what the kernel holds in memory without waiting, so that
  ``ThreadedStore`` can answer a load on the event loop.
- ``urls``: a store URL's path and query options.
- ``errors``: an OS or database error as a ``StoreError`` naming store and path.
- ``forking``: hooks that run in a forked child, for stores holding descriptors.

The warning logged for a damaged record is ``stores/_damaged.py``: every store
kind, not only these, logs it.
"""
