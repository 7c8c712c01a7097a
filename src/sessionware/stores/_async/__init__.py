"""Stores written once, async: the hand-written sources are in stores/_async/, and
scripts/unasync.py generates their sync twins in stores/_sync/."""
