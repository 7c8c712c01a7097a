"""Run Django's own session tests on sessionware's engine, once per store.

``tests/sessions_tests`` comes from Django's sdist on PyPI at the installed Django
version, cached under ``.peer-suites/`` (git-ignored) so a rerun needs no network.
Each store gets a subprocess: ``django_peer_main`` sets Django up with
``django_peer_settings`` (``SESSIONWARE_STORE`` from the environment) and runs the
classes of ``django_peer_tests``, which put sessionware's engine (and middleware)
in place of Django's backends.

``python -m tests.integrations.peer.django_runner [store...]`` runs them and prints
each outcome; ``tests/integrations/peer/test_django_suite.py`` asserts on them.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

from . import sdist as peer
from .sdist import CACHE, PLUGIN_DIR, ROOT, Unavailable

__all__ = ["Outcome", "Run", "Unavailable", "documented_differences", "fetch_sdist", "run"]
SUITE = "tests/sessions_tests/"

#: The stores the suite runs on: a name and its URL (``{tmp}``: a scratch directory).
#: Redis and PostgreSQL use a prefix / table of their own, emptied before each run.
STORES = {
    "sqlite": "sqlite:///{tmp}/sessions.db",
    "memory": "memory://",
    "redis": os.environ.get("SESSIONWARE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
    + "?prefix=sessionware-django-peer:",
    "postgresql": os.environ.get(
        "SESSIONWARE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    )
    + "?table=sessionware_django_peer",
}
#: Test classes of ``django_peer_tests`` and how many tests each runs.
EXPECTED_COUNTS = {
    "SessionwareSessionTests": 65,
    "SessionwareSessionWithTimeZoneTests": 65,
    "SessionwareEngineMiddlewareTests": 12,
    "SessionwareMiddlewareTests": 12,
}


@dataclass(frozen=True)
class Outcome:
    name: str  # "Class.test_method"
    outcome: str  # "passed", "failed", "error" or "skipped"
    message: str = ""


def django_version() -> str:
    return importlib.metadata.version("django")


def fetch_sdist(version: str, cache: Path = CACHE) -> Path:
    """Django's sdist at ``version``: from the cache, else downloaded with pip."""
    return peer.fetch_sdist("django", "Django", version, cache)


def unpack(sdist: Path, version: str, cache: Path = CACHE) -> Path:
    """``tests/sessions_tests`` unpacked once into ``cache/django-<version>``; the
    directory to put on ``sys.path``."""
    target = cache / f"django-{version}"
    if (target / "sessions_tests" / "tests.py").is_file():
        return target
    prefix = f"django-{version}/{SUITE}"
    with tarfile.open(sdist) as archive, tempfile.TemporaryDirectory(dir=cache) as scratch:
        members = [m for m in archive.getmembers() if m.name.startswith(prefix)]
        archive.extractall(scratch, members=members, filter="data")
        target.mkdir(exist_ok=True)
        (Path(scratch) / prefix).rename(target / "sessions_tests")
    return target


def empty_store(url: str) -> None:
    """Remove what an earlier, interrupted run left in a shared server's store."""
    from sessionware.stores.registry import open_store

    store = open_store(url)
    try:
        store.delete_all()
    finally:
        store.close()


@dataclass(frozen=True)
class Run:
    outcomes: list[Outcome]
    #: Sessions sessionware's manager opened during the run (0: not on sessionware).
    opens: int


def run(suite: Path, store: str) -> Run:
    """Django's session tests on ``store`` (a key of ``STORES``), in a subprocess."""
    with tempfile.TemporaryDirectory() as tmp:
        url = STORES[store].format(tmp=tmp)
        if store in ("redis", "postgresql"):
            empty_store(url)
        report = Path(tmp) / "report.json"
        path = [str(PLUGIN_DIR), str(suite), str(ROOT / "src")]
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(path),
            "DJANGO_SETTINGS_MODULE": "django_peer_settings",
            "SESSIONWARE_STORE": url,
        }
        command = [sys.executable, str(PLUGIN_DIR / "django_peer_main.py"), str(report)]
        done = subprocess.run(
            command, cwd=tmp, env=env, capture_output=True, text=True, timeout=600, check=False
        )
        if not report.is_file():
            raise RuntimeError(f"Django's tests did not run:\n{done.stdout}\n{done.stderr}")
        written = json.loads(report.read_text())
    outcomes = [
        Outcome(test_id.split(".", 1)[1], outcome, message)
        for test_id, (outcome, message) in sorted(written["outcomes"].items())
    ]
    return Run(outcomes, written["opens"])


def documented_differences(page: Path | None = None) -> set[str]:
    """The test names (``test_x``) that the framework page's "Differences from Django"
    paragraph lists as expected to fail."""
    return peer.documented_differences("Django", page)


def main(stores: list[str]) -> int:
    version = django_version()
    suite = unpack(fetch_sdist(version), version)
    failed = 0
    for store in stores or list(STORES):
        done = run(suite, store)
        outcomes = done.outcomes
        for outcome in outcomes:
            if outcome.outcome != "passed":
                print(f"{store:10} {outcome.outcome:8} {outcome.name}\n{outcome.message}")
        passed = sum(o.outcome == "passed" for o in outcomes)
        print(
            f"Django {version} on {store}: {passed} of {len(outcomes)} passed "
            f"({done.opens} sessions opened by sessionware's manager)"
        )
        failed += len(outcomes) - passed
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
