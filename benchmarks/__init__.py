"""sessionware benchmarks: ``python -m benchmarks --help``."""
