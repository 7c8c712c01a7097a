"""Installing missing server packages: when it cannot, it says why; while it does,
the packages' own services are not started."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests import debian_packages


def test_without_root_install_says_it_needs_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    reason = debian_packages.install(["postgresql"])
    assert reason is not None
    assert "root" in reason or "apt-get" in reason


def test_service_starts_are_denied_while_installing(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    policy = tmp_path / "policy-rc.d"
    monkeypatch.setattr(debian_packages, "POLICY_RC_D", policy)
    with debian_packages.services_not_started():
        assert policy.read_text().rstrip().endswith("exit 101")
    assert not policy.exists()


def test_a_policy_of_the_system_is_left_as_it_is(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    policy = tmp_path / "policy-rc.d"
    policy.write_text("#!/bin/sh\nexit 0\n")
    monkeypatch.setattr(debian_packages, "POLICY_RC_D", policy)
    with debian_packages.services_not_started():
        pass
    assert policy.read_text() == "#!/bin/sh\nexit 0\n"
