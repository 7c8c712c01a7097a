# Generated from tests/stores/_async/__init__.py by scripts/unasync.py. Do not edit.
"""Store tests written once: the async sources are here, and scripts/unasync.py
generates their sync twins in tests/stores/_sync/."""
