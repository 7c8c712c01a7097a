"""Install the Debian packages a test needs, as ``scripts/services.sh`` does.

Only when it can: running as root on a system with ``apt-get``, with a reachable
package mirror. Otherwise the caller gets the reason and skips with it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Sequence

APT_TIMEOUT = 900.0  # one apt-get command; chromium alone is a few hundred MB
LOCK_TIMEOUT = 300  # seconds apt waits for another apt (another test run) to finish

_updated = False


def _run_apt(args: Sequence[str]) -> str | None:
    """Run one apt-get command; None on success, else its last output lines."""
    command = ["apt-get", "-qq", "-o", f"DPkg::Lock::Timeout={LOCK_TIMEOUT}", *args]
    environment = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    try:
        result = subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=APT_TIMEOUT,
            env=environment,
            stdin=subprocess.DEVNULL,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return f"apt-get {' '.join(args)} took more than {APT_TIMEOUT:.0f}s"
    if result.returncode == 0:
        return None
    tail = (result.stdout + result.stderr).strip().splitlines()[-3:]
    return f"apt-get {' '.join(args)} failed: {' / '.join(tail)}"


def why_not_installable() -> str | None:
    """None when this process may install packages, else why it may not."""
    if shutil.which("apt-get") is None:
        return "there is no apt-get to install it with"
    if os.geteuid() != 0:
        return "installing it needs root (run scripts/services.sh as root)"
    return None


def install(packages: Sequence[str]) -> str | None:
    """``apt-get install`` the packages; None when done, else why that failed.

    ``apt-get update`` runs once per test session, before the first install.
    """
    global _updated
    if (reason := why_not_installable()) is not None:
        return reason
    if not _updated:
        if (failure := _run_apt(["update"])) is not None:
            return failure
        _updated = True
    return _run_apt(["install", "-y", "--no-install-recommends", *packages])
