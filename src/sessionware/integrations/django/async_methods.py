"""The async half of Django's ``SessionBase`` API (``aload``, ``asave``, ...): each is
the sync method run in a worker thread, as Django's own cache-backed engines do,
since the manager behind ``SessionStore`` is the sync one."""

from __future__ import annotations

from collections.abc import Callable

from asgiref.sync import sync_to_async

from ...core.session import Session

__all__ = ["WorkerThreadMethods"]


class WorkerThreadMethods:
    """Mixed into ``SessionStore`` ahead of ``SessionBase``."""

    # The sync methods SessionStore defines, run by the async ones below.
    exists: Callable[[str | None], bool]
    load: Callable[[], Session]
    create: Callable[[], None]
    save: Callable[[bool], None]
    delete: Callable[[str | None], None]
    cycle_key: Callable[[], None]
    flush: Callable[[], None]
    clear_expired: Callable[[], None]

    async def aexists(self, session_key: str | None) -> bool:
        return await sync_to_async(self.exists, thread_sensitive=False)(session_key)

    async def aload(self) -> Session:
        return await sync_to_async(self.load, thread_sensitive=False)()

    async def acreate(self) -> None:
        await sync_to_async(self.create, thread_sensitive=False)()

    async def asave(self, must_create: bool = False) -> None:
        await sync_to_async(self.save, thread_sensitive=False)(must_create)

    async def adelete(self, session_key: str | None = None) -> None:
        await sync_to_async(self.delete, thread_sensitive=False)(session_key)

    async def acycle_key(self) -> None:
        await sync_to_async(self.cycle_key, thread_sensitive=False)()

    async def aflush(self) -> None:
        await sync_to_async(self.flush, thread_sensitive=False)()

    @classmethod
    async def aclear_expired(cls) -> None:
        await sync_to_async(cls.clear_expired, thread_sensitive=False)()
