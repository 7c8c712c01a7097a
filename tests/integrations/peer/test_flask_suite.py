"""Flask's own session and flashing tests pass with sessionware's sessions.

They come from Flask's sdist at the installed version (cached under
``.peer-suites/``) and run in a subprocess with every app's session kept by
sessionware; see ``flask_runner`` for the selection and ``flask_peer_plugin`` for
the swap. A test may fail only if the framework page's "Differences from Flask" lists it.
"""

from __future__ import annotations

import pytest

from . import flask_runner
from .flask_runner import Outcome


@pytest.fixture(scope="module")
def outcomes() -> list[Outcome]:
    version = flask_runner.flask_version()
    try:
        sdist = flask_runner.fetch_sdist(version)
    except flask_runner.Unavailable as exc:
        pytest.skip(str(exc))
    return flask_runner.run(flask_runner.unpack(sdist, version))


def test_every_selected_flask_test_ran(outcomes: list[Outcome]) -> None:
    # A test renamed or gone in another Flask version must be noticed, not skipped.
    assert sorted(o.name for o in outcomes) == sorted(flask_runner.SELECTED)


def test_flasks_session_and_flash_tests_pass_except_documented_differences(
    outcomes: list[Outcome],
) -> None:
    allowed = flask_runner.documented_differences()
    failing = {o.name: o.message for o in outcomes if o.outcome in ("failed", "error")}
    assert {name: m for name, m in failing.items() if name not in allowed} == {}


def test_the_flask_tests_ran_on_sessionware_sessions(outcomes: list[Outcome]) -> None:
    idle = {o.name for o in outcomes if o.opens == 0}
    assert idle == set(flask_runner.OPENS_NO_SESSION)
