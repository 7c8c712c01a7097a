"""End to end: ``sessionware demo`` as a real process, driven in headless Chromium.

A shopper logs in and fills a cart; an admin, in a second browser context, sees the
session on the dashboard (its charts live) and revokes the user; the shopper's
next page load finds the session gone. Needs Debian's ``/usr/bin/chromium``
(``bash scripts/services.sh --chromium``) and the ``playwright`` package; skipped
without them, except under ``CI`` where that is a failure.
"""

from __future__ import annotations

import importlib.util
import os
import queue
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
START_TIMEOUT = 30.0
STEP_TIMEOUT_MS = 15_000


def _unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (required under CI)")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    if not os.access(CHROMIUM, os.X_OK):
        _unavailable(f"{CHROMIUM} is missing: bash scripts/services.sh --chromium")
    if importlib.util.find_spec("playwright") is None:
        _unavailable("the playwright package is missing: pip install -e '.[test]'")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def _store_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'sessions.db'}"  # the embedded default


@pytest.fixture
def demo_url(tmp_path: Path) -> Iterator[str]:
    """Start ``sessionware demo`` on a free port; its URL. Stopped with SIGTERM."""
    log = (tmp_path / "demo.log").open("w")
    command = [sys.executable, "-m", "sessionware.cli", "demo", "--port", "0"]
    process = subprocess.Popen(
        [*command, "--store", _store_url(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()

    def read_lines() -> None:
        for line in process.stdout or ():
            lines.put(line)

    reader = threading.Thread(target=read_lines, daemon=True)
    reader.start()
    try:
        try:
            first = lines.get(timeout=START_TIMEOUT)
        except queue.Empty:
            pytest.fail(f"the demo did not start: {(tmp_path / 'demo.log').read_text()}")
        url = first.split(" on ", 1)[1].split()[0]
        yield url
    finally:
        process.terminate()
        try:
            assert process.wait(timeout=10) == 0, (tmp_path / "demo.log").read_text()
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
            log.close()


def test_an_admin_revokes_a_logged_in_shopper(chromium: Any, demo_url: str, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    shopper = chromium.new_context().new_page()
    shopper.set_default_timeout(STEP_TIMEOUT_MS)
    shopper.goto(demo_url)
    shopper.fill("#name", "alice")
    shopper.click("#login")
    expect(shopper.locator("#user-name")).to_have_text("alice")
    shopper.click("#add-apple")
    shopper.click("#add-coffee")
    shopper.click("#add-apple")
    expect(shopper.locator('#cart tr[data-item="apple"] td.num')).to_have_text("2")
    expect(shopper.locator('#cart tr[data-item="coffee"]')).to_be_visible()

    admin = chromium.new_context(viewport={"width": 1200, "height": 900}).new_page()
    admin.set_default_timeout(STEP_TIMEOUT_MS)
    errors: list[str] = []
    admin.on(
        "console", lambda message: errors.append(message.text) if message.type == "error" else None
    )
    admin.on("pageerror", lambda exc: errors.append(str(exc)))
    admin.goto(demo_url + "admin")
    expect(admin.locator('#sessions tr[data-user="alice"]')).to_have_count(1)
    # Two polls of the metrics feed give the first rates; the charts then have lines.
    expect(admin.locator("#rate-requests")).not_to_have_text("-")
    expect(admin.locator("#operations tbody td").first).to_have_text("load")
    shopper.reload()  # traffic for the charts
    admin.wait_for_timeout(2500)
    expect(admin.locator("#chart-throughput polyline")).to_have_count(2)
    screenshot = tmp_path / "dashboard.png"
    admin.screenshot(path=str(screenshot), full_page=True)
    if os.environ.get("SESSIONWARE_SCREENSHOT_DIR"):
        shutil.copy(screenshot, os.environ["SESSIONWARE_SCREENSHOT_DIR"])

    admin.click('button[data-revoke="alice"]')
    expect(admin.locator(".notice")).to_have_text("Revoked 1 session(s) of alice.")
    expect(admin.locator('#sessions tr[data-user="alice"]')).to_have_count(0)

    shopper.reload()
    expect(shopper.locator("#login-form")).to_be_visible()
    expect(shopper.locator("#cart-empty")).to_be_visible()
    assert errors == []  # no script error, no Content-Security-Policy violation
