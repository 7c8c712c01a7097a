"""Run Flask's own session and flashing tests with sessionware's sessions.

The tests come from Flask's sdist on PyPI at the installed Flask version, cached
under ``.peer-suites/`` (git-ignored) so a rerun needs no network. They run in a
pytest subprocess with ``flask_peer_plugin`` loaded, which makes every Flask app
the tests create keep its session in sessionware (a memory store).

``python -m tests.integrations.peer.flask_runner`` runs them and prints each
outcome; ``tests/integrations/peer/test_flask_suite.py`` asserts on them.
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

#: Flask's test modules that hold its session and flashing tests.
FILES = ("test_basic.py", "test_testing.py", "test_reqctx.py")

#: Every test of those modules whose body uses ``flask.session``, a session
#: interface or flashing (found by reading them; checked against what pytest
#: collects, so a renamed or new test in a later Flask shows up as a failure).
SELECTED = (
    # test_basic.py: cookies, Vary, secrets, expiry, tagged types, flashing
    "test_session_accessed",
    "test_session_path",
    "test_session_using_application_root",
    "test_session_using_session_settings",
    "test_session_using_samesite_attribute",
    "test_missing_session",
    "test_session_secret_key_fallbacks",
    "test_session_expiration",
    "test_session_stored_last",
    "test_session_special_types",
    "test_session_cookie_setting",
    "test_session_vary_cookie",
    "test_session_refresh_vary",
    "test_flashes",
    "test_extended_flashing",
    # test_testing.py: the test client's session_transaction()
    "test_redirect_session",
    "test_session_transactions",
    "test_session_transactions_no_null_sessions",
    "test_session_transactions_keep_context",
    "test_session_transaction_needs_cookies",
    # test_reqctx.py: session errors, custom interfaces, copied request contexts
    "test_session_error_pops_context",
    "test_session_dynamic_cookie_name",
    "test_greenlet_context_copying",
    "test_greenlet_context_copying_api",
)

#: Selected tests in which sessionware rightly opens no session.
OPENS_NO_SESSION = {
    "test_missing_session": "no secret key: Flask's null session answers",
    "test_session_transactions_no_null_sessions": "no secret key: no session to open",
    "test_session_transaction_needs_cookies": "fails before a session is opened",
    "test_session_error_pops_context": "its app sets its own failing interface",
    "test_session_dynamic_cookie_name": "its app sets Flask's cookie interface",
}


@dataclass(frozen=True)
class Outcome:
    name: str
    outcome: str  # "passed", "failed", "error" or "skipped"
    message: str = ""
    #: Sessions sessionware opened during the test (0: it used its own interface).
    opens: int = 0


def flask_version() -> str:
    return importlib.metadata.version("flask")


def fetch_sdist(version: str, cache: Path = CACHE) -> Path:
    """Flask's sdist at ``version``: from the cache, else downloaded with pip."""
    return peer.fetch_sdist("flask", "Flask", version, cache)


def unpack(sdist: Path, version: str, cache: Path = CACHE) -> Path:
    """The sdist's ``tests/`` and ``pyproject.toml`` (its pytest settings), unpacked
    once into ``cache/flask-<version>``."""
    target = cache / f"flask-{version}"
    if (target / "tests" / "conftest.py").is_file():
        return target
    with tarfile.open(sdist) as archive, tempfile.TemporaryDirectory(dir=cache) as scratch:
        members = [
            member
            for member in archive.getmembers()
            if member.name.partition("/")[2].split("/")[0] in ("tests", "pyproject.toml")
        ]
        archive.extractall(scratch, members=members, filter="data")
        (top,) = Path(scratch).iterdir()
        try:
            top.rename(target)
        except OSError:
            if not (target / "tests" / "conftest.py").is_file():
                raise
            # Another run unpacked the same sdist meanwhile: use that copy.
    return target


def run(suite: Path) -> list[Outcome]:
    """Run the selected tests of ``suite`` in a pytest subprocess; one outcome each."""
    arguments = ["-k", " or ".join(SELECTED), *(f"tests/{name}" for name in FILES)]
    report = peer.run_pytest(suite, "flask_peer_plugin", "Flask", arguments)
    return [Outcome(*case) for case in peer.junit_cases(report, "sessionware_opens")]


def documented_differences(page: Path | None = None) -> set[str]:
    """The Flask test names the framework page's "Differences from Flask" paragraph lists
    as expected to fail (each with its one-line reason)."""
    return peer.documented_differences("Flask", page)


def main() -> int:
    version = flask_version()
    suite = unpack(fetch_sdist(version), version)
    outcomes = run(suite)
    for outcome in outcomes:
        opened = f"{outcome.opens:3} opened"
        print(f"{outcome.outcome:8} {opened}  {outcome.name}  {outcome.message[:90]}")
    counts = {kind: sum(o.outcome == kind for o in outcomes) for kind in ("passed", "failed")}
    counts["error"] = sum(o.outcome == "error" for o in outcomes)
    print(f"Flask {version}: " + ", ".join(f"{n} {kind}" for kind, n in counts.items()))
    return 0 if all(o.outcome in ("passed", "skipped") for o in outcomes) else 1


if __name__ == "__main__":
    raise SystemExit(main())
