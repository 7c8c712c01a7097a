"""Session stores: one small interface, many backends.

``base.py`` is the interface: the ``Store`` protocol (sync), ``AsyncStore`` (the
same methods as coroutines), their optional part ``RevocationMarkers``
(``AsyncRevocationMarkers``) and ``StoreProxy``. ``registry.py`` maps URL schemes
to stores (``open_store``, ``open_async_store``).

How a store is built depends on its client; this is the one place that says so:

* **Async-sourced**, for a backend with an async client: ``redis/``, ``sql/``, and
  ``tiered/`` (which composes stores). The async store in ``<backend>/_async/`` is
  the source; ``python scripts/unasync.py`` generates the sync store in
  ``<backend>/_sync/`` (never edited by hand). The registry lists both, in
  ``BUILTIN_STORES`` and ``BUILTIN_ASYNC_STORES``.
* **Sync, run in threads for async**, for a backend whose I/O is blocking system
  calls: the embedded stores ``files/``, ``dbm/`` and ``sqlite/``. Only the sync
  store is written; ``open_async_store`` runs it in worker threads through
  ``threaded.ThreadedStore`` (the registry's ``THREADED_SCHEMES``, and any scheme
  with no async store). A ``load_nowait(id)`` method lets a load that needs no
  waiting be answered on the event loop. Their shared helpers are ``_embedded/``.
* ``memory.py`` does no I/O: ``AsyncMemoryStore`` calls a ``MemoryStore`` directly.

A new store provides three things:

1. a store class with every method of the ``Store`` protocol in ``base.py`` (and
   of ``RevocationMarkers``, without which a manager warns) and a
   ``from_url(url, **options)`` classmethod (or the ``AsyncStore`` methods, or
   both flavours); a built-in one is a package ``stores/<name>/`` whose
   ``__init__`` exports it;
2. a registry entry: for a built-in store its scheme in ``registry.py``
   (``BUILTIN_STORES``, and ``BUILTIN_ASYNC_STORES`` or ``THREADED_SCHEMES``); for
   a third-party one an entry point in the ``sessionware.stores`` group
   (``sessionware.async_stores`` for a native async store);
3. one conformance test class: a subclass of ``sessionware.testing.StoreConformance``
   (``AsyncStoreConformance`` for an async store) with a ``store`` fixture, in
   ``tests/stores/test_<name>.py``.
"""
