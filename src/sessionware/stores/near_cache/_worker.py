"""A channel's listener in both flavours, side by side (not generated): a daemon
thread for the sync store, a task of the running asyncio loop for the async one.

The async sources use ``AsyncWorker``; ``scripts/unasync.py`` renames it to
``Worker`` in their generated twins.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Awaitable, Callable
from typing import Any

__all__ = ["AsyncWorker", "Worker", "run_soon"]


class Worker:
    """Runs ``job`` in a daemon thread until it returns."""

    def __init__(self, job: Callable[[], object], name: str) -> None:
        self._job = job
        self._name = name
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._job, name=self._name, daemon=True)
        self._thread.start()

    @property
    def running(self) -> bool:
        thread = self._thread
        return thread is not None and thread.is_alive()

    def stop(self) -> None:
        """Wait for the job, which the caller has told to end, for up to 5 s."""
        thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join(5.0)


class AsyncWorker:
    """Runs ``job`` as a task of the running asyncio loop until it returns."""

    def __init__(self, job: Callable[[], Awaitable[object]], name: str) -> None:
        self._job = job
        self._name = name
        self._task: Any = None

    def start(self) -> None:
        import asyncio

        async def run() -> None:
            await self._job()

        self._task = asyncio.get_running_loop().create_task(run(), name=self._name)

    @property
    def running(self) -> bool:
        """Whether the task is alive on the running loop (a loop that was closed,
        or another loop, leaves the job dead for this one)."""
        import asyncio

        task = self._task
        if task is None or task.done():
            return False
        try:
            return bool(task.get_loop() is asyncio.get_running_loop())
        except RuntimeError:
            return False

    async def stop(self) -> None:
        """Cancel the job and wait for it to end."""
        import asyncio

        task, self._task = self._task, None
        if task is None or task.done():
            return
        task.cancel()
        # It may also have ended with an error while being cancelled.
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task


def run_soon(job: Callable[[], Any]) -> Any:
    """Start ``job()`` (a coroutine function) as a task on the running asyncio loop;
    the task, for the caller to keep. Async flavour only."""
    import asyncio

    return asyncio.get_running_loop().create_task(job())
