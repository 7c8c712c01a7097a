"""``Metrics``: counts of session events and latencies of store operations.

One object is both a listener (``manager.add_listener(metrics)``: requests,
creations, saves, errors...) and a source of store proxies
(``metrics.wrap_store(store)``: the time of every store operation). ``snapshot()``
returns plain data for dashboards, logs or an exporter::

    metrics = Metrics()
    manager = SessionManager(metrics.wrap_store(store), secret_key=...)
    manager.add_listener(metrics)
    metrics.snapshot()["operations"]["load"]["p95_ms"]

With ``prometheus_client`` installed (the ``prometheus`` extra),
``PrometheusExporter(metrics)`` publishes the same numbers to a Prometheus registry.
"""

from __future__ import annotations

import inspect
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from typing import Any

from .core.events import HOOKS
from .core.visits import VisitTracker
from .stores.base import STORE_OPERATIONS, AsyncStore, Store, StoreProxy, unwrapped

__all__ = ["Metrics", "PrometheusExporter"]

TIMED_OPERATIONS = tuple(op for op in STORE_OPERATIONS if op not in ("ids", "close"))


class _Operation:
    __slots__ = ("count", "errors", "samples", "total")

    def __init__(self, window: int) -> None:
        self.count = 0
        self.errors = 0
        self.total = 0.0
        self.samples: deque[float] = deque(maxlen=window)


def _percentile(ordered: list[float], fraction: float) -> float:
    if not ordered:
        return 0.0
    index = min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))
    return ordered[index]


class Metrics:
    """Thread-safe counters; latency percentiles over the last ``window`` samples.

    As a listener it has every hook (``on_create``, ``on_load``, ... : one counter
    each, made by ``_counter`` below the class)."""

    def __init__(self, window: int = 2048, clock: Callable[[], float] = time.time) -> None:
        self._window = window
        self._clock = clock
        self._started = clock()
        self._lock = threading.Lock()
        self._events: dict[str, int] = dict.fromkeys(HOOKS, 0)
        self._operations: dict[str, _Operation] = {
            op: _Operation(window) for op in TIMED_OPERATIONS
        }
        self._near_cache: Any = None  # the CacheStats of a near-cached store

    # -- the store side -------------------------------------------------------------

    def observe(self, operation: str, seconds: float, failed: bool = False) -> None:
        with self._lock:
            stats = self._operations[operation]
            stats.count += 1
            stats.total += seconds
            stats.samples.append(seconds)
            if failed:
                stats.errors += 1

    def wrap_store(self, store: Store | AsyncStore | StoreProxy) -> StoreProxy:
        """A proxy of ``store`` (sync or async) that times every operation."""
        is_async = inspect.iscoroutinefunction(store.load)
        proxy_class = _AsyncTimingProxy if is_async else _TimingProxy
        proxy: StoreProxy = proxy_class(store, self)
        self.watch_near_cache(store)
        return proxy

    def watch_near_cache(self, store: object) -> None:
        """Report the hits, misses, invalidations and resets of the near cache of
        ``store`` (or of a store it wraps) as ``snapshot()["near_cache"]``;
        ``wrap_store`` does it for the store it wraps."""
        for layer in unwrapped(store):
            stats = getattr(getattr(layer, "cache", None), "stats", None)
            if stats is not None and callable(getattr(stats, "snapshot", None)):
                self._near_cache = stats
                return

    # -- reading ----------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        """``{"uptime_s", "events": {hook: n}, "operations": {op: {"count", "errors",
        "mean_ms", "p50_ms", "p95_ms", "p99_ms"}}}``; rates come from diffing two."""
        with self._lock:
            events = dict(self._events)
            raw = {
                op: (s.count, s.errors, s.total, sorted(s.samples))
                for op, s in self._operations.items()
            }
        operations = {
            op: {
                "count": count,
                "errors": errors,
                "mean_ms": 1000 * total / count if count else 0.0,
                "p50_ms": 1000 * _percentile(ordered, 0.50),
                "p95_ms": 1000 * _percentile(ordered, 0.95),
                "p99_ms": 1000 * _percentile(ordered, 0.99),
            }
            for op, (count, errors, total, ordered) in raw.items()
        }
        result: dict[str, Any] = {
            "uptime_s": self._clock() - self._started,
            "events": events,
            "operations": operations,
        }
        if self._near_cache is not None:
            result["near_cache"] = self._near_cache.snapshot()
        return result


def _counter(hook: str) -> Callable[..., None]:
    """A listener hook of ``Metrics`` that counts its calls, whatever their arguments."""

    def count(self: Metrics, *args: object) -> None:
        with self._lock:
            self._events[hook] += 1

    count.__name__ = hook
    count.__qualname__ = f"Metrics.{hook}"
    return count


# Every listener hook, so a new one in HOOKS is counted too.
for _hook in HOOKS:
    setattr(Metrics, _hook, _counter(_hook))
del _hook


class _MetricsProxy(StoreProxy):
    def __init__(self, store: Store | AsyncStore | StoreProxy, metrics: Metrics) -> None:
        self.metrics = metrics
        super().__init__(store)


def _timed(operation: str) -> Callable[..., Any]:
    def timed(self: _MetricsProxy, call: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        failed = True
        try:
            result = call(*args, **kwargs)
            failed = False
            return result
        finally:
            self.metrics.observe(operation, time.perf_counter() - started, failed)

    return timed


def _timed_async(operation: str) -> Callable[..., Any]:
    async def timed(
        self: _MetricsProxy, call: Callable[..., Any], *args: Any, **kwargs: Any
    ) -> Any:
        started = time.perf_counter()
        failed = True
        try:
            result = await call(*args, **kwargs)
            failed = False
            return result
        finally:
            self.metrics.observe(operation, time.perf_counter() - started, failed)

    return timed


# Built with type() so StoreProxy.__init_subclass__ sees every operation as overridden.
_TimingProxy = type("_TimingProxy", (_MetricsProxy,), {op: _timed(op) for op in TIMED_OPERATIONS})
_AsyncTimingProxy = type(
    "_AsyncTimingProxy", (_MetricsProxy,), {op: _timed_async(op) for op in TIMED_OPERATIONS}
)


class PrometheusExporter:
    """A Prometheus collector reading ``metrics`` (and, if given, a visit tracker's
    queue) at each scrape. Registers itself in ``registry`` (default: the global one)::

        PrometheusExporter(metrics, visit_tracker=manager.visit_tracker)

    Exposes ``sessionware_events_total{event}``,
    ``sessionware_store_operations_total{operation}``,
    ``sessionware_store_operation_errors_total{operation}``,
    ``sessionware_store_operation_seconds{operation}`` (a summary: count and sum),
    ``sessionware_store_operation_latency_seconds{operation,quantile}`` (recent
    p50/p95/p99), and with a tracker ``sessionware_visits_pending`` and
    ``sessionware_visits_total{outcome}``. Needs ``prometheus_client``.
    """

    def __init__(
        self,
        metrics: Metrics,
        registry: Any = None,
        *,
        visit_tracker: VisitTracker | None = None,
    ) -> None:
        try:
            from prometheus_client import REGISTRY
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise ImportError(
                "PrometheusExporter needs prometheus_client: pip install 'sessionware[prometheus]'"
            ) from exc
        self.metrics = metrics
        self.visit_tracker = visit_tracker
        self.registry = REGISTRY if registry is None else registry
        self.registry.register(self)

    def unregister(self) -> None:
        self.registry.unregister(self)

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import (
            CounterMetricFamily,
            GaugeMetricFamily,
            SummaryMetricFamily,
        )

        snapshot = self.metrics.snapshot()
        events = CounterMetricFamily(
            "sessionware_events", "Session listener events by hook.", labels=["event"]
        )
        for hook, count in snapshot["events"].items():
            events.add_metric([hook.removeprefix("on_")], count)
        yield events
        calls = CounterMetricFamily(
            "sessionware_store_operations", "Store operations.", labels=["operation"]
        )
        errors = CounterMetricFamily(
            "sessionware_store_operation_errors",
            "Store operations that raised.",
            labels=["operation"],
        )
        seconds = SummaryMetricFamily(
            "sessionware_store_operation_seconds", "Store operation time.", labels=["operation"]
        )
        latency = GaugeMetricFamily(
            "sessionware_store_operation_latency_seconds",
            "Recent store operation latency percentiles.",
            labels=["operation", "quantile"],
        )
        for operation, stats in snapshot["operations"].items():
            calls.add_metric([operation], stats["count"])
            errors.add_metric([operation], stats["errors"])
            total = stats["mean_ms"] * stats["count"] / 1000
            seconds.add_metric([operation], count_value=stats["count"], sum_value=total)
            for quantile in ("50", "95", "99"):
                value = stats[f"p{quantile}_ms"] / 1000
                latency.add_metric([operation, f"0.{quantile}"], value)
        yield from (calls, errors, seconds, latency)
        if self.visit_tracker is not None:
            yield from self._visit_metrics(self.visit_tracker)

    @staticmethod
    def _visit_metrics(tracker: VisitTracker) -> Iterator[Any]:
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        yield GaugeMetricFamily(
            "sessionware_visits_pending", "Visit touches queued, not yet written.", len(tracker)
        )
        outcomes = CounterMetricFamily(
            "sessionware_visits", "Visit touches by outcome.", labels=["outcome"]
        )
        stats = tracker.stats
        for outcome in ("queued", "flushed", "dropped"):
            outcomes.add_metric([outcome], getattr(stats, outcome))
        yield outcomes
        yield CounterMetricFamily(
            "sessionware_visit_flush_failures", "Visit flushes that failed.", stats.failed_flushes
        )
