"""OpenTelemetry: a span and a duration for every store operation, a count of every
session event, through the OpenTelemetry API (the ``otel`` extra).

One ``Telemetry`` object is both a source of store proxies and a listener, like
``sessionware.metrics.Metrics``::

    from sessionware.otel import Telemetry

    telemetry = Telemetry()               # the global tracer and meter providers
    manager = SessionManager(telemetry.wrap_store(store), secret_key=...)
    manager.add_listener(telemetry)

What it emits (the API only: without an SDK configured, every call is a no-op):

- a span ``sessionware.store.<operation>`` (kind ``CLIENT``) around each store
  operation but ``ids`` (an iterator, not a call), a child of the current span, with
  the attributes ``sessionware.store.kind`` (``memory``, ``redis``, ``sql``...),
  ``sessionware.store.operation`` and ``sessionware.store.outcome`` (``ok``,
  ``miss`` for a load that found nothing, ``conflict`` for a compare-and-set that
  lost, ``error``); a failed operation also sets ``error.type`` (the exception's
  class) and the span's status to ``ERROR``;
- the histogram ``sessionware.store.operation.duration`` (seconds) with the same
  attributes;
- from the listener hooks, the counter ``sessionware.session.events`` (attribute
  ``sessionware.session.event``: ``create``, ``load``, ``save``, ``visit``...), an
  event of the same name on the current span (the request's, when the web
  framework is instrumented), and the counter ``sessionware.errors`` (attributes
  ``sessionware.operation`` and ``error.type``).

Never a session id, store key, user id or session data: not in a span name, an
attribute, an event or a status. An exception's message is not recorded either (a
database driver's message can quote the statement's parameters); only its class.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from opentelemetry import metrics, trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode

from . import __version__
from .core.events import HOOKS
from .stores.base import STORE_OPERATIONS, AsyncStore, Store, StoreProxy, unwrapped

__all__ = ["SPAN_OPERATIONS", "Telemetry", "store_kind"]

#: The store operations that get a span: all but ``ids``, whose iteration outlives
#: the call that starts it.
SPAN_OPERATIONS = tuple(op for op in STORE_OPERATIONS if op != "ids")

KIND = "sessionware.store.kind"
OPERATION = "sessionware.store.operation"
OUTCOME = "sessionware.store.outcome"
EVENT = "sessionware.session.event"
ERROR_TYPE = "error.type"

# Wrappers that add no kind of their own: the kind is the store they wrap.
_TRANSPARENT = ("StoreProxy", "ThreadedStore")


def store_kind(store: object) -> str:
    """A short, low-cardinality name for ``store``'s backend: ``memory``, ``file``,
    ``dbm``, ``sqlite``, ``sql``, ``redis``, ``tiered``..., looking through proxies
    and the threaded wrapper (``AsyncRedisStore`` and ``RedisStore`` are both
    ``redis``)."""
    for layer in unwrapped(store):
        if isinstance(layer, StoreProxy) or type(layer).__name__ in _TRANSPARENT:
            continue
        name = type(layer).__name__.removeprefix("Async").removesuffix("Store")
        return name.lower() or "store"
    return "store"


def _outcome(operation: str, result: object) -> str:
    if operation == "load" and result is None:
        return "miss"
    if operation == "save_if_version" and result is False:
        return "conflict"
    return "ok"


class Telemetry:
    """Spans and metrics for store operations (``wrap_store``) and session events
    (as a listener: ``manager.add_listener(telemetry)``).

    ``tracer_provider`` and ``meter_provider`` default to the global ones
    (``opentelemetry.trace.set_tracer_provider``...); ``kind`` names the store in
    the attributes when the class-derived ``store_kind`` is not what you want
    (``"postgresql"`` rather than ``"sql"``, say).

    As a listener it has every hook (``on_create``, ``on_load``, ... : each counts
    and adds a span event; ``on_error`` counts the error by operation and type).
    """

    def __init__(
        self,
        *,
        tracer_provider: trace.TracerProvider | None = None,
        meter_provider: metrics.MeterProvider | None = None,
        kind: str | None = None,
    ) -> None:
        self.kind = kind
        self.tracer = trace.get_tracer("sessionware", __version__, tracer_provider)
        meter = metrics.get_meter("sessionware", __version__, meter_provider)
        self.duration = meter.create_histogram(
            "sessionware.store.operation.duration",
            unit="s",
            description="Duration of session store operations.",
        )
        self.events = meter.create_counter(
            "sessionware.session.events", unit="{event}", description="Session events by hook."
        )
        self.errors = meter.create_counter(
            "sessionware.errors", unit="{error}", description="Session operations that failed."
        )

    def wrap_store(self, store: Store | AsyncStore | StoreProxy) -> StoreProxy:
        """A proxy of ``store`` (sync or async) that traces and times its operations."""
        is_async = inspect.iscoroutinefunction(store.load)
        proxy_class = _AsyncTracingProxy if is_async else _TracingProxy
        proxy: StoreProxy = proxy_class(store, self, self.kind or store_kind(store))
        return proxy

    @contextmanager
    def operation(self, operation: str, kind: str) -> Iterator[_Outcome]:
        """Trace and time one store operation; the caller reports its result on the
        yielded ``_Outcome``. An exception marks the span failed and propagates."""
        attributes = {KIND: kind, OPERATION: operation}
        outcome = _Outcome()
        started = time.perf_counter()
        with self.tracer.start_as_current_span(
            f"sessionware.store.{operation}",
            kind=SpanKind.CLIENT,
            attributes=attributes,
            record_exception=False,  # the message may quote keys or data
            set_status_on_exception=False,
        ) as span:
            try:
                yield outcome
            except BaseException as exc:
                outcome.failed(span, exc)
                raise
            finally:
                span.set_attribute(OUTCOME, outcome.name)
                self.duration.record(
                    time.perf_counter() - started, {**attributes, **outcome.attributes()}
                )

    def _event(self, event: str) -> None:
        self.events.add(1, {EVENT: event})
        span = trace.get_current_span()
        if span.is_recording():
            span.add_event(f"sessionware.session.{event}")

    def on_error(self, operation: str, exc: BaseException) -> None:
        """Count a failed session operation (by operation and exception class)."""
        error_type = type(exc).__qualname__
        self.errors.add(1, {"sessionware.operation": operation, ERROR_TYPE: error_type})
        span = trace.get_current_span()
        if span.is_recording():
            span.add_event(
                "sessionware.error", {"sessionware.operation": operation, ERROR_TYPE: error_type}
            )


class _Outcome:
    """What became of one traced operation: ``ok``, ``miss``, ``conflict`` or ``error``."""

    __slots__ = ("error_type", "name")

    def __init__(self) -> None:
        self.name = "ok"
        self.error_type: str | None = None

    def result(self, operation: str, result: object) -> None:
        self.name = _outcome(operation, result)

    def failed(self, span: Span, exc: BaseException) -> None:
        self.name = "error"
        self.error_type = type(exc).__qualname__
        span.set_attribute(ERROR_TYPE, self.error_type)
        span.set_status(Status(StatusCode.ERROR, self.error_type))

    def attributes(self) -> dict[str, str]:
        if self.error_type is None:
            return {OUTCOME: self.name}
        return {OUTCOME: self.name, ERROR_TYPE: self.error_type}


def _hook(hook: str) -> Callable[..., None]:
    """A listener hook of ``Telemetry`` that counts its calls, whatever their arguments."""
    event = hook.removeprefix("on_")

    def record(self: Telemetry, *args: object) -> None:
        self._event(event)

    record.__name__ = hook
    record.__qualname__ = f"Telemetry.{hook}"
    record.__doc__ = f"Count a ``{event}`` event and add it to the current span."
    return record


for _name in HOOKS:
    if _name != "on_error":
        setattr(Telemetry, _name, _hook(_name))
del _name


class _TelemetryProxy(StoreProxy):
    def __init__(
        self, store: Store | AsyncStore | StoreProxy, telemetry: Telemetry, kind: str
    ) -> None:
        self.telemetry = telemetry
        self.kind = kind
        super().__init__(store)


def _traced(operation: str) -> Callable[..., Any]:
    def traced(self: _TelemetryProxy, call: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        with self.telemetry.operation(operation, self.kind) as outcome:
            result = call(*args, **kwargs)
            outcome.result(operation, result)
            return result

    return traced


def _traced_async(operation: str) -> Callable[..., Any]:
    async def traced(
        self: _TelemetryProxy, call: Callable[..., Any], *args: Any, **kwargs: Any
    ) -> Any:
        with self.telemetry.operation(operation, self.kind) as outcome:
            result = await call(*args, **kwargs)
            outcome.result(operation, result)
            return result

    return traced


# Built with type() so StoreProxy.__init_subclass__ sees every operation as overridden.
_TracingProxy = type(
    "_TracingProxy", (_TelemetryProxy,), {op: _traced(op) for op in SPAN_OPERATIONS}
)
_AsyncTracingProxy = type(
    "_AsyncTracingProxy", (_TelemetryProxy,), {op: _traced_async(op) for op in SPAN_OPERATIONS}
)
