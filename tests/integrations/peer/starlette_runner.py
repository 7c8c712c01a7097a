"""Run Starlette's own session tests with sessionware's middleware, on asyncio and trio.

The tests (``tests/middleware/test_session.py`` and the conftest and types it
imports) come from Starlette's sdist on PyPI at the installed Starlette version,
cached under ``.peer-suites/`` (git-ignored) so a rerun needs no network. They run
in a pytest subprocess with ``starlette_peer_plugin`` loaded, which swaps the
middleware; Starlette's tests run each test on every AnyIO backend installed, so
trio must be (it is in the ``test`` extra).

``python -m tests.integrations.peer.starlette_runner`` runs them and prints each
outcome; ``tests/integrations/peer/test_starlette_suite.py`` asserts on them.
"""

from __future__ import annotations

import importlib.metadata
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

from . import sdist as peer
from .sdist import CACHE, Unavailable

__all__ = ["Outcome", "Unavailable", "documented_differences", "fetch_sdist", "run", "unpack"]

#: What the session tests need from the sdist: the module, the conftest that makes
#: its test client per backend, the types it imports, and Starlette's pytest
#: settings (warnings are errors there).
MEMBERS = (
    "pyproject.toml",
    "tests/__init__.py",
    "tests/conftest.py",
    "tests/types.py",
    "tests/middleware/__init__.py",
    "tests/middleware/test_session.py",
)
TEST_MODULE = "tests/middleware/test_session.py"
BACKENDS = ("asyncio", "trio")


@dataclass(frozen=True)
class Outcome:
    name: str  # with its parameters, e.g. "test_session[trio]"
    outcome: str  # "passed", "failed", "error" or "skipped"
    message: str = ""
    #: sessionware middlewares the test built (0: it never made an app).
    middlewares: int = 0


def starlette_version() -> str:
    return importlib.metadata.version("starlette")


def fetch_sdist(version: str, cache: Path = CACHE) -> Path:
    """Starlette's sdist at ``version``: from the cache, else downloaded with pip."""
    return peer.fetch_sdist("starlette", "Starlette", version, cache)


def unpack(sdist: Path, version: str, cache: Path = CACHE) -> Path:
    """The session tests and what they need, unpacked once into
    ``cache/starlette-<version>``."""
    target = cache / f"starlette-{version}"
    if (target / TEST_MODULE).is_file():
        return target
    prefix = f"starlette-{version}/"
    with tarfile.open(sdist) as archive, tempfile.TemporaryDirectory(dir=cache) as scratch:
        members = [m for m in archive.getmembers() if m.name.removeprefix(prefix) in MEMBERS]
        archive.extractall(scratch, members=members, filter="data")
        (top,) = Path(scratch).iterdir()
        top.rename(target)
    return target


def run(suite: Path) -> list[Outcome]:
    """Run the session tests of ``suite`` in a pytest subprocess; one outcome each."""
    report = peer.run_pytest(suite, "starlette_peer_plugin", "Starlette", [TEST_MODULE])
    return [Outcome(*case) for case in peer.junit_cases(report, "sessionware_middlewares")]


def documented_differences(page: Path | None = None) -> set[str]:
    """The Starlette test names (with parameters, as ``test_x[trio]``) that the
    the framework page's "Differences from Starlette" paragraph lists as expected to fail."""
    return peer.documented_differences("Starlette", page)


def main() -> int:
    version = starlette_version()
    outcomes = run(unpack(fetch_sdist(version), version))
    for outcome in outcomes:
        print(f"{outcome.outcome:8} {outcome.name}  {outcome.message[:100]}")
    counts = {kind: sum(o.outcome == kind for o in outcomes) for kind in ("passed", "failed")}
    counts["error"] = sum(o.outcome == "error" for o in outcomes)
    print(f"Starlette {version}: " + ", ".join(f"{n} {kind}" for kind, n in counts.items()))
    return 0 if all(o.outcome == "passed" for o in outcomes) else 1


if __name__ == "__main__":
    raise SystemExit(main())
