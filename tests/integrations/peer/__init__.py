"""Peer suites: a framework's own session tests run with sessionware swapped in."""
