# Generated from src/sessionware/admin/_async/__init__.py by scripts/unasync.py. Do not edit.
"""The admin's store and manager calls and its request handling, written once as
async; scripts/unasync.py generates the sync twins in _sync/."""
