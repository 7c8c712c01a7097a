# Generated from src/sessionware/stores/near_cache/_async/__init__.py by scripts/unasync.py. Do not edit.
"""The near cache's async sources; ``_sync/`` holds their generated twins."""
