"""Store tests written once: the async sources are here, and scripts/unasync.py
generates their sync twins in tests/stores/_sync/."""
