"""Listeners: each hook fires at its moment, in the sync and the async manager; a
failing listener never breaks a request; built-in logging and Prometheus export."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

import sessionware as sw
from sessionware.core.events import HOOKS
from sessionware.listeners import LoggingListener, Metrics
from sessionware.metrics import PrometheusExporter
from sessionware.stores.memory import AsyncMemoryStore, MemoryStore
from sessionware.testing import FaultInjector

from .conftest import SECRET, Clock


class Recorder:
    """Implements every hook; records the hook names in order."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    def __getattr__(self, name: str) -> Any:
        if name not in HOOKS:
            raise AttributeError(name)
        return lambda *args: self.seen.append(name)

    def take(self) -> list[str]:
        seen, self.seen = self.seen, []
        return seen


def sync_manager(store: Any, clock: Clock) -> sw.SessionManager:
    return sw.SessionManager(store, secret_key=SECRET, idle_timeout=600, clock=clock)


def test_every_hook_fires_at_its_moment_in_the_sync_manager(clock: Clock) -> None:
    store = FaultInjector(MemoryStore(clock=clock))
    manager = sync_manager(store, clock)
    recorder = Recorder()
    manager.add_listener(recorder)

    with manager.scope(None) as session:
        session["n"] = 1
    assert recorder.take() == ["on_visit", "on_create", "on_save"]
    cookie = session.cookie_value

    with manager.scope(cookie) as session:
        assert recorder.take() == ["on_visit"]  # the sync manager loads on first use
        session["n"] = 2
        assert recorder.take() == ["on_load"]
    assert recorder.take() == ["on_save"]

    with pytest.raises(KeyError), manager.scope(cookie) as session:
        session["n"] = 3
        raise KeyError("the request failed")
    assert recorder.take() == ["on_visit", "on_load", "on_forget"]

    with manager.scope(cookie) as session:
        manager.regenerate(session)
    assert recorder.take() == ["on_visit", "on_load", "on_regenerate", "on_save"]
    cookie = session.cookie_value

    with manager.scope(cookie) as session:
        manager.invalidate(session)  # deleting needs no load
    assert recorder.take() == ["on_visit", "on_invalidate"]

    with manager.scope(cookie) as session:
        session.get("n")
    assert recorder.take() == ["on_visit", "on_expire"]

    store.fail["load"] = ConnectionError
    with pytest.raises(ConnectionError), manager.scope(cookie) as session:
        session.get("n")
    assert recorder.take() == ["on_visit", "on_error", "on_forget"]
    manager.close()


def test_every_hook_fires_at_its_moment_in_the_async_manager(clock: Clock) -> None:
    async def main() -> None:
        store = FaultInjector(AsyncMemoryStore(MemoryStore(clock=clock)))
        manager = sw.AsyncSessionManager(store, secret_key=SECRET, idle_timeout=600, clock=clock)
        recorder = Recorder()
        manager.add_listener(recorder)

        async with manager.scope(None) as session:
            session["n"] = 1
        assert recorder.take() == ["on_visit", "on_create", "on_save"]
        cookie = session.cookie_value

        async with manager.scope(cookie) as session:
            assert recorder.take() == ["on_load", "on_visit"]  # loaded at open()
            session["n"] = 2
        assert recorder.take() == ["on_save"]

        with pytest.raises(KeyError):
            async with manager.scope(cookie) as session:
                raise KeyError("the request failed")
        assert recorder.take() == ["on_load", "on_visit", "on_forget"]

        async with manager.scope(cookie) as session:
            await manager.regenerate(session)
        assert recorder.take() == ["on_load", "on_visit", "on_regenerate", "on_save"]
        cookie = session.cookie_value

        async with manager.scope(cookie) as session:
            await manager.invalidate(session)
        assert recorder.take() == ["on_load", "on_visit", "on_invalidate"]

        async with manager.scope(cookie) as session:
            pass
        assert recorder.take() == ["on_expire", "on_visit"]

        store.fail["load"] = ConnectionError
        with pytest.raises(ConnectionError):
            async with manager.scope(cookie):
                pass
        assert recorder.take() == ["on_error"]
        await manager.close()

    asyncio.run(main())


def test_a_failed_visit_flush_is_reported_to_on_error(clock: Clock) -> None:
    store = FaultInjector(MemoryStore(clock=clock), fail={"touch_many": TimeoutError})
    manager = sync_manager(store, clock)
    errors: list[tuple[str, type[BaseException]]] = []

    class Errors:
        def on_error(self, operation: str, exc: BaseException) -> None:
            errors.append((operation, type(exc)))

    manager.add_listener(Errors())
    with manager.scope(None) as session:
        session["n"] = 1
    clock.advance(120)
    with manager.scope(session.cookie_value) as again:
        again.get("n")
    with pytest.raises(TimeoutError):
        manager.flush_visits()
    assert errors == [("touch_many", TimeoutError)]
    store.heal()
    manager.close()


@pytest.mark.parametrize("hook", [h for h in HOOKS if h != "on_error"])
def test_a_listener_raising_in_any_hook_does_not_break_the_request(
    hook: str, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    manager = sync_manager(MemoryStore(clock=clock), clock)
    reported: list[str] = []

    def broken(*args: Any) -> None:
        raise RuntimeError(f"bug in {hook}")

    class Broken:
        pass

    setattr(Broken, hook, staticmethod(broken))

    class Errors:
        def on_error(self, operation: str, exc: BaseException) -> None:
            reported.append(operation)

    manager.add_listener(Broken())
    manager.add_listener(Errors())
    for hook_name in HOOKS[:-1]:  # every hook but on_error itself
        manager.events.emit(hook_name, *_args_for(hook_name, manager))
    assert reported == [hook]
    assert f"bug in {hook}" in caplog.text
    manager.close()


def _args_for(hook: str, manager: sw.SessionManager) -> tuple[Any, ...]:
    session = manager.core.fresh(0.0)
    return {
        "on_regenerate": (session, "0" * 40),
        "on_expire": ("0" * 40,),
        "on_error": ("load", RuntimeError("x")),
    }.get(hook, (session,))


def test_a_raising_on_error_is_logged_and_does_not_recurse(
    clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    calls: list[str] = []

    class BrokenErrors:
        def on_error(self, operation: str, exc: BaseException) -> None:
            calls.append(operation)
            raise RuntimeError("on_error is broken too")

    class BrokenCreate:
        def on_create(self, session: sw.Session) -> None:
            raise ValueError("on_create is broken")

    manager = sync_manager(MemoryStore(clock=clock), clock)
    manager.add_listener(BrokenErrors())
    manager.add_listener(BrokenCreate())
    with manager.scope(None) as session:
        session["n"] = 1
    assert session.cookie_value is not None
    assert calls == ["on_create"]
    assert "on_error is broken too" in caplog.text
    manager.close()


def test_a_removed_listener_hears_nothing_more(clock: Clock) -> None:
    manager = sync_manager(MemoryStore(clock=clock), clock)
    recorder = Recorder()
    manager.add_listener(recorder)
    manager.remove_listener(recorder)
    with manager.scope(None) as session:
        session["n"] = 1
    assert recorder.seen == []
    assert not manager.events.has("on_save")
    manager.close()


def test_removing_a_listener_that_was_never_added_is_an_error(clock: Clock) -> None:
    manager = sync_manager(MemoryStore(clock=clock), clock)
    with pytest.raises(ValueError, match="not in list"):
        manager.remove_listener(Recorder())
    manager.close()


# -- LoggingListener ------------------------------------------------------------------


def test_the_logging_listener_logs_each_hook_on_sessionware_events(
    clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    manager = sync_manager(MemoryStore(clock=clock), clock)
    manager.add_listener(LoggingListener())
    with caplog.at_level(logging.DEBUG, logger="sessionware.events"):
        with manager.scope(None) as session:
            session["n"] = 1
        with manager.scope(session.cookie_value) as again:
            manager.invalidate(again)
    records = [(r.name, r.levelno, r.getMessage().split(":")[0]) for r in caplog.records]
    assert records == [
        ("sessionware.events", logging.DEBUG, "on_visit"),
        ("sessionware.events", logging.DEBUG, "on_create"),
        ("sessionware.events", logging.DEBUG, "on_save"),
        ("sessionware.events", logging.DEBUG, "on_visit"),
        ("sessionware.events", logging.INFO, "on_invalidate"),
    ]
    assert session.id not in caplog.text  # the secret id is never logged
    manager.close()


def test_the_logging_listener_levels_are_configurable(caplog: pytest.LogCaptureFixture) -> None:
    listener = LoggingListener(level=logging.INFO, levels={"on_error": logging.ERROR})
    with caplog.at_level(logging.INFO, logger="sessionware.events"):
        listener.on_expire("a" * 40)
        listener.on_error("load", ConnectionError("refused"))
    assert [r.levelno for r in caplog.records] == [logging.INFO, logging.ERROR]
    assert "refused" in caplog.text


def test_the_logging_listener_refuses_unknown_hooks() -> None:
    with pytest.raises(ValueError, match="on_sav"):
        LoggingListener(levels={"on_sav": logging.INFO})


def test_the_logging_listener_does_not_load_a_lazy_session(clock: Clock) -> None:
    store = FaultInjector(MemoryStore(clock=clock))
    manager = sync_manager(store, clock)
    with manager.scope(None) as session:
        session["n"] = 1
    manager.add_listener(LoggingListener(level=logging.CRITICAL + 1))
    logging_everything = LoggingListener(level=logging.CRITICAL)
    manager.add_listener(logging_everything)
    store.calls.clear()
    with manager.scope(session.cookie_value):
        pass  # never used: on_visit must not load it
    assert store.calls["load"] == 0
    manager.close()


# -- Metrics and Prometheus -------------------------------------------------------------


def test_metrics_is_available_from_listeners() -> None:
    from sessionware.metrics import Metrics as Original

    assert Metrics is Original


def test_the_prometheus_exporter_publishes_metrics_and_visit_queue(clock: Clock) -> None:
    metrics = Metrics()
    registry = CollectorRegistry()
    tracker = sw.VisitTracker(interval=60)
    PrometheusExporter(metrics, registry, visit_tracker=tracker)
    manager = sw.SessionManager(
        metrics.wrap_store(MemoryStore(clock=clock)),
        secret_key=SECRET,
        idle_timeout=600,
        visit_tracker=tracker,
        clock=clock,
    )
    manager.add_listener(metrics)
    with manager.scope(None) as session:
        session["n"] = 1
    clock.advance(120)
    with manager.scope(session.cookie_value) as again:
        again.get("n")

    def sample(name: str, **labels: str) -> float | None:
        return registry.get_sample_value(name, labels)

    assert sample("sessionware_events_total", event="visit") == 2
    assert sample("sessionware_events_total", event="create") == 1
    assert sample("sessionware_store_operations_total", operation="load") == 1
    assert sample("sessionware_store_operation_seconds_count", operation="load") == 1
    assert (sample("sessionware_store_operation_seconds_sum", operation="load") or 0) > 0
    assert sample("sessionware_store_operation_latency_seconds", operation="load", quantile="0.95")
    assert sample("sessionware_visits_pending") == 1
    manager.close()
    assert sample("sessionware_visits_pending") == 0
    assert sample("sessionware_visits_total", outcome="flushed") == 1


def test_the_prometheus_exporter_can_be_unregistered() -> None:
    registry = CollectorRegistry()
    exporter = PrometheusExporter(Metrics(), registry)
    exporter.unregister()
    assert registry.get_sample_value("sessionware_events_total", {"event": "save"}) is None
