"""The near cache's async sources; ``_sync/`` holds their generated twins."""
