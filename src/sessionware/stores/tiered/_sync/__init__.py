# Generated from src/sessionware/stores/tiered/_async/__init__.py by scripts/unasync.py. Do not edit.
"""The tiered store's I/O code: ``_async`` is the source; ``_sync`` is generated from
it by scripts/unasync.py."""
