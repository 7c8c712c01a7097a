"""Shared pytest configuration for the sessionware test suite."""

# Real PostgreSQL, MariaDB and Redis servers as fixtures (see tests/servers.py).
pytest_plugins = ["tests.servers"]
