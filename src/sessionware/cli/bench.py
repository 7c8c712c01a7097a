"""``sessionware bench``: run the benchmark suite's quick mode.

The suite lives in ``benchmarks/`` of a sessionware checkout (it is not installed
with the package), so this finds that directory and runs ``python -m benchmarks
--quick`` there.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import click

from ._common import CliError

__all__ = ["bench", "find_checkout"]

#: The suite's own flags for each mode (the full suite is its default).
MODE_FLAGS = {"quick": ["--quick"], "smoke": ["--smoke"], "full": []}

# src/sessionware/cli/bench.py -> the checkout root, for an editable install.
_SOURCE_CHECKOUT = Path(__file__).resolve().parents[3]


def _has_suite(directory: Path) -> bool:
    return (directory / "benchmarks" / "__main__.py").is_file()


def find_checkout(explicit: Path | None) -> Path | None:
    """The directory holding ``benchmarks/``: the one given, the current one, or
    the checkout this package was installed from in editable mode."""
    candidates = [explicit] if explicit is not None else [Path.cwd(), _SOURCE_CHECKOUT]
    return next((c for c in candidates if _has_suite(c)), None)


@click.command(context_settings={"ignore_unknown_options": True})
@click.option(
    "--checkout",
    type=click.Path(file_okay=False, path_type=Path),
    help="The sessionware checkout holding benchmarks/ (default: here, or the source tree).",
)
@click.option(
    "--mode",
    type=click.Choice(sorted(MODE_FLAGS)),
    default="quick",
    show_default=True,
    help="quick: a few minutes; smoke: seconds, a self-check; full: the whole suite.",
)
@click.argument("extra", nargs=-1, type=click.UNPROCESSED)
def bench(checkout: Path | None, mode: str, extra: tuple[str, ...]) -> None:
    """Run the benchmark suite (quick mode); EXTRA arguments are passed on to it."""
    root = find_checkout(checkout)
    if root is None:
        where = f"in {checkout}" if checkout is not None else "here or in the source tree"
        raise CliError(
            f"the benchmark suite (benchmarks/__main__.py) was not found {where}; "
            "run from a sessionware checkout or pass --checkout DIR"
        )
    command = [sys.executable, "-m", "benchmarks", *MODE_FLAGS[mode], *extra]
    try:
        completed = subprocess.run(command, cwd=root, check=False)  # noqa: S603 - our own argv
    except KeyboardInterrupt:
        raise click.exceptions.Exit(130) from None
    if completed.returncode != 0:
        raise click.exceptions.Exit(completed.returncode)
