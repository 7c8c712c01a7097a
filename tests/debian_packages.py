"""Install the Debian packages a test needs, as ``scripts/services.sh`` does.

Only when it can: running as root on a system with ``apt-get``, with a reachable
package mirror. Otherwise the caller gets the reason and skips with it.

The packages' own services (a PostgreSQL cluster on :5432, MariaDB, Redis) are not
started: the test session runs private servers and leaves nothing running, so
while it installs, a ``policy-rc.d`` that denies service starts is in place (when
the system has none of its own, as Docker images have).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from collections.abc import Iterator, Sequence
from pathlib import Path

APT_TIMEOUT = 900.0  # one apt-get command; chromium alone is a few hundred MB
LOCK_TIMEOUT = 300  # seconds apt waits for another apt (another test run) to finish

POLICY_RC_D = Path("/usr/sbin/policy-rc.d")
DENY_ALL_STARTS = "#!/bin/sh\n# sessionware tests: installing, start no service\nexit 101\n"

_updated = False


@contextlib.contextmanager
def services_not_started() -> Iterator[None]:
    """Deny service starts (invoke-rc.d's policy) while packages install."""
    if POLICY_RC_D.exists():
        yield
        return
    POLICY_RC_D.write_text(DENY_ALL_STARTS)
    POLICY_RC_D.chmod(0o755)
    try:
        yield
    finally:
        POLICY_RC_D.unlink(missing_ok=True)


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
    with services_not_started():
        return _run_apt(["install", "-y", "--no-install-recommends", *packages])
