"""The admin's store and manager calls and its request handling, written once as
async; scripts/unasync.py generates the sync twins in _sync/."""
