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
import os
import re
import subprocess
import sys
import tarfile
import tempfile
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
CACHE = ROOT / ".peer-suites"
PLUGIN_DIR = Path(__file__).resolve().parent
README = ROOT / "README.md"

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


class Unavailable(Exception):
    """The sdist is neither cached nor downloadable (PyPI unreachable)."""


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
    cache.mkdir(parents=True, exist_ok=True)
    sdist = cache / f"starlette-{version}.tar.gz"
    if sdist.is_file():
        return sdist
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:"]
    command += [f"starlette=={version}", "-d", str(cache), "--quiet"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    if not sdist.is_file():
        raise Unavailable(
            f"Starlette {version}'s sdist is not cached in {cache} and pip could not "
            f"download it (PyPI unreachable?): {done.stderr.strip()[-300:]}"
        )
    return sdist


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
    report = suite / "sessionware-report.xml"
    report.unlink(missing_ok=True)
    command = [sys.executable, "-m", "pytest", "-q", "-p", "starlette_peer_plugin"]
    # xunit1: the JUnit flavour that keeps record_property (the middleware counts).
    command += ["-p", "no:cacheprovider", f"--junitxml={report}", "-o", "junit_family=xunit1"]
    command.append(TEST_MODULE)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(PLUGIN_DIR), str(ROOT / "src")])}
    done = subprocess.run(
        command, cwd=suite, env=env, capture_output=True, text=True, timeout=600, check=False
    )
    if not report.is_file():
        raise RuntimeError(f"Starlette's tests did not run:\n{done.stdout}\n{done.stderr}")
    return _outcomes(report)


def _outcomes(report: Path) -> list[Outcome]:
    outcomes = []
    for case in ET.parse(report).getroot().iter("testcase"):
        outcome, message = "passed", ""
        for child in case:
            if child.tag in ("failure", "error", "skipped"):
                outcome = {"failure": "failed"}.get(child.tag, child.tag)
                message = child.get("message", "")
                break
        built = sum(
            int(prop.get("value", "0"))
            for prop in case.iter("property")
            if prop.get("name") == "sessionware_middlewares"
        )
        outcomes.append(Outcome(case.get("name", ""), outcome, message, built))
    return outcomes


def documented_differences(readme: Path = README) -> set[str]:
    """The Starlette test names (with parameters, as ``test_x[trio]``) that the
    README's "Differences from Starlette" paragraph lists as expected to fail."""
    text = readme.read_text()
    start = text.find("Differences from Starlette")
    if start < 0:
        return set()
    paragraph = text[start:].split("\n\n", 1)[0]
    return set(re.findall(r"`(test_[\w\[\]-]+)`", paragraph))


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
