"""OpenTelemetry: one span per store operation, with the store kind, the operation and
its outcome, and never a session id, store key, user id or session data."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("opentelemetry.sdk")

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader, MetricsData
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

import sessionware as sw
from sessionware.otel import SPAN_OPERATIONS, Telemetry, store_kind
from sessionware.stores.memory import AsyncMemoryStore, MemoryStore

from .conftest import SECRET

pytestmark = pytest.mark.smoke

DATA_MARKER = "data-marker-7f3a9c"
USER_MARKER = "user-marker-51d2e8"


class Spy(sw.StoreProxy):
    """Under the telemetry proxy: every operation that reaches the store, and every
    store key it was given."""

    def __init__(self, store: Any) -> None:
        super().__init__(store)
        self.operations: list[str] = []
        self.keys: set[str] = set()

    def seen(self, operation: str, args: tuple[Any, ...]) -> None:
        self.operations.append(operation)
        for arg in args:
            if isinstance(arg, str) and len(arg) > 20:
                self.keys.add(arg)
            elif isinstance(arg, sw.Record):
                self.keys.add(arg.id)
            elif isinstance(arg, dict | list | tuple | set):
                self.keys.update(key for key in arg if isinstance(key, str))


def _spy_operation(operation: str, is_async: bool) -> Any:
    def spy(self: Spy, call: Any, *args: Any) -> Any:
        self.seen(operation, args)
        return call(*args)

    async def spy_async(self: Spy, call: Any, *args: Any) -> Any:
        self.seen(operation, args)
        return await call(*args)

    return spy_async if is_async else spy


SyncSpy = type("SyncSpy", (Spy,), {op: _spy_operation(op, False) for op in SPAN_OPERATIONS})
AsyncSpy = type("AsyncSpy", (Spy,), {op: _spy_operation(op, True) for op in SPAN_OPERATIONS})


class Recorded:
    """An SDK tracer and meter provider writing to memory."""

    def __init__(self) -> None:
        self.exporter = InMemorySpanExporter()
        self.tracer_provider = TracerProvider()
        self.tracer_provider.add_span_processor(SimpleSpanProcessor(self.exporter))
        self.reader = InMemoryMetricReader()
        self.meter_provider = MeterProvider(metric_readers=[self.reader])

    def telemetry(self) -> Telemetry:
        return Telemetry(tracer_provider=self.tracer_provider, meter_provider=self.meter_provider)

    def spans(self) -> list[ReadableSpan]:
        return list(self.exporter.get_finished_spans())

    def store_spans(self) -> list[ReadableSpan]:
        return [s for s in self.spans() if s.name.startswith("sessionware.store.")]

    def metrics(self) -> MetricsData:
        data = self.reader.get_metrics_data()
        assert data is not None
        return data

    def points(self, name: str) -> list[Any]:
        return [
            point
            for resource in self.metrics().resource_metrics
            for scope in resource.scope_metrics
            for metric in scope.metrics
            if metric.name == name
            for point in metric.data.data_points
        ]


@pytest.fixture
def recorded() -> Iterator[Recorded]:
    recorded = Recorded()
    yield recorded
    recorded.tracer_provider.shutdown()
    recorded.meter_provider.shutdown()


def _manager(recorded: Recorded, spy: Spy) -> sw.SessionManager:
    telemetry = recorded.telemetry()
    manager = sw.SessionManager(telemetry.wrap_store(spy), secret_key=SECRET, idle_timeout=None)
    manager.add_listener(telemetry)
    return manager


def _requests(manager: sw.SessionManager) -> tuple[str, str]:
    """Create, read, log in, revoke: the session id and cookie it had."""
    with manager.scope(None) as session:
        session["note"] = DATA_MARKER
    session_id, cookie = session.id, session.cookie_value
    with manager.scope(cookie) as again:
        assert again["note"] == DATA_MARKER
        manager.login(again, USER_MARKER)
    with manager.scope(again.cookie_value) as third:
        third["more"] = DATA_MARKER * 2
    manager.revoke_user(USER_MARKER)
    with manager.scope(third.cookie_value) as gone:
        assert "note" not in gone
    manager.close()
    assert cookie is not None
    return session_id, cookie


def test_every_store_operation_is_one_span(recorded: Recorded) -> None:
    spy = SyncSpy(MemoryStore())
    _requests(_manager(recorded, spy))
    names = [span.name for span in recorded.store_spans()]
    assert names == [f"sessionware.store.{op}" for op in spy.operations]
    assert len(names) >= 6


def test_a_store_span_names_the_store_kind_the_operation_and_its_outcome(
    recorded: Recorded,
) -> None:
    _requests(_manager(recorded, SyncSpy(MemoryStore())))
    for span in recorded.store_spans():
        operation = span.name.removeprefix("sessionware.store.")
        assert span.kind is SpanKind.CLIENT
        assert span.attributes is not None
        assert span.attributes["sessionware.store.kind"] == "memory"
        assert span.attributes["sessionware.store.operation"] == operation
        assert span.attributes["sessionware.store.outcome"] in ("ok", "miss", "conflict")


def test_a_load_that_finds_nothing_is_a_miss(recorded: Recorded) -> None:
    store: Any = recorded.telemetry().wrap_store(MemoryStore())
    assert store.load("0" * 40) is None
    (span,) = recorded.store_spans()
    assert span.attributes is not None
    assert span.attributes["sessionware.store.outcome"] == "miss"


def test_a_lost_compare_and_set_is_a_conflict(recorded: Recorded) -> None:
    store: Any = recorded.telemetry().wrap_store(MemoryStore())
    record = sw.Record("k" * 40, b"{}", 0.0, 4e9, 1, None)
    assert store.save_if_version(record, 3) is False
    (span,) = recorded.store_spans()
    assert span.attributes is not None
    assert span.attributes["sessionware.store.outcome"] == "conflict"


def _everything_recorded(recorded: Recorded) -> str:
    """Every span (name, attributes, events, status) and metric point, as text."""
    spans = "\n".join(span.to_json() for span in recorded.spans())
    return spans + "\n" + recorded.metrics().to_json()


def test_no_span_or_metric_carries_a_session_id_key_user_or_data(recorded: Recorded) -> None:
    spy = SyncSpy(MemoryStore())
    session_id, cookie = _requests(_manager(recorded, spy))
    text = _everything_recorded(recorded)
    assert spy.keys, "the spy saw the store keys"
    secrets = {session_id, cookie, USER_MARKER, DATA_MARKER, *spy.keys}
    assert [secret for secret in secrets if secret in text] == []


def test_a_failed_operation_is_an_error_span_without_the_message(recorded: Recorded) -> None:
    class Broken(sw.StoreProxy):
        def load(self, call: Any, id: str) -> Any:
            raise sw.StoreUnavailable("redis://127.0.0.1:1/0", f"refused for {id}")

    store: Any = recorded.telemetry().wrap_store(Broken(MemoryStore()))
    with pytest.raises(sw.StoreUnavailable):
        store.load("secret-key-" + "0" * 30)
    (span,) = recorded.store_spans()
    assert span.attributes is not None
    assert span.attributes["sessionware.store.outcome"] == "error"
    assert span.attributes["error.type"] == "StoreUnavailable"
    assert span.status.status_code is StatusCode.ERROR
    assert span.events == ()
    assert "secret-key" not in _everything_recorded(recorded)


def test_store_operation_durations_are_a_histogram_per_kind_operation_outcome(
    recorded: Recorded,
) -> None:
    spy = SyncSpy(MemoryStore())
    _requests(_manager(recorded, spy))
    points = recorded.points("sessionware.store.operation.duration")
    assert sum(point.count for point in points) == len(spy.operations)
    for point in points:
        assert set(point.attributes) == {
            "sessionware.store.kind",
            "sessionware.store.operation",
            "sessionware.store.outcome",
        }


def test_the_listener_counts_session_events(recorded: Recorded) -> None:
    _requests(_manager(recorded, SyncSpy(MemoryStore())))
    counts = {
        point.attributes["sessionware.session.event"]: point.value
        for point in recorded.points("sessionware.session.events")
    }
    assert counts["visit"] == 4
    assert counts["create"] == 1
    assert counts["regenerate"] == 1


def test_the_listener_adds_events_to_the_request_span(recorded: Recorded) -> None:
    manager = _manager(recorded, SyncSpy(MemoryStore()))
    tracer = recorded.tracer_provider.get_tracer("app")
    with tracer.start_as_current_span("GET /"), manager.scope(None) as session:
        session["note"] = DATA_MARKER
    manager.close()
    (request,) = [span for span in recorded.spans() if span.name == "GET /"]
    assert "sessionware.session.create" in [event.name for event in request.events]
    (save,) = [s for s in recorded.store_spans() if s.name.endswith(".save_if_version")]
    assert save.parent is not None
    assert save.parent.span_id == request.context.span_id


def test_the_async_store_gets_one_span_per_operation(recorded: Recorded) -> None:
    spy = AsyncSpy(AsyncMemoryStore())
    telemetry = recorded.telemetry()

    async def requests() -> str:
        manager = sw.AsyncSessionManager(
            telemetry.wrap_store(spy), secret_key=SECRET, idle_timeout=None
        )
        manager.add_listener(telemetry)
        async with manager.scope(None) as session:
            session["note"] = DATA_MARKER
        async with manager.scope(session.cookie_value) as again:
            await manager.invalidate(again)
        await manager.close()
        return session.id

    session_id = asyncio.run(requests())
    spans = recorded.store_spans()
    assert [span.name for span in spans] == [f"sessionware.store.{op}" for op in spy.operations]
    assert {span.attributes["sessionware.store.kind"] for span in spans if span.attributes} == {
        "memory"
    }
    text = _everything_recorded(recorded)
    assert [s for s in {session_id, DATA_MARKER, *spy.keys} if s in text] == []


def test_the_kind_looks_through_proxies_and_worker_threads(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'sessions.db'}"
    store = sw.open_store(url)
    assert store_kind(SyncSpy(store)) == "sqlite"

    async def threaded() -> str:
        async_store = await sw.open_async_store(url)
        try:
            return store_kind(async_store)
        finally:
            await async_store.close()

    assert asyncio.run(threaded()) == "sqlite"
    store.close()


def test_a_kind_given_by_the_application_wins(recorded: Recorded) -> None:
    telemetry = Telemetry(tracer_provider=recorded.tracer_provider, kind="postgresql")
    store: Any = telemetry.wrap_store(MemoryStore())
    store.count()
    (span,) = recorded.store_spans()
    assert span.attributes is not None
    assert span.attributes["sessionware.store.kind"] == "postgresql"


def test_without_an_sdk_the_proxy_only_passes_calls_through() -> None:
    store: Any = Telemetry().wrap_store(MemoryStore())
    record = sw.Record("k" * 40, b"{}", 0.0, 4e9, 1, None)
    store.save(record)
    assert store.load(record.id) == record
