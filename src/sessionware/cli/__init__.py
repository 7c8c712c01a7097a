"""The ``sessionware`` command: inspect and manage session stores, migrate between
them, run the demo app and the benchmarks.

Every subcommand takes store URLs (``sqlite:///sessions.db``, ``redis://host/0``...)
and talks to the store only through the ``Store`` interface. Needs the ``[cli]`` extra.
"""

from __future__ import annotations

import sys
from typing import Any

__all__ = ["main"]



def main(args: list[str] | None = None) -> Any:
    """Entry point of the ``sessionware`` console script."""
    try:
        from .commands import cli
    except ImportError as exc:
        if exc.name in ("click", "rich"):
            from ..stores.registry import install_hint

            print(
                f"sessionware: the command line needs the [cli] extra: {install_hint('cli')}",
                file=sys.stderr,
            )
            raise SystemExit(1) from None
        raise
    return cli.main(args=args, prog_name="sessionware")
