"""From Django's db session backend (on SQLite and PostgreSQL, writing real
sessions through Django's own login) to sessionware's Django engine:
``sessionware import-sessions django``, then the engine's transition mode
(``SESSIONWARE_TRANSITION_FROM = "django"``). Each step runs in a process of its
own, as Django configures itself once per process (``django_driver``)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from .conftest import tomorrow, yesterday

ROOT = Path(__file__).resolve().parents[2]
SETTINGS = "tests.importers.django_settings"
SESSIONWARE_ENGINE = "sessionware.integrations.django"
DB_ENGINE = "django.contrib.sessions.backends.db"
CACHE_ENGINE = "django.contrib.sessions.backends.cache"


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": SETTINGS, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def step(env: dict[str, str], *args: str) -> Any:
    done = run(env, "-m", "tests.importers.django_driver", *args)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """``SW_DJANGO_DB``: an SQLite file, or a PostgreSQL schema of this test's own."""
    if request.param == "sqlite":
        yield str(tmp_path / "django.db")
        return
    postgres_url: str = request.getfixturevalue("postgres_url")
    dsn = postgres_url.replace("postgresql+psycopg://", "postgresql://")
    schema = f"sw_import_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(dsn, autocommit=True) as connection:
        connection.execute(f"CREATE SCHEMA {schema}")
    try:
        yield f"postgres:{schema}"
    finally:
        with psycopg.connect(dsn, autocommit=True) as connection:
            connection.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture
def peer_engine() -> str:
    """The Django session backend before the switch (one test runs the cache one too)."""
    return DB_ENGINE


@pytest.fixture
def switch(
    database: str, target_url: str, peer_engine: str, request: pytest.FixtureRequest
) -> dict[str, str]:
    """A user logged in under Django's ``peer_engine`` backend, whose sessions were
    then imported; the environment of the switched app, and the user's old cookie."""
    env = {"SW_DJANGO_DB": database, "SW_TARGET": target_url, "SW_DJANGO_ENGINE": peer_engine}
    if peer_engine == CACHE_ENGINE:
        prefix: str = request.getfixturevalue("redis_prefix")
        env["SW_DJANGO_CACHE"] = f"{request.getfixturevalue('redis_url')} {prefix}"
    cookie = step(env, "peer")["cookie"]
    done = run(env, "-m", "sessionware.cli", "import-sessions", "django", target_url,
               "--settings", SETTINGS)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "imported 1" in done.stdout
    assert "verified: 1 of 1" in done.stdout
    return {**env, "SW_DJANGO_ENGINE": SESSIONWARE_ENGINE, "cookie": cookie}


def switched(switch: dict[str, str], until: float, cookie: str, **env: str) -> Any:
    env = {**{key: value for key, value in switch.items() if key != "cookie"}, **env}
    return step({**env, "SW_UNTIL": str(until)}, "switched", cookie)


@pytest.mark.parametrize("peer_engine", [DB_ENGINE, CACHE_ENGINE])
def test_a_user_logged_in_under_django_stays_logged_in(switch: dict[str, str]) -> None:
    seen = switched(switch, tomorrow(), switch["cookie"])
    assert seen["first"] == {"user": "ada", "cart": [1, 2]}
    assert seen["second"] == {"user": "ada", "cart": [1, 2]}  # with sessionware's cookie
    assert seen["cookie"] != switch["cookie"]
    assert seen["user_sessions"] == 1  # bound to the user: revoke_user finds it


def test_a_django_cookie_of_another_name_is_deleted_once_converted(
    switch: dict[str, str],
) -> None:
    seen = switched(switch, tomorrow(), switch["cookie"], SW_RENAMED="1")
    assert seen["first"] == {"user": "ada", "cart": [1, 2]}
    assert seen["peer_cookie_deleted"]
    assert seen["second"] == {"user": "ada", "cart": [1, 2]}  # on the "sw" cookie alone


def test_a_django_session_key_converts_once(switch: dict[str, str]) -> None:
    switched(switch, tomorrow(), switch["cookie"])
    replay = switched(switch, tomorrow(), switch["cookie"])
    assert replay["first"] == {"user": "", "cart": None}


def test_a_forged_django_session_key_gets_a_fresh_session_and_no_write(
    switch: dict[str, str],
) -> None:
    seen = switched(switch, tomorrow(), "a" * 32)
    assert seen["first"] == {"user": "", "cart": None}
    assert seen["writes"] == 0
    assert seen["live_sessions"] == [1, 1]  # the import only


def test_after_the_transition_a_django_session_key_is_refused(switch: dict[str, str]) -> None:
    seen = switched(switch, yesterday(), switch["cookie"])
    assert seen["first"] == {"user": "", "cart": None}
    assert seen["writes"] == 0
    assert seen["live_sessions"] == [1, 1]
