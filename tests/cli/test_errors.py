"""How failures become one-line messages (``sessionware.cli._common.explain``)."""

from __future__ import annotations

from sessionware.cli._common import CliError, CliUsageError, explain, resolve_key
from sessionware.core.signing import store_key
from sessionware.stores.registry import UnknownStoreError, install_hint


def test_a_missing_driver_names_the_extra_to_install() -> None:
    error = explain(ModuleNotFoundError("No module named 'redis'", name="redis"))

    assert isinstance(error, CliError)
    assert error.message == f"the 'redis' package is missing: {install_hint('redis')}"


def test_a_missing_sql_driver_names_its_extra() -> None:
    error = explain(ModuleNotFoundError("No module named 'psycopg'", name="psycopg"))

    assert install_hint("postgres") in error.message


def test_a_store_module_missing_from_sessionware_says_so() -> None:
    error = explain(ModuleNotFoundError("x", name="sessionware.stores.sqlite"))

    assert "sessionware.stores.sqlite" in error.message


def test_an_unknown_scheme_is_a_usage_error_listing_known_ones() -> None:
    error = explain(UnknownStoreError("no session store is registered for 'x' URLs"))

    assert isinstance(error, CliUsageError)
    assert error.exit_code == 2
    assert "sqlite://" in error.message


def test_a_multi_line_driver_message_keeps_its_first_line() -> None:
    error = explain(OSError("connection refused\n(Background on this error at: ...)"))

    assert error.message == "connection refused"
    assert error.exit_code == 1


def test_a_cookie_value_resolves_to_its_store_key() -> None:
    session_id = "A" * 43

    assert resolve_key(f"{session_id}.1800000000.{'s' * 43}") == store_key(session_id)
    assert resolve_key(session_id) == store_key(session_id)
    assert resolve_key("ab" * 20) == "ab" * 20
