"""The generated sync modules must match their async sources."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_generated_sync_code_is_up_to_date() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "unasync.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_importing_sessionware_imports_no_asyncio_driver_or_framework() -> None:
    code = (
        "import sys, sessionware, sessionware.wsgi;"
        "bad = [m for m in ('asyncio', 'redis', 'sqlalchemy', 'flask', 'django', 'starlette')"
        " if m in sys.modules]; print(bad)"
    )
    output = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert output.strip() == "[]"
