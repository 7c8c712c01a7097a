"""The I/O layer: the session manager and its visit flusher. The modules in _async/
are the hand-written async sources; scripts/unasync.py generates their sync twins in
_sync/."""
