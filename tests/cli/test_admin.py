"""``sessionware stats | list | show | delete | revoke-user | purge``, including their
error paths: one ``Error:`` line on stderr, exit 2 for bad input, 1 for failures."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import sessionware as sw
from sessionware.core.signing import store_key

from .conftest import HOUR, Run, Stores, key_of, put, single_error_line

SECRET = "cli-test-secret-key-long-enough-0000000"

# -- stats -----------------------------------------------------------------------------


def test_stats_counts_live_sessions_users_and_expiries(run: Run, filled: tuple[str, Any]) -> None:
    url, store = filled
    put(store, 1, user="alice", expires_in=30)
    put(store, 2, user="alice", expires_in=2 * HOUR)
    put(store, 3, user="bob", expires_in=2 * HOUR)
    put(store, 4, expires_in=10 * 86400)
    put(store, 5, expires_in=-10)  # expired: not counted

    result = run("stats", url, "--json")

    assert result.exit_code == 0, result.output
    stats = json.loads(result.stdout)
    assert stats["live_sessions"] == 4
    assert stats["logged_in_sessions"] == 3
    assert stats["anonymous_sessions"] == 1
    assert stats["distinct_users"] == 2
    assert stats["top_users"][0] == {"user": "alice", "sessions": 2}
    histogram = {row["expires_in"]: row["sessions"] for row in stats["expiry_histogram"]}
    assert histogram["< 1 min"] == 1
    assert histogram["1-6 h"] == 2
    assert histogram["7-30 d"] == 1


def test_stats_top_limits_the_user_list(run: Run, filled: tuple[str, Any]) -> None:
    url, store = filled
    for n, user in enumerate(["a", "b", "b", "c", "c", "c"]):
        put(store, n, user=user)

    stats = json.loads(run("stats", url, "--json", "--top", "2").stdout)

    assert [row["user"] for row in stats["top_users"]] == ["c", "b"]


def test_stats_prints_readable_tables(run: Run, filled: tuple[str, Any]) -> None:
    url, store = filled
    put(store, 1, user="alice")

    result = run("stats", url)

    assert result.exit_code == 0
    assert "live sessions" in result.stdout
    assert "alice" in result.stdout
    assert "expires in" in result.stdout


def test_stats_reports_payload_size(run: Run, filled: tuple[str, Any]) -> None:
    url, store = filled
    put(store, 1, data=b'{"a":1}')
    put(store, 2, data=b'{"bb":22}')

    stats = json.loads(run("stats", url, "--json").stdout)

    assert stats["payload_bytes"] == len(b'{"a":1}') + len(b'{"bb":22}')


def test_stats_reports_the_size_of_a_file_backed_store(run: Run, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/sessions.db"
    store = sw.open_store(url)
    put(store, 1)
    store.close()

    stats = json.loads(run("stats", url, "--json").stdout)

    assert stats["store_bytes"] > 0


def test_commands_work_on_a_dbm_file_no_process_holds(run: Run, tmp_path: Path) -> None:
    url = f"dbm://{tmp_path}/sessions.dbm"
    store = sw.open_store(url)
    put(store, 1, user="alice")
    put(store, 2, user="bob")
    store.close()  # a dbm file serves one process at a time

    assert json.loads(run("stats", url, "--json").stdout)["live_sessions"] == 2
    assert run("revoke-user", url, "alice").exit_code == 0
    assert json.loads(run("stats", url, "--json").stdout)["distinct_users"] == 1


def test_stats_of_an_unknown_scheme_is_a_usage_error(run: Run) -> None:
    result = run("stats", "nosuchstore://x")

    assert result.exit_code == 2
    line = single_error_line(result)
    assert line.startswith("Error: no session store is registered for 'nosuchstore'")


def test_stats_of_a_url_without_scheme_is_a_usage_error(run: Run) -> None:
    result = run("stats", "sessions.db")

    assert result.exit_code == 2
    assert "not a store URL" in single_error_line(result)


def test_stats_of_an_unreachable_server_fails_with_one_line(run: Run) -> None:
    result = run("stats", "redis://127.0.0.1:1/0")

    assert result.exit_code == 1
    assert single_error_line(result).startswith("Error: ")


def test_stats_of_a_store_in_a_missing_directory_fails_with_one_line(
    run: Run, tmp_path: Path
) -> None:
    result = run("stats", f"sqlite:///{tmp_path}/no/such/dir/sessions.db")

    assert result.exit_code == 1
    assert single_error_line(result).startswith("Error: ")


def test_store_options_the_store_rejects_are_a_usage_error(
    run: Run, stores: Stores, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(stores, "open", lambda url: sw.open_store(url, no_such_option=1))

    result = run("stats", "memory://")

    assert result.exit_code == 2
    assert "bad store URL memory://" in single_error_line(result)


class FailingIds(sw.StoreProxy):
    """A store whose ``ids`` breaks, as a driver bug would."""

    def ids(self, call: Any) -> Any:
        raise RuntimeError("driver exploded\nwith a second line")


def test_an_unexpected_store_failure_is_one_line_naming_its_type(run: Run, stores: Stores) -> None:
    stores.shared["memory://broken"] = FailingIds(sw.open_store("memory://"))

    result = run("stats", "memory://broken")

    assert result.exit_code == 1
    line = single_error_line(result)
    assert line == "Error: RuntimeError: driver exploded (run with --debug for the traceback)"


def test_debug_lets_the_exception_through(run: Run, stores: Stores) -> None:
    stores.shared["memory://broken"] = FailingIds(sw.open_store("memory://"))

    result = run("--debug", "stats", "memory://broken")

    assert isinstance(result.exception, RuntimeError)


def test_a_store_error_is_one_line(run: Run, stores: Stores) -> None:
    class Unavailable(sw.StoreProxy):
        def count(self, call: Any) -> Any:
            raise sw.StoreUnavailable("redis://:secret@db:6379/0", "connection refused")

        def ids(self, call: Any) -> Any:
            raise sw.StoreUnavailable("redis://:secret@db:6379/0", "connection refused")

    stores.shared["memory://down"] = Unavailable(sw.open_store("memory://"))

    result = run("stats", "memory://down")

    assert result.exit_code == 1
    line = single_error_line(result)
    assert "connection refused" in line
    assert "secret" not in line


# -- list -------------------------------------------------------------------------------


def test_list_shows_sessions_newest_first(run: Run, filled: tuple[str, Any]) -> None:
    url, store = filled
    put(store, 1, user="alice", created_ago=300)
    put(store, 2, user="bob", created_ago=10)
    put(store, 3, created_ago=100)

    result = run("list", url, "--json")

    assert result.exit_code == 0
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [row["key"] for row in rows] == [key_of(2), key_of(3), key_of(1)]
    assert rows[0]["user"] == "bob"


def test_list_user_shows_only_that_users_sessions(run: Run, filled: tuple[str, Any]) -> None:
    url, store = filled
    put(store, 1, user="alice")
    put(store, 2, user="bob")
    put(store, 3, user="alice")

    result = run("list", url, "--user", "alice", "--json")

    keys = {json.loads(line)["key"] for line in result.stdout.splitlines()}
    assert keys == {key_of(1), key_of(3)}


def test_list_limit_caps_the_table_and_says_so(run: Run, filled: tuple[str, Any]) -> None:
    url, store = filled
    for n in range(5):
        put(store, n, user=f"user{n}")

    result = run("list", url, "--limit", "2")

    assert result.exit_code == 0
    assert "2 of 5 live sessions shown" in result.stdout
    assert sum(f"user{n}" in result.stdout for n in range(5)) == 2


def test_list_limit_shows_the_newest_sessions_whatever_the_store_order(
    run: Run, filled: tuple[str, Any]
) -> None:
    url, store = filled
    for n in range(16):  # written oldest first: store order is not newest first
        put(store, n, created_ago=1000 - 10 * n)

    result = run("list", url, "--limit", "5", "--json")

    assert result.exit_code == 0, result.output
    keys = [json.loads(line)["key"] for line in result.stdout.splitlines()]
    assert keys == [key_of(n) for n in (15, 14, 13, 12, 11)]


def test_list_user_limit_shows_that_users_newest_sessions(
    run: Run, filled: tuple[str, Any]
) -> None:
    url, store = filled
    for n in range(8):
        put(store, n, user="alice", created_ago=1000 - 10 * n)

    result = run("list", url, "--user", "alice", "--limit", "3", "--json")

    keys = [json.loads(line)["key"] for line in result.stdout.splitlines()]
    assert keys == [key_of(n) for n in (7, 6, 5)]


def test_list_of_an_empty_store_says_so(run: Run, filled: tuple[str, Any]) -> None:
    url, _ = filled

    result = run("list", url)

    assert result.exit_code == 0
    assert "no live sessions" in result.stdout


def test_list_of_an_unknown_user_says_so(run: Run, filled: tuple[str, Any]) -> None:
    url, store = filled
    put(store, 1, user="alice")

    result = run("list", url, "--user", "mallory")

    assert "no live sessions for user 'mallory'" in result.stdout


def test_list_rejects_a_zero_limit(run: Run) -> None:
    result = run("list", "memory://", "--limit", "0")

    assert result.exit_code == 2


def test_list_of_an_unknown_scheme_is_a_usage_error(run: Run) -> None:
    result = run("list", "nosuchstore://x")

    assert result.exit_code == 2
    assert single_error_line(result).startswith("Error: ")


# -- show -------------------------------------------------------------------------------


def test_show_decodes_json_data(run: Run, filled: tuple[str, Any]) -> None:
    url, store = filled
    put(store, 7, user="alice", data=b'{"cart":{"apple":3},"theme":"dark"}')

    result = run("show", url, key_of(7))

    assert result.exit_code == 0
    assert "data (json)" in result.stdout
    assert '"theme": "dark"' in result.stdout
    assert '"apple": 3' in result.stdout
    assert "alice" in result.stdout


def test_show_accepts_a_cookie_value(run: Run, filled: tuple[str, Any]) -> None:
    url, store = filled
    manager = sw.SessionManager(store, secret_key=SECRET, visit_tracker=False)
    with manager.scope(None) as session:
        session["greeting"] = "hello"
    assert session.cookie_value is not None

    # "--" ends the options: a cookie value may start with "-" (base64url).
    result = run("show", url, "--", session.cookie_value)

    assert result.exit_code == 0
    assert store_key(session.id) in result.stdout
    assert '"greeting": "hello"' in result.stdout


def test_show_takes_a_value_that_starts_with_a_dash_after_the_double_dash(
    run: Run, filled: tuple[str, Any]
) -> None:
    url, _ = filled
    result = run("show", url, "--", "-" + "0" * 39)

    assert result.exit_code == 2
    assert "not a session key: '-000" in result.output


def test_show_falls_back_to_hex_for_undecodable_data(run: Run, filled: tuple[str, Any]) -> None:
    url, store = filled
    put(store, 7, data=b"\x80\x04\x95not-json-at-all")

    result = run("show", url, key_of(7))

    assert result.exit_code == 0
    assert "shown as bytes" in result.stdout
    assert "80 04 95" in result.stdout


def test_show_raw_prints_bytes_without_decoding(run: Run, filled: tuple[str, Any]) -> None:
    url, store = filled
    put(store, 7, data=b'{"a":1}')

    result = run("show", url, key_of(7), "--raw")

    assert "7b 22 61 22" in result.stdout  # {"a"
    assert "data (json)" not in result.stdout


def test_show_of_an_unknown_key_fails(run: Run, filled: tuple[str, Any]) -> None:
    url, _ = filled

    result = run("show", url, key_of(99))

    assert result.exit_code == 1
    assert single_error_line(result) == f"Error: no live session with key {key_of(99)}"


def test_show_of_an_expired_session_fails(run: Run, filled: tuple[str, Any]) -> None:
    url, store = filled
    put(store, 7, expires_in=-1)

    result = run("show", url, key_of(7))

    assert result.exit_code == 1


def test_show_of_a_malformed_id_is_a_usage_error(run: Run) -> None:
    result = run("show", "memory://", "../../etc/passwd")

    assert result.exit_code == 2
    assert "not a session key" in single_error_line(result)


# -- delete -----------------------------------------------------------------------------


def test_delete_removes_the_named_sessions_only(run: Run, filled: tuple[str, Any]) -> None:
    url, store = filled
    for n in (1, 2, 3):
        put(store, n)

    result = run("delete", url, key_of(1), key_of(3))

    assert result.exit_code == 0
    assert "deleted 2 sessions" in result.stdout
    assert [store.load(key_of(n)) is None for n in (1, 2, 3)] == [True, False, True]


def test_delete_of_a_missing_key_fails_after_deleting_the_others(
    run: Run, filled: tuple[str, Any]
) -> None:
    url, store = filled
    put(store, 1)

    result = run("delete", url, key_of(1), key_of(2))

    assert result.exit_code == 1
    assert single_error_line(result) == f"Error: not found: {key_of(2)}"
    assert store.load(key_of(1)) is None


def test_delete_needs_at_least_one_id(run: Run) -> None:
    result = run("delete", "memory://")

    assert result.exit_code == 2


def test_delete_of_a_malformed_id_deletes_nothing(run: Run, filled: tuple[str, Any]) -> None:
    url, store = filled
    put(store, 1)

    result = run("delete", url, key_of(1), "not-a-key")

    assert result.exit_code == 2
    assert store.load(key_of(1)) is not None


# -- revoke-user ------------------------------------------------------------------------


def test_revoke_user_deletes_every_session_of_that_user(run: Run, filled: tuple[str, Any]) -> None:
    url, store = filled
    put(store, 1, user="alice")
    put(store, 2, user="alice")
    put(store, 3, user="bob")

    result = run("revoke-user", url, "alice")

    assert result.exit_code == 0
    assert "revoked 2 sessions of user 'alice'" in result.stdout
    assert store.ids_for_user("alice") == []
    assert store.ids_for_user("bob") == [key_of(3)]


def test_revoke_user_of_an_unknown_user_revokes_nothing(run: Run, filled: tuple[str, Any]) -> None:
    url, store = filled
    put(store, 1, user="alice")

    result = run("revoke-user", url, "mallory")

    assert result.exit_code == 0
    assert "revoked 0 sessions" in result.stdout
    assert store.count() == 1


def test_revoke_user_of_an_unknown_scheme_is_a_usage_error(run: Run) -> None:
    result = run("revoke-user", "nosuchstore://", "alice")

    assert result.exit_code == 2


# -- purge ------------------------------------------------------------------------------


def test_purge_removes_expired_sessions_only(run: Run, filled: tuple[str, Any]) -> None:
    url, store = filled
    put(store, 1, expires_in=-60)
    put(store, 2, expires_in=-1)
    put(store, 3, expires_in=HOUR)

    result = run("purge", url)

    assert result.exit_code == 0
    assert "expired session" in result.stdout  # stores with native TTL report 0
    assert store.count() == 1


def test_purge_reports_how_many_it_removed(run: Run, stores: Stores) -> None:
    store = stores.shared["memory://purge"] = sw.open_store("memory://")
    put(store, 1, expires_in=-60)
    put(store, 2, expires_in=-1)

    result = run("purge", "memory://purge")

    assert "purged 2 expired sessions" in result.stdout


def test_purge_all_deletes_every_session_in_batches(run: Run, filled: tuple[str, Any]) -> None:
    url, store = filled
    for n in range(7):
        put(store, n)

    result = run("purge", url, "--all", "--yes", "--batch-size", "3")

    assert result.exit_code == 0
    assert "deleted 7 sessions" in result.stdout
    assert store.count() == 0


def test_purge_all_asks_first_and_stops_on_no(run: Run, filled: tuple[str, Any]) -> None:
    url, store = filled
    put(store, 1)

    result = run("purge", url, "--all", input="n\n")

    assert result.exit_code == 1
    assert "delete all 1 live sessions?" in result.stderr
    assert store.count() == 1


def test_purge_all_deletes_after_a_yes(run: Run, filled: tuple[str, Any]) -> None:
    url, store = filled
    put(store, 1)

    result = run("purge", url, "--all", input="y\n")

    assert result.exit_code == 0
    assert store.count() == 0


def test_purge_of_an_unreachable_server_fails_with_one_line(run: Run) -> None:
    result = run("purge", "redis://127.0.0.1:1/0")

    assert result.exit_code == 1
    assert single_error_line(result).startswith("Error: ")
