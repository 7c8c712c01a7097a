# Generated from src/sessionware/stores/_async/__init__.py by scripts/unasync.py. Do not edit.
"""Stores written once, async: the hand-written sources are in stores/_async/, and
scripts/unasync.py generates their sync twins in stores/_sync/."""
