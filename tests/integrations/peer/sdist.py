"""What the peer-suite runners share: a framework's sdist from PyPI (cached under
``.peer-suites/``, git-ignored, so a rerun needs no network), a pytest subprocess
with a swap plugin and its JUnit report, and the documented differences (docs/frameworks)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
CACHE = ROOT / ".peer-suites"
PLUGIN_DIR = Path(__file__).resolve().parent
#: The framework pages whose "Differences from <framework>" section lists the
#: framework tests expected to fail with the swap.
FRAMEWORK_DOCS = ROOT / "docs" / "frameworks"


class Unavailable(Exception):
    """The sdist is neither cached nor downloadable (PyPI unreachable)."""


def fetch_sdist(project: str, label: str, version: str, cache: Path = CACHE) -> Path:
    """``project``'s sdist at ``version``: from the cache, else downloaded with pip.
    (Older sdists spell the file with a capital, as ``Flask-3.0.tar.gz``.)"""
    cache.mkdir(parents=True, exist_ok=True)
    found = _cached(project, version, cache)
    if found is not None:
        return found
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:"]
    command += [f"{project}=={version}", "-d", str(cache), "--quiet"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    found = _cached(project, version, cache)
    if found is None:
        raise Unavailable(
            f"{label} {version}'s sdist is not cached in {cache} and pip could not "
            f"download it (PyPI unreachable?): {done.stderr.strip()[-300:]}"
        )
    return found


def _cached(project: str, version: str, cache: Path) -> Path | None:
    for name in (project, project.capitalize()):
        sdist = cache / f"{name}-{version}.tar.gz"
        if sdist.is_file():
            return sdist
    return None


def run_pytest(suite: Path, plugin: str, label: str, arguments: list[str]) -> Path:
    """Run pytest on ``arguments`` in ``suite`` with the swap ``plugin`` loaded; the
    path of its JUnit report."""
    report = suite / "sessionware-report.xml"
    report.unlink(missing_ok=True)
    command = [sys.executable, "-m", "pytest", "-q", "-p", plugin]
    # xunit1: the JUnit flavour that keeps record_property (the plugins' counts).
    command += ["-p", "no:cacheprovider", f"--junitxml={report}", "-o", "junit_family=xunit1"]
    command += arguments
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(PLUGIN_DIR), str(ROOT / "src")])}
    done = subprocess.run(
        command, cwd=suite, env=env, capture_output=True, text=True, timeout=600, check=False
    )
    if not report.is_file():
        raise RuntimeError(f"{label}'s tests did not run:\n{done.stdout}\n{done.stderr}")
    return report


def junit_cases(report: Path, counted: str) -> list[tuple[str, str, str, int]]:
    """Each test case of a JUnit report: name, outcome ("passed", "failed", "error"
    or "skipped"), message, and the sum of its ``counted`` property."""
    cases = []
    for case in ET.parse(report).getroot().iter("testcase"):
        outcome, message = "passed", ""
        for child in case:
            if child.tag in ("failure", "error", "skipped"):
                outcome = {"failure": "failed"}.get(child.tag, child.tag)
                message = child.get("message", "")
                break
        count = sum(
            int(prop.get("value", "0"))
            for prop in case.iter("property")
            if prop.get("name") == counted
        )
        cases.append((case.get("name", ""), outcome, message, count))
    return cases


def documented_differences(framework: str, page: Path | None = None) -> set[str]:
    """The test names (``test_x``, or ``test_x[trio]`` with parameters) that the
    framework page's "Differences from <framework>" section lists as expected to fail."""
    page = page or FRAMEWORK_DOCS / f"{framework.lower()}.md"
    text = page.read_text()
    start = text.find(f"## Differences from {framework}")
    if start < 0:
        return set()
    paragraph = text[start:].split("\n## ", 1)[0]
    return set(re.findall(r"`(test_[\w\[\]-]+)`", paragraph))
