"""The ``sessionware`` command: inspect and manage session stores, migrate between
them, run the demo app and the benchmarks.

Every subcommand takes store URLs (``sqlite:///sessions.db``, ``redis://host/0``...)
and talks to the store only through the ``Store`` interface. Needs the ``[cli]`` extra.
"""

from __future__ import annotations

import sys
from typing import Any

__all__ = ["main"]

_MISSING_CLI_EXTRA = (
    "sessionware: the command line needs the [cli] extra: pip install 'sessionware[cli]'"
)


def main(args: list[str] | None = None) -> Any:
    """Entry point of the ``sessionware`` console script."""
    try:
        from .commands import cli
    except ImportError as exc:
        if exc.name in ("click", "rich"):
            print(_MISSING_CLI_EXTRA, file=sys.stderr)
            raise SystemExit(1) from None
        raise
    return cli.main(args=args, prog_name="sessionware")
