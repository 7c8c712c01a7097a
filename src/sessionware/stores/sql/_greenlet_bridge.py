"""SQLAlchemy's greenlet bridge (``greenlet_spawn``) on greenlets kept for reuse: how
the async hot path runs SQLAlchemy's sync pool code, which may await the driver."""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["GreenletBridge"]

T = TypeVar("T")


class GreenletBridge:
    """``await bridge.run(fn, *args)``: run the sync ``fn`` where SQLAlchemy's
    ``await_`` works, as ``sqlalchemy.util.greenlet_spawn`` does, but on a greenlet
    kept for the next call.

    Starting a greenlet gives it a fresh Python frame stack (an mmap and munmap on
    CPython 3.11+): 10-16 µs on a small VM, more than the rest of a session's work
    per request, where switching to a parked greenlet and back costs under 1 µs.
    SQLAlchemy runs ``await_`` in any greenlet marked
    ``__sqlalchemy_greenlet_provider__`` (documented since 2.0.31), switching to its
    parent with the awaitable; ``run`` awaits it and switches back with the result.
    """

    #: Parked greenlets kept per thread; more than this many at once were only needed
    #: while that many tasks waited inside the pool at the same time.
    MAX_PARKED = 8

    def __init__(self) -> None:
        # The async store needs greenlet (SQLAlchemy's asyncio extension); the sync
        # store, which shares this module, must not.
        from greenlet import getcurrent, greenlet

        self._getcurrent: Callable[[], Any] = getcurrent
        self._greenlet: Callable[..., Any] = greenlet
        self._parked = _Parked()

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        current = self._getcurrent()
        parked = self._parked.greenlets
        worker = parked.pop() if parked else None
        # A parked greenlet returns to the greenlet that made it: only that one (the
        # event loop's, normally the thread's main greenlet) may use it.
        if worker is None or worker.parent is not current or worker.dead:
            worker = self._greenlet(_serve)
            setattr(worker, "__sqlalchemy_greenlet_provider__", True)  # noqa: B010
        worker.gr_context = current.gr_context  # the task's context variables
        message = worker.switch(fn, args)
        while not isinstance(message, _Outcome):
            try:
                value = await message
            except BaseException:
                message = worker.throw(*sys.exc_info())
            else:
                message = worker.switch(value)
        worker.gr_context = None  # keep no task's context variables alive
        if len(parked) < self.MAX_PARKED:
            parked.append(worker)
        result: T = message.result()
        return result


class _Parked(threading.local):
    """The bridge greenlets of one thread, waiting for a call."""

    def __init__(self) -> None:
        self.greenlets: list[Any] = []


class _Outcome:
    """What a bridged call returned or raised (anything else a worker switches back
    with is an awaitable from ``await_``)."""

    __slots__ = ("error", "value")

    def __init__(self, value: Any, error: BaseException | None) -> None:
        self.value = value
        self.error = error

    def result(self) -> Any:
        # Emptied as it is read: the greenlet that made it keeps it while parked.
        value, error = self.value, self.error
        self.value = self.error = None
        if error is not None:
            raise error
        return value


def _serve(fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
    """The body of a bridge greenlet: run a call, hand back its outcome, wait for the
    next call."""
    from greenlet import GreenletExit, getcurrent

    parent = getcurrent().parent
    while True:
        try:
            outcome = _Outcome(fn(*args), None)
        except GreenletExit:
            raise  # a parked greenlet being collected: let it end
        except BaseException as exc:
            outcome = _Outcome(None, exc)
        del fn, args  # hold nothing of this call while parked
        fn, args = parent.switch(outcome)
