"""Run ``django_peer_tests`` in this process and write one JSON outcome per test.

``python django_peer_main.py REPORT.json`` with ``DJANGO_SETTINGS_MODULE`` and
``SESSIONWARE_STORE`` set (``django_runner`` does that).
"""

from __future__ import annotations

import json
import sys
import unittest
from collections.abc import Callable
from typing import Any

import django
from django.test.runner import DiscoverRunner
from django.test.utils import setup_test_environment, teardown_test_environment


class _Recorder(unittest.TextTestResult):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.outcomes: dict[str, tuple[str, str]] = {}

    def _describe(self, err: Any, test: unittest.TestCase) -> str:
        """The failure as unittest renders it, cut to its last 2000 characters.
        ``_exc_info_to_string`` is private, so typeshed does not declare it."""
        render: Callable[[Any, unittest.TestCase], str] = getattr(self, "_exc_info_to_string")  # noqa: B009
        return render(err, test)[-2000:]

    def addSuccess(self, test: unittest.TestCase) -> None:
        super().addSuccess(test)
        self.outcomes.setdefault(test.id(), ("passed", ""))

    def addFailure(self, test: unittest.TestCase, err: Any) -> None:
        super().addFailure(test, err)
        self.outcomes[test.id()] = ("failed", self._describe(err, test))

    def addError(self, test: unittest.TestCase, err: Any) -> None:
        super().addError(test, err)
        self.outcomes[test.id()] = ("error", self._describe(err, test))

    def addSkip(self, test: unittest.TestCase, reason: str) -> None:
        super().addSkip(test, reason)
        self.outcomes[test.id()] = ("skipped", reason)

    def addSubTest(self, test: Any, subtest: Any, err: Any) -> None:
        super().addSubTest(test, subtest, err)
        if err is not None:
            self.outcomes[test.id()] = ("failed", self._describe(err, test))


def main(report: str) -> int:
    django.setup()
    setup_test_environment()
    runner = DiscoverRunner(verbosity=0, interactive=False)
    databases = runner.setup_databases()
    try:
        suite = unittest.defaultTestLoader.loadTestsFromName("django_peer_tests")
        result = unittest.TextTestRunner(resultclass=_Recorder, verbosity=0).run(suite)
        from django_peer_tests import OPENS
    finally:
        from sessionware.integrations.django import close_stores

        close_stores()
        runner.teardown_databases(databases)
        teardown_test_environment()
    assert isinstance(result, _Recorder)
    with open(report, "w") as out:
        json.dump({"outcomes": result.outcomes, "opens": OPENS.count}, out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1]))
