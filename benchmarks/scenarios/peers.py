"""Scenario 3: sessionware against the session libraries users pick today.

For each store and framework: the bare app, sessionware's integration for that
framework, and each peer backend on the same store run side by side; a session's
cost is the median per-round difference from the bare app. Speed-up = peer cost /
sessionware cost in the same framework. Target: >= 2x against the fastest peer on
each store (cookie-only sessions are reported for reference, not as a peer on a
store).

Frameworks and what sessionware runs as there: plain WSGI (Beaker's
``SessionMiddleware`` vs ``sessionware.wsgi.SessionMiddleware``), Flask
(Flask-Session vs ``sessionware.integrations.flask.init_app``), Django (its own
``SESSION_ENGINE`` backends vs ``SESSION_ENGINE = "sessionware.integrations.django"``,
both through Django's ``SessionMiddleware``), Starlette (starsessions vs
``sessionware.integrations.starlette.SessionMiddleware``, ASGI).
"""

from __future__ import annotations

import dataclasses
import importlib
import importlib.util
from dataclasses import dataclass
from typing import Any

import sessionware as sw

from ..context import Bench
from ..peers import Contestant, Skip
from ..report import Row
from ..stores import StoreSpec, open_target
from ..timing import compare_batches

SCENARIO = "3 peers"
TARGET = 2.0
#: sessionware with the near cache on (``?near_cache=on``), on the stores that have
#: one, runs in the same rounds; its targets against the fastest peer, by request.
NEAR_CACHE_STORES = ("redis", "postgresql")
NEAR_CACHE_TARGETS = {"read": 3.0, "write": 2.0}
FRAMEWORKS = (
    "benchmarks.peers.beaker_apps",
    "benchmarks.peers.flask_apps",
    "benchmarks.peers.django_apps",
    "benchmarks.peers.starlette_apps",
)


@dataclass
class Outcome:
    peer: str
    framework: str
    kind: str
    peer_us: float
    sessionware_us: float
    cached_us: float | None = None  # sessionware with the near cache on

    @property
    def speedup(self) -> float:
        return self.peer_us / self.sessionware_us if self.sessionware_us > 0 else float("inf")


def run(bench: Bench) -> None:
    modules = [importlib.import_module(name) for name in FRAMEWORKS]
    try:
        for spec in bench.specs(SCENARIO):
            target = open_target(spec, bench.run, with_raw=False)
            manager = bench.manager(target.store)
            cached = _near_cached(bench, spec)
            try:
                outcomes: list[Outcome] = []
                for module in modules:
                    outcomes += _framework(bench, spec, module, manager, cached)
                _summarise(bench, spec.name, outcomes)
            finally:
                manager.close()
                target.close()
                if cached is not None:
                    cached[1].close()
                    cached[0].discard(cached[2])
    finally:
        for module in modules:
            module.cleanup()


def _near_cached(bench: Bench, spec: StoreSpec) -> tuple[StoreSpec, Any, str] | None:
    """The near-cached twin of ``spec`` (a spec whose URLs turn the cache on), a
    manager on a store of it, and that store's URL; None for other stores."""
    if spec.name not in NEAR_CACHE_STORES:
        return None
    plain = spec.url

    def url(ctx: Any) -> str:
        return plain(ctx) + "&near_cache=on"

    def discard(cached_url: str) -> None:
        spec.discard(cached_url.replace("&near_cache=on", ""))

    twin = dataclasses.replace(spec, url=url, discard=discard)
    store_url = twin.url(bench.run)
    return twin, bench.manager(sw.open_store(store_url)), store_url


def _framework(
    bench: Bench,
    spec: StoreSpec,
    module: Any,
    manager: Any,
    cached: tuple[StoreSpec, Any, str] | None = None,
) -> list[Outcome]:
    store = spec.name
    reason = module.available()
    if reason:
        bench.report.skip(SCENARIO, store, f"{module.NAME}: {reason}")
        return []
    module.setup(bench.run)
    contestants: list[Contestant] = []
    for item in module.peers(store, bench.run):
        if isinstance(item, Skip):
            bench.report.skip(SCENARIO, store, f"{item.label}: {item.reason}")
        else:
            contestants.append(item)
    if not contestants:
        return []
    ours = ours_cached = None
    try:
        ours = module.sessionware(manager, spec, bench.run)
        contenders = {"bare": module.bare(), "sw read": ours.read, "sw write": ours.write}
        if cached is not None:
            ours_cached = module.sessionware(cached[1], cached[0], bench.run)
            contenders["swnc read"] = ours_cached.read
            contenders["swnc write"] = ours_cached.write
        for contestant in contestants:
            contenders[f"{contestant.label} read"] = contestant.read
            contenders[f"{contestant.label} write"] = contestant.write
            bench.report.config[f"peer {contestant.label} ({store})"] = contestant.config
        bench.report.config[f"sessionware in {module.NAME} ({store})"] = ours.config
        result = compare_batches(contenders, bench.budget)
    finally:
        for contestant in contestants:
            contestant.close()
        if ours is not None:
            ours.close()
        if ours_cached is not None:
            ours_cached.close()
    outcomes = []
    for contestant in contestants:
        for kind in ("read", "write"):
            outcome = Outcome(
                contestant.label,
                module.NAME,
                kind,
                result.difference_us(f"{contestant.label} {kind}", "bare"),
                result.difference_us(f"sw {kind}", "bare"),
                result.difference_us(f"swnc {kind}", "bare") if ours_cached else None,
            )
            outcomes.append(outcome)
            bench.report.add(
                Row(
                    SCENARIO,
                    store,
                    f"{module.NAME}: speed-up vs {outcome.peer}, {kind} request",
                    outcome.speedup,
                    "x",
                    detail={
                        "peer_us": outcome.peer_us,
                        "sessionware_us": outcome.sessionware_us,
                        "framework": module.NAME,
                        "bare_request_us": result.median_us("bare"),
                        "near_cache_us": outcome.cached_us,
                    },
                )
            )
    return outcomes


def _summarise(bench: Bench, store: str, outcomes: list[Outcome]) -> None:
    for kind in ("read", "write"):
        candidates = [o for o in outcomes if o.kind == kind and "reference" not in o.peer]
        if not candidates:
            continue
        fastest = min(candidates, key=lambda o: o.peer_us)
        bench.report.add(
            Row(
                SCENARIO,
                store,
                f"speed-up vs fastest peer ({fastest.peer}), {kind} request",
                fastest.speedup,
                "x",
                f">= {TARGET}",
                fastest.speedup >= TARGET,
                {"peer_us": fastest.peer_us, "sessionware_us": fastest.sessionware_us},
            )
        )
        if fastest.cached_us is not None:
            _near_cache_row(bench, store, kind, fastest)


def _near_cache_row(bench: Bench, store: str, kind: str, fastest: Outcome) -> None:
    assert fastest.cached_us is not None
    # A cached read can cost less than the rounds' noise: the cost is floored at 1 us.
    speedup = fastest.peer_us / max(fastest.cached_us, 1.0)
    target = NEAR_CACHE_TARGETS[kind]
    bench.report.add(
        Row(
            SCENARIO,
            store,
            f"near cache on ({fastest.framework}): speed-up vs fastest peer "
            f"({fastest.peer}), {kind} request",
            speedup,
            "x",
            f">= {target}",
            speedup >= target,
            {"peer_us": fastest.peer_us, "near_cache_us": fastest.cached_us},
        )
    )
