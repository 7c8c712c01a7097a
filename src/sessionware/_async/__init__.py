"""The async I/O layer. Source of truth: ``scripts/unasync.py`` generates ``_sync``."""
