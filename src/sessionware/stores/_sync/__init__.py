"""Sync stores generated from ``_async`` by scripts/unasync.py."""
