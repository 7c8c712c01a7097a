# Generated from src/sessionware/testing/_async/__init__.py by scripts/unasync.py. Do not edit.
