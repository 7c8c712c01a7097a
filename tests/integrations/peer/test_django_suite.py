"""Django's own session tests pass on sessionware's engine, on every store.

``tests/sessions_tests`` comes from Django's sdist at the installed version (cached
under ``.peer-suites/``) and runs in one subprocess per store; see ``django_runner``
for the selection and ``django_peer_tests`` for the swap. A test may fail only if
the framework page's "Differences from Django" lists it.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from . import django_runner


@pytest.fixture(scope="module")
def suite() -> Path:
    version = django_runner.django_version()
    try:
        sdist = django_runner.fetch_sdist(version)
    except django_runner.Unavailable as exc:
        pytest.skip(str(exc))
    return django_runner.unpack(sdist, version)


@pytest.fixture(scope="module", params=list(django_runner.STORES))
def run(request: pytest.FixtureRequest, suite: Path) -> django_runner.Run:
    return django_runner.run(suite, request.param)


def test_every_selected_django_test_ran(run: django_runner.Run) -> None:
    # A test renamed or gone in another Django version must be noticed, not skipped.
    per_class = Counter(o.name.split(".")[0] for o in run.outcomes)
    assert per_class == django_runner.EXPECTED_COUNTS


def test_djangos_session_tests_pass_except_documented_differences(
    run: django_runner.Run,
) -> None:
    allowed = django_runner.documented_differences()
    failing = {o.name: o.message for o in run.outcomes if o.outcome != "passed"}
    assert {n: m for n, m in failing.items() if n.split(".")[-1] not in allowed} == {}


def test_the_django_tests_ran_on_sessionwares_manager(run: django_runner.Run) -> None:
    assert run.opens > 100
