"""Smoke tests: a handful of fast checks that the package works as installed.

CI runs them against the built wheel in a fresh virtual environment, from outside
the checkout (``.ci/run``, the "release" step), with ``SESSIONWARE_SMOKE_INSTALLED``
set; in the checkout they run with the rest of the suite. They need no server and
import nothing from the test suite.
"""

from __future__ import annotations

import importlib.metadata
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

import sessionware as sw

pytestmark = pytest.mark.smoke

SECRET = "smoke-test-secret-key-long-enough-0000"
CHECKOUT = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(
    not os.environ.get("SESSIONWARE_SMOKE_INSTALLED"), reason="runs against an installed wheel"
)
def test_sessionware_is_imported_from_the_installed_wheel() -> None:
    package = Path(sw.__file__).resolve()
    assert not package.is_relative_to(CHECKOUT), package
    assert Path(sys.prefix) in package.parents, (package, sys.prefix)


def test_the_version_is_the_distributions() -> None:
    assert sw.__version__ == importlib.metadata.version("sessionware")


def test_a_session_survives_a_round_trip_through_sqlite(tmp_path: Path) -> None:
    manager = sw.SessionManager(
        sw.open_store(f"sqlite:///{tmp_path / 'sessions.db'}"), secret_key=SECRET
    )
    with manager.scope(None) as session:
        session["cart"] = [1, 2]
    with manager.scope(session.cookie_value) as again:
        assert again["cart"] == [1, 2]
    manager.close()


def test_the_type_information_ships() -> None:
    assert (Path(sw.__file__).parent / "py.typed").is_file()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _first_page(url: str, server: subprocess.Popen[bytes], seconds: float = 30) -> bytes | None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and server.poll() is None:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return bytes(response.read())
        except OSError:
            time.sleep(0.1)
    return None


def test_sessionware_demo_starts_serves_its_shop_and_stops(tmp_path: Path) -> None:
    command = Path(sys.executable).with_name("sessionware")
    if not command.exists():
        pytest.skip("the sessionware command is not installed next to this Python")
    port = _free_port()
    demo = subprocess.Popen(
        [str(command), "demo", "--port", str(port), "--store", f"sqlite:///{tmp_path / 'd.db'}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        page = _first_page(f"http://127.0.0.1:{port}/", demo)
        stylesheet = _first_page(f"http://127.0.0.1:{port}/static/demo.css", demo, seconds=5)
    finally:
        demo.terminate()
        _, stderr = demo.communicate(timeout=30)
    assert page is not None, f"the demo never answered: {stderr.decode()[-2000:]}"
    assert b"</html>" in page
    assert stylesheet is not None
