"""Debian's headless Chromium for the browser tests, installed when missing.

``require_chromium()`` gives the path of ``/usr/bin/chromium``; when it is not
there it installs the Debian package ``chromium`` (root and apt-get needed), else
the test skips with the reason (fails under ``CI``). The ``chromium_executable``
fixture of ``tests/servers.py`` calls it once per session.
"""

from __future__ import annotations

import os

from tests import debian_packages
from tests.processes import unavailable

CHROMIUM = "/usr/bin/chromium"


def chromium_present() -> bool:
    return os.access(CHROMIUM, os.X_OK)


def require_chromium() -> str:
    if chromium_present():
        return CHROMIUM
    failure = debian_packages.install(["chromium"])
    if failure is None and chromium_present():
        return CHROMIUM
    unavailable(
        f"{CHROMIUM} is missing and could not be installed (Debian package chromium): "
        f"{failure or 'installed, yet still not there'}"
    )
