"""The tiered store's I/O code: ``_async`` is the source; ``_sync`` is generated from
it by scripts/unasync.py."""
