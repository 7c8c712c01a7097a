"""The sync I/O layer, generated from ``_async`` (except ``background.py``)."""
