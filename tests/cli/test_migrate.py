"""``sessionware migrate SRC DST``: a whole copy, resumable, verified."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from .conftest import Run, Stores, key_of, make_store, put, single_error_line


@pytest.fixture
def pair(store_kind: str, tmp_path: Path, stores: Stores, request: pytest.FixtureRequest) -> Any:
    """Two empty stores of the same kind: ``(src_url, src, dst_url, dst)``."""
    src_url, src = make_store(store_kind, "src", tmp_path, stores, request)
    dst_url, dst = make_store(store_kind, "dst", tmp_path, stores, request)
    return src_url, src, dst_url, dst


def test_migrate_copies_every_live_session_whole(run: Run, pair: Any) -> None:
    src_url, src, dst_url, dst = pair
    originals = [
        put(src, 1, user="alice", version=3),
        put(src, 2, data=b'{"x":[1,2]}', expires_in=60),
        put(src, 3, user="bob"),
    ]

    result = run("migrate", src_url, dst_url)

    assert result.exit_code == 0, result.output
    for original in originals:
        assert dst.load(original.id) == original  # data, times, version and user
    assert "copied 3" in result.stdout
    assert "verified: 3 of 3" in result.stdout


def test_migrate_leaves_expired_sessions_behind(run: Run, pair: Any) -> None:
    src_url, src, dst_url, dst = pair
    put(src, 1, expires_in=-5)
    put(src, 2)

    run("migrate", src_url, dst_url)

    assert dst.load(key_of(1)) is None
    assert dst.count() == 1


def test_migrate_run_again_copies_nothing_new(run: Run, pair: Any) -> None:
    src_url, src, dst_url, _ = pair
    for n in range(4):
        put(src, n)
    run("migrate", src_url, dst_url)

    result = run("migrate", src_url, dst_url)

    assert result.exit_code == 0
    assert "copied 0, already present 4" in result.stdout
    assert "verified: 4 of 4" in result.stdout


def test_migrate_keeps_a_newer_version_already_in_the_target(run: Run, pair: Any) -> None:
    src_url, src, dst_url, dst = pair
    put(src, 1, data=b'{"old":true}', version=2)
    newer = put(dst, 1, data=b'{"new":true}', version=5)

    result = run("migrate", src_url, dst_url)

    assert result.exit_code == 0
    assert dst.load(key_of(1)) == newer
    assert "already present 1" in result.stdout


def test_migrate_replaces_an_older_version_in_the_target(run: Run, pair: Any) -> None:
    src_url, src, dst_url, dst = pair
    current = put(src, 1, data=b'{"v":4}', version=4)
    put(dst, 1, data=b'{"v":1}', version=1)

    run("migrate", src_url, dst_url)

    assert dst.load(key_of(1)) == current


def test_migrate_keeps_the_target_user_index_usable(run: Run, pair: Any) -> None:
    src_url, src, dst_url, dst = pair
    put(src, 1, user="alice")
    put(src, 2, user="alice")

    run("migrate", src_url, dst_url)

    assert sorted(dst.ids_for_user("alice")) == [key_of(1), key_of(2)]


def test_migrate_to_the_same_url_is_a_usage_error(run: Run) -> None:
    result = run("migrate", "memory://a", "memory://a")

    assert result.exit_code == 2
    assert single_error_line(result) == "Error: SRC_URL and DST_URL are the same store"


def test_migrate_to_an_unreachable_server_fails_with_one_line(run: Run, pair: Any) -> None:
    src_url, src, _, _ = pair
    put(src, 1)

    result = run("migrate", src_url, "redis://127.0.0.1:1/0")

    assert result.exit_code == 1
    assert single_error_line(result).startswith("Error: ")


def test_migrate_from_an_unknown_scheme_is_a_usage_error(run: Run) -> None:
    result = run("migrate", "nosuchstore://x", "memory://")

    assert result.exit_code == 2
