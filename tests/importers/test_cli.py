"""``sessionware import-sessions``: what it asks of the user before it reads a peer."""

from __future__ import annotations

import pytest

from .conftest import Import


@pytest.mark.parametrize(
    ("peer", "names"),
    [
        ("flask-session", "SESSION_FILE_DIR"),
        ("starsessions", "RedisStore"),
        ("beaker", "data_dir"),
    ],
)
def test_a_peer_read_from_somewhere_needs_from_and_is_told_what_it_names(
    run_import: Import, target_url: str, peer: str, names: str
) -> None:
    result = run_import(peer, target_url)
    assert result.exit_code != 0
    assert "--from is required" in result.output
    assert names in result.output
