"""Session stores: one small interface (``Store``/``AsyncStore``), many backends."""
