# Generated from tests/_async/__init__.py by scripts/unasync.py. Do not edit.
"""Tests written once: the async sources are in tests/_async/, and scripts/unasync.py
generates their sync twins in tests/_sync/."""
