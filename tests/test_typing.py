"""Type checkers see a typed manager's schema: ``tests/type_checks/`` passes mypy
(strict, the project's configuration), its ``assert_type`` checks included."""

from __future__ import annotations

from pathlib import Path

import pytest

mypy_api = pytest.importorskip("mypy.api")

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.timeout(300)
def test_a_typed_manager_gives_its_sessions_the_schemas_type(tmp_path: Path) -> None:
    stdout, stderr, status = mypy_api.run(
        [
            "--config-file",
            str(ROOT / "pyproject.toml"),
            "--cache-dir",
            str(tmp_path / "mypy-cache"),
            str(ROOT / "tests" / "type_checks" / "typed_sessions.py"),
        ]
    )
    assert status == 0, stdout + stderr
    assert "Success" in stdout
