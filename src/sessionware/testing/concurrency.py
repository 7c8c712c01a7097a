"""``hammer_one_session``: many concurrent writers on one session; no update may be lost.

Each writer loops: open the session by its cookie, set its own key
(``writer-<i>-update-<j>``), ``save_changes``. The manager's compare-and-set and
merge must keep every key: at the end all ``writers * updates`` keys are present.
Writers are threads sharing one manager (as in a threaded WSGI server) or processes
each with their own manager and store connection (as with several workers)::

    result = hammer_one_session("sqlite:///tmp/s.db", writers=8, updates=500,
                                mode="processes")
    assert result.ok, result.summary()
"""

from __future__ import annotations

import multiprocessing
import queue
import secrets
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from .._sync.manager import SessionManager
from ..core.record import Record
from ..errors import ConcurrentUpdateError
from ..stores.base import StoreLike, StoreProxy
from ..stores.registry import open_store

__all__ = ["HammerResult", "hammer_one_session"]

JOIN_TIMEOUT = 300.0


@dataclass
class WriterTally:
    """What one writer saw."""

    saves: int = 0
    conflicts: int = 0
    gave_up: int = 0
    most_attempts: int = 0  # the most compare-and-set attempts one update needed
    errors: list[str] = field(default_factory=list)

    def add(self, other: WriterTally) -> None:
        self.saves += other.saves
        self.conflicts += other.conflicts
        self.gave_up += other.gave_up
        self.most_attempts = max(self.most_attempts, other.most_attempts)
        self.errors.extend(other.errors)


@dataclass
class HammerResult:
    """``missing``: keys absent at the end (lost updates). ``gave_up``: saves that
    raised ``ConcurrentUpdateError`` (the application was told; not silently lost).
    ``saves``/``conflicts``: compare-and-set attempts, and those that lost a race."""

    writers: int
    updates: int
    mode: str
    seconds: float
    missing: list[str]
    tally: WriterTally

    @property
    def expected(self) -> int:
        return self.writers * self.updates

    @property
    def ok(self) -> bool:
        return not self.missing and not self.tally.gave_up and not self.tally.errors

    def summary(self) -> str:
        t = self.tally
        return (
            f"{self.writers} {self.mode} x {self.updates} updates in {self.seconds:.2f} s: "
            f"{self.expected - len(self.missing)}/{self.expected} keys present, "
            f"{t.saves} compare-and-set attempts, {t.conflicts} conflicts, "
            f"at most {t.most_attempts} attempts for one update, "
            f"{t.gave_up} gave up, {len(t.errors)} errors"
            + (f"; first error: {t.errors[0]}" if t.errors else "")
        )


class _CasCounter(StoreProxy):
    """Counts compare-and-set attempts and lost races (thread-safe), and the
    attempts of the current thread's update (``attempts.count``)."""

    def __init__(self, store: StoreLike) -> None:
        super().__init__(store)
        self.tally = WriterTally()
        self.attempts = threading.local()
        self._lock = threading.Lock()

    def save_if_version(
        self, call: Callable[[Record, int], bool], record: Record, expected: int
    ) -> bool:
        written = call(record, expected)
        self.attempts.count = getattr(self.attempts, "count", 0) + 1
        with self._lock:
            self.tally.saves += 1
            self.tally.conflicts += not written
        return written


def key_name(writer: int, update: int) -> str:
    return f"writer-{writer}-update-{update}"


def _write_updates(
    manager: SessionManager, counter: _CasCounter, cookie: str, writer: int, updates: int
) -> WriterTally:
    tally = WriterTally()
    for update in range(updates):
        session = manager.open(cookie)
        counter.attempts.count = 0
        try:
            if session.is_new:
                raise RuntimeError("the session vanished: a writer got a fresh one")
            session[key_name(writer, update)] = update
            manager.save_changes(session)
        except ConcurrentUpdateError:
            tally.gave_up += 1
        except Exception:
            tally.errors.append(f"writer {writer}: {traceback.format_exc(limit=3)}")
            break
        tally.most_attempts = max(tally.most_attempts, counter.attempts.count)
    return tally


def _manager(store: StoreLike, options: dict[str, Any]) -> SessionManager:
    settings: dict[str, Any] = {"visit_tracker": False, **options}
    return SessionManager(store, **settings)


def _open(store: str | Callable[[], StoreLike], setup: bool = True) -> StoreLike:
    return open_store(store, setup=setup) if isinstance(store, str) else store()


@dataclass(frozen=True)
class _Job:
    """What every writer is given: the store (a URL or a factory, so each process
    opens its own), the manager's options, the session's cookie, updates per writer."""

    store: str | Callable[[], StoreLike]
    options: dict[str, Any]
    cookie: str
    updates: int


def _process_writer(job: _Job, writer: int, start: Any, results: Any) -> None:
    counter = _CasCounter(_open(job.store, setup=False))
    manager = _manager(counter, job.options)
    try:
        start.wait()
        tally = _write_updates(manager, counter, job.cookie, writer, job.updates)
        tally.add(counter.tally)
    except Exception:
        tally = WriterTally(errors=[f"writer {writer}: {traceback.format_exc(limit=3)}"])
    finally:
        manager.close()
    results.put(tally)


def _run_threads(store: StoreLike, job: _Job, writers: int, shared_manager: bool) -> WriterTally:
    counter = _CasCounter(store)
    shared = _manager(counter, job.options)
    start = threading.Barrier(writers)
    tallies: list[WriterTally] = []

    def work(writer: int) -> None:
        # A manager per thread acts like a process of its own: no shared save gate.
        manager = shared if shared_manager else _manager(counter, job.options)
        start.wait()
        tallies.append(_write_updates(manager, counter, job.cookie, writer, job.updates))

    threads = [threading.Thread(target=work, args=(i,)) for i in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(JOIN_TIMEOUT)
    total = WriterTally()
    for tally in tallies:
        total.add(tally)
    total.add(counter.tally)
    if len(tallies) != writers:
        total.errors.append(f"{writers - len(tallies)} writer threads did not finish")
    return total


def _run_processes(job: _Job, writers: int) -> WriterTally:
    # spawn, not fork: the parent may have background threads (visit flushers).
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(writers)
    results = context.Queue()
    processes = [
        context.Process(
            target=_process_writer,
            args=(job, i, start, results),
            name=f"sessionware-hammer-{i}",
        )
        for i in range(writers)
    ]
    for process in processes:
        process.start()
    total = WriterTally()
    deadline = time.monotonic() + JOIN_TIMEOUT
    try:
        for _ in processes:
            total.add(results.get(timeout=max(0.1, deadline - time.monotonic())))
    except queue.Empty:
        total.errors.append("writer processes did not report in time")
    finally:
        for process in processes:
            process.join(5.0)
            if process.is_alive():  # only processes started here are ended
                process.terminate()
                process.join()
    return total


def hammer_one_session(
    store: str | Callable[[], StoreLike],
    writers: int = 8,
    updates: int = 500,
    mode: Literal["threads", "processes"] = "threads",
    *,
    shared_manager: bool = True,
    **manager_options: Any,
) -> HammerResult:
    """Run ``writers`` concurrent writers of ``updates`` distinct keys each on one
    session, then check that every key is there.

    ``store``: a store URL, or a callable returning a ready store (picklable, e.g. a
    class or ``functools.partial``, for processes: each process opens its own).
    With threads, one store serves every writer, and one manager too unless
    ``shared_manager=False`` (then each thread races the others' compare-and-set
    the way separate processes do; a shared manager serializes its own saves).
    ``manager_options`` go to every ``SessionManager`` (e.g. ``max_save_attempts``).
    The session is deleted at the end, and the stores opened here are closed.
    """
    if mode not in ("threads", "processes"):
        raise ValueError("mode must be 'threads' or 'processes'")
    if writers < 1 or updates < 1:
        raise ValueError("writers and updates must be at least 1")
    if mode == "processes" and isinstance(store, str) and store.startswith("memory:"):
        raise ValueError("memory:// is per process; processes cannot share it")
    options = {"secret_key": secrets.token_hex(32), **manager_options}
    opened = _open(store)
    manager = _manager(opened, options)
    try:
        with manager.scope(None) as session:
            session["hammer"] = True
        cookie = session.cookie_value
        assert cookie is not None
        started = time.perf_counter()
        job = _Job(store, options, cookie, updates)
        if mode == "threads":
            tally = _run_threads(opened, job, writers, shared_manager)
        else:
            tally = _run_processes(job, writers)
        seconds = time.perf_counter() - started
        with manager.scope(cookie) as final:
            present = set(final)
            manager.invalidate(final)
    finally:
        manager.close()
    expected = (key_name(i, j) for i in range(writers) for j in range(updates))
    missing = [key for key in expected if key not in present]
    return HammerResult(writers, updates, mode, seconds, missing, tally)
