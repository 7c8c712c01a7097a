"""Tests written once: the async sources are in tests/_async/, and scripts/unasync.py
generates their sync twins in tests/_sync/."""
