"""Starlette's own session tests pass with sessionware's middleware, on asyncio and trio.

They come from Starlette's sdist at the installed version (cached under
``.peer-suites/``) and run in a subprocess with
``starlette.middleware.sessions.SessionMiddleware`` swapped for sessionware's; see
``starlette_runner`` and ``starlette_peer_plugin``. A test may fail only if the
framework page's "Differences from Starlette" lists it.
"""

from __future__ import annotations

import os

import pytest

from . import starlette_runner
from .starlette_runner import Outcome

pytest.importorskip("trio", reason="Starlette's tests run on trio too: pip install trio")

#: Starlette 1.x: 14 tests on each backend, and one that needs no app.
EXPECTED_COUNT = 29
NO_APP = {"test_session_tracks_modification"}


@pytest.fixture(scope="module")
def outcomes() -> list[Outcome]:
    version = starlette_runner.starlette_version()
    try:
        sdist = starlette_runner.fetch_sdist(version)
    except starlette_runner.Unavailable as exc:
        if os.environ.get("CI"):
            raise  # CI reaches PyPI: a failed download there is a failure
        pytest.skip(str(exc))
    return starlette_runner.run(starlette_runner.unpack(sdist, version))


def test_every_starlette_session_test_ran_on_both_backends(outcomes: list[Outcome]) -> None:
    names = [o.name for o in outcomes]
    assert len(names) == EXPECTED_COUNT
    for backend in starlette_runner.BACKENDS:
        assert sum(f"[{backend}" in name for name in names) == (EXPECTED_COUNT - 1) // 2


def test_starlettes_session_tests_pass_except_documented_differences(
    outcomes: list[Outcome],
) -> None:
    allowed = starlette_runner.documented_differences()
    failing = {o.name: o.message for o in outcomes if o.outcome != "passed"}
    assert {name: m for name, m in failing.items() if name not in allowed} == {}


def test_the_starlette_tests_ran_on_sessionware_middleware(outcomes: list[Outcome]) -> None:
    idle = {o.name for o in outcomes if o.middlewares == 0}
    assert idle == NO_APP
