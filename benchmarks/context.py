"""What every scenario gets: the mode, the timing budget, the stores, the report."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import sessionware as sw

from .payload import IDLE_TIMEOUT, SECRET, session_data
from .report import Report
from .stores import STORES, RunContext, StoreSpec, Unavailable
from .timing import Budget

__all__ = ["MODES", "Bench"]

#: Timing budget and sizes per mode. ``smoke`` exists for the test suite only.
MODES: dict[str, dict[str, Any]] = {
    "smoke": {
        "budget": Budget(rounds=2, round_ms=1, warmup_ms=1, max_inner=20),
        "scale_counts": [100, 1_000],
        "slow_fill_limit": 1_000,
        "payload_sizes": [100, 1024],
        "visit_requests": 500,
        "memory_sessions": 2_000,
        "concurrency_seconds": 0.5,
    },
    "quick": {
        "budget": Budget(rounds=9, round_ms=15, warmup_ms=10),
        "scale_counts": [1_000, 10_000, 100_000],
        "slow_fill_limit": 10_000,
        "payload_sizes": [100, 1024, 10_240, 102_400],
        "visit_requests": 10_000,
        "memory_sessions": 100_000,
        "concurrency_seconds": 2.0,
    },
    "full": {
        "budget": Budget(rounds=15, round_ms=50, warmup_ms=50),
        "scale_counts": [1_000, 10_000, 100_000, 1_000_000],
        "slow_fill_limit": 100_000,
        "payload_sizes": [100, 1024, 10_240, 102_400],
        "visit_requests": 10_000,
        "memory_sessions": 100_000,
        "concurrency_seconds": 5.0,
    },
}


@dataclass
class Bench:
    mode: str
    stores: list[str]
    run: RunContext
    report: Report
    _unavailable: dict[str, str] = field(default_factory=dict)

    @property
    def budget(self) -> Budget:
        budget: Budget = MODES[self.mode]["budget"]
        return budget

    def setting(self, name: str) -> Any:
        return MODES[self.mode][name]

    def specs(self, scenario: str, *, only: tuple[str, ...] | None = None) -> Iterator[StoreSpec]:
        """The selected stores that can run here; the others are reported as skipped."""
        for name in self.stores:
            if only is not None and name not in only:
                continue
            spec = STORES[name]
            reason = self.unavailable(spec)
            if reason is None:
                self.report.config.setdefault(f"store {name}", spec.config)
                yield spec
            else:
                self.report.skip(scenario, name, reason)

    def unavailable(self, spec: StoreSpec) -> str | None:
        if spec.name not in self._unavailable:
            try:
                spec.check()
            except Unavailable as exc:
                self._unavailable[spec.name] = str(exc)
            else:
                self._unavailable[spec.name] = ""
        return self._unavailable[spec.name] or None

    def manager(self, store: Any, **options: Any) -> sw.SessionManager:
        settings: dict[str, Any] = {"secret_key": SECRET, "idle_timeout": IDLE_TIMEOUT}
        settings.update(options)
        return sw.SessionManager(store, **settings)


def stored_session(manager: sw.SessionManager, size: int = 1024) -> str:
    """Create a session with the standard payload through ``manager``; its cookie."""
    session = manager.open(None)
    session.update(session_data(size))
    cookie = manager.save_changes(session)
    assert cookie is not None
    return cookie
