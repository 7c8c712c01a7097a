"""Files checked by mypy, never run: what type checkers see of the public API."""
