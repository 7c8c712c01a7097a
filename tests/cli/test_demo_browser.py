"""End to end: ``sessionware demo`` as a real process, driven in headless Chromium.

A shopper logs in and fills a cart; an admin, in a second browser context, sees the
session on the dashboard (its charts live), searches, and revokes the user after
confirming, all without a page load (the charts keep their history); the
shopper's next page load finds the session gone. A request relayed from another
machine is refused, and on a phone-sized screen nothing overflows sideways.
Needs Debian's ``/usr/bin/chromium`` (the ``chromium_executable`` fixture installs
it when missing and possible) and the ``playwright`` package; skipped without
them, with the reason, except under ``CI`` where that is a failure.
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
def chromium(chromium_executable: str) -> Iterator[Any]:
    if importlib.util.find_spec("playwright") is None:
        _unavailable("the playwright package is missing: pip install -e '.[test]'")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium_executable, args=CHROMIUM_ARGS
        )
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


def new_page(chromium: Any, **context: Any) -> Any:
    page = chromium.new_context(**context).new_page()
    page.set_default_timeout(STEP_TIMEOUT_MS)
    return page


def watch_errors(page: Any) -> list[str]:
    """Script errors and Content-Security-Policy violations the page reports."""
    errors: list[str] = []
    page.on(
        "console", lambda message: errors.append(message.text) if message.type == "error" else None
    )
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return errors


class Dialogs:
    """Answers the page's confirmation dialogs: no, unless told to say yes next."""

    def __init__(self, page: Any) -> None:
        self.questions: list[str] = []
        self.accept_next = False
        page.on("dialog", self._answer)

    def _answer(self, dialog: Any) -> None:
        self.questions.append(dialog.message)
        accept, self.accept_next = self.accept_next, False
        if accept:
            dialog.accept()
        else:
            dialog.dismiss()


def log_in(page: Any, url: str, name: str) -> None:
    from playwright.sync_api import expect

    page.goto(url)
    page.fill("#name", name)
    page.click("#login")
    expect(page.locator("#user-name")).to_have_text(name)


def test_an_admin_revokes_a_logged_in_shopper(chromium: Any, demo_url: str, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    shopper = new_page(chromium)
    log_in(shopper, demo_url, "alice")
    shopper.click("#add-apple")
    shopper.click("#add-coffee")
    shopper.click("#add-apple")
    expect(shopper.locator('#cart tr[data-item="apple"] td.num')).to_have_text("2")
    expect(shopper.locator('#cart tr[data-item="coffee"]')).to_be_visible()

    admin = new_page(chromium, viewport={"width": 1200, "height": 900})
    errors = watch_errors(admin)
    dialogs = Dialogs(admin)
    admin.goto(demo_url + "admin/")
    expect(admin.locator('#sessions tr[data-user="alice"]')).to_have_count(1)
    # The admin has no session of its own: the tile counts what the table lists.
    expect(admin.locator("#live-sessions")).to_have_text("1")
    expect(admin.locator("#sessions-summary")).to_have_attribute("data-matched", "1")
    # Two polls of the metrics feed give the first rates; the charts then have lines.
    expect(admin.locator("#rate-requests")).not_to_have_text("-")
    expect(admin.locator("#operations tbody td").first).to_have_text("load")
    shopper.reload()  # traffic for the charts
    expect(admin.locator("#chart-requests polyline")).to_have_count(1)
    expect(admin.locator("#chart-operations polyline")).to_have_count(1)
    screenshot = tmp_path / "dashboard.png"
    admin.screenshot(path=str(screenshot), full_page=True)
    if os.environ.get("SESSIONWARE_SCREENSHOT_DIR"):
        shutil.copy(screenshot, os.environ["SESSIONWARE_SCREENSHOT_DIR"])
    admin.evaluate("window.notReloaded = true")
    samples = int(admin.locator("body").get_attribute("data-samples") or 0)

    admin.fill("#search-user", "ALI")
    admin.click('#search button[type="submit"]')
    expect(admin.locator("#sessions")).to_have_attribute("data-query", "ALI")
    expect(admin.locator('#sessions tr[data-user="alice"]')).to_have_count(1)

    admin.click('button[data-revoke="alice"]')  # answered no: nothing happens
    assert dialogs.questions == ["Revoke every session of alice? They are logged out everywhere."]
    shopper.reload()
    expect(shopper.locator("#user-name")).to_have_text("alice")

    dialogs.accept_next = True
    admin.click('button[data-revoke="alice"]')
    expect(admin.locator("#notice")).to_have_text("Revoked 1 session(s) of alice.")
    expect(admin.locator('#sessions tr[data-user="alice"]')).to_have_count(0)
    assert admin.evaluate("window.notReloaded") is True  # searched and revoked in place
    assert int(admin.locator("body").get_attribute("data-samples") or 0) >= samples

    shopper.reload()
    expect(shopper.locator("#login-form")).to_be_visible()
    expect(shopper.locator("#cart-empty")).to_be_visible()
    assert errors == []  # no script error, no Content-Security-Policy violation


def test_an_admin_deletes_one_session_after_confirming(chromium: Any, demo_url: str) -> None:
    from playwright.sync_api import expect

    laptop, phone = new_page(chromium), new_page(chromium)
    log_in(laptop, demo_url, "bob")
    log_in(phone, demo_url, "bob")
    admin = new_page(chromium)
    errors = watch_errors(admin)
    admin.goto(demo_url + "admin/")
    expect(admin.locator('#sessions tr[data-user="bob"]')).to_have_count(2)
    admin.evaluate("window.notReloaded = true")
    dialogs = Dialogs(admin)

    dialogs.accept_next = True
    admin.locator('#sessions tr[data-user="bob"] button[data-delete]').first.click()

    expect(admin.locator("#notice")).to_have_text("Session deleted.")
    expect(admin.locator('#sessions tr[data-user="bob"]')).to_have_count(1)
    expect(admin.locator("#live-sessions")).to_have_text("1")
    assert admin.evaluate("window.notReloaded") is True
    assert dialogs.questions[0].startswith("Delete session ")
    for page in (laptop, phone):
        page.reload()
    assert sorted(page.locator("#user-name").count() for page in (laptop, phone)) == [0, 1]
    assert errors == []


def test_a_request_relayed_from_another_machine_is_refused(chromium: Any, demo_url: str) -> None:
    relayed = new_page(chromium, extra_http_headers={"X-Forwarded-For": "203.0.113.7"})

    response = relayed.goto(demo_url + "admin/")

    assert response is not None
    assert response.status == 403
    assert "not allowed" in relayed.content()
    assert relayed.evaluate("fetch('metrics.json').then(r => r.status)") == 403


PHONE = {"width": 390, "height": 844}


@pytest.mark.parametrize("path", ["", "admin/"])
def test_pages_fit_a_phone_screen(chromium: Any, demo_url: str, path: str) -> None:
    from playwright.sync_api import expect

    shopper = new_page(chromium)
    log_in(shopper, demo_url, "a-shopper-with-a-rather-long-name-0123")
    shopper.click("#add-cheese")
    page = new_page(chromium, viewport=PHONE)

    page.goto(demo_url + path)
    if path:
        expect(page.locator("body")).to_have_attribute("data-feed", "live")
        expect(page.locator("#sessions tbody tr")).to_have_count(1)
        page.locator("button[data-show]").first.click()
        expect(page.locator("#detail .detail")).to_be_visible()

    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{width}px wide on a {PHONE['width']}px screen"
