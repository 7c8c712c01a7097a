"""Helpers for the embedded store tests: crash writers, real tmpfs mounts, processes.

Child-process functions live here (not in test modules) so that the ``spawn``
start method can import them.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import random
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

import sessionware as sw
from sessionware.core.record import Record
from sessionware.core.signing import new_session_id, store_key
from sessionware.stores._embedded.nowait import cached_pages

SPAWN = multiprocessing.get_context("spawn")
SIZES = (150_000, 260_000)  # alternate sizes: in-place and relocating rewrites


def payload(generation: int) -> bytes:
    """The data a crash writer saves at ``generation``: uniform, so a torn mix of
    two generations can never pass for either."""
    return bytes([generation % 251]) * SIZES[generation % 2]


def crash_writer(url: str, keys: list[str], progress: str) -> None:
    """Save every key at generation 1, 2, 3... forever, reporting each finished save
    as a ``key generation`` line; the test kills this process at a random moment."""
    store = sw.open_store(url)
    report = os.open(progress, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    generation = 0
    while True:
        generation += 1
        for key in keys:
            now = time.time()
            store.save(Record(key, payload(generation), now, now + 3600, generation, "crash-user"))
            os.write(report, f"{key} {generation}\n".encode())


@dataclass
class CrashResult:
    keys: list[str]
    finished: dict[str, int]  # last generation whose save returned, per key


def run_and_kill(url: str, tmp_path: Path, *, keys: int = 6, timeout: float = 20.0) -> CrashResult:
    """Start a crash writer, SIGKILL it at a random moment after its first few
    saves, and report what it had finished."""
    names = [store_key(new_session_id()) for _ in range(keys)]
    progress = tmp_path / f"progress-{names[0][:8]}.log"
    progress.touch()
    child = SPAWN.Process(target=crash_writer, args=(url, names, str(progress)), daemon=True)
    child.start()
    try:
        deadline = time.monotonic() + timeout
        while len(progress.read_bytes().splitlines()) < keys and time.monotonic() < deadline:
            assert child.is_alive(), "crash writer died on its own"
            time.sleep(0.01)
        time.sleep(random.uniform(0.0, 0.4))
    finally:
        assert child.pid is not None
        os.kill(child.pid, signal.SIGKILL)
        child.join(10)
    assert child.exitcode == -signal.SIGKILL
    finished: dict[str, int] = {}
    for line in progress.read_text().splitlines():
        parts = line.split()
        if len(parts) == 2:
            finished[parts[0]] = int(parts[1])
    assert finished, "the writer was killed before finishing one save"
    return CrashResult(names, finished)


def assert_before_or_after(store: sw.Store, result: CrashResult) -> None:
    """Each key holds the last finished save or the one in flight, intact."""
    for key in result.keys:
        done = result.finished.get(key, 0)
        record = store.load(key)
        if record is None:
            assert done == 0, f"{key}: finished generation {done} was lost"
            continue
        assert record.version in (done, done + 1), (key, record.version, done)
        assert record.data == payload(record.version), f"{key}: torn payload"


def assert_before_after_or_missing(store: sw.Store, result: CrashResult) -> None:
    """Weaker (dbm.dumb): a key whose write was torn may be missing, but one that is
    there holds the last finished save or the one in flight, intact."""
    for key in result.keys:
        record = store.load(key)
        if record is not None:
            done = result.finished.get(key, 0)
            assert record.version in (done, done + 1), (key, record.version, done)
            assert record.data == payload(record.version), f"{key}: torn payload"


# -- real file systems for fault tests --------------------------------------------


@contextlib.contextmanager
def tmpfs(where: Path, size: str = "1m") -> Iterator[Path]:
    """A real tmpfs mounted at ``where`` (needs root / CAP_SYS_ADMIN, else skip)."""
    where.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(where)],
        capture_output=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], capture_output=True, check=False)


def remount_read_only(where: Path) -> None:
    subprocess.run(["mount", "-o", "remount,ro", str(where)], check=True, capture_output=True)


def fill_up(directory: Path) -> None:
    """Fill the file system holding ``directory`` to the last byte."""
    with open(directory / "filler", "wb", buffering=0) as filler, contextlib.suppress(OSError):
        while True:
            filler.write(b"\0" * 65536)


def make_record(
    key: str | None = None,
    *,
    size: int = 1024,
    version: int = 1,
    user_id: str | None = None,
    expires_in: float = 600.0,
) -> Record:
    now = time.time()
    key = store_key(new_session_id()) if key is None else key
    return Record(key, b"x" * size, now, now + expires_in, version, user_id)


def cas_incrementer(url: str, key: str, times: int) -> None:
    """Append one byte to a record ``times`` times with compare-and-set, retrying on
    conflicts: no increment may be lost however the processes interleave."""
    store = sw.open_store(url)
    for _ in range(times):
        while True:
            current = store.load(key)
            assert current is not None
            updated = Record(
                key,
                current.data + b"+",
                current.created_at,
                current.expires_at,
                current.version + 1,
                None,
            )
            if store.save_if_version(updated, current.version):
                break
    store.close()


def open_and_exit_with_verdict(path: str) -> None:
    """Exit 3 when the dbm store at ``path`` is refused as in use, 0 when it opens."""
    from sessionware.errors import StoreUnavailable
    from sessionware.stores.dbm import DbmStore

    try:
        DbmStore(path).setup()
    except StoreUnavailable:
        os._exit(3)
    os._exit(0)


def mixed_requests(url: str, shared_keys: list[str], requests: int, seed: int) -> None:
    """A gunicorn-worker-like mix of store calls on keys other workers use too.
    Exits 0 only when no call raised."""
    rng = random.Random(seed)
    store = sw.open_store(url)
    own = [store_key(new_session_id()) for _ in range(20)]
    keys = shared_keys + own
    for _ in range(requests):
        key = rng.choice(keys)
        roll = rng.random()
        if roll < 0.45:
            store.load(key)
        elif roll < 0.75:
            current = store.load(key)
            version = 0 if current is None else current.version
            store.save_if_version(make_record(key, size=1024, version=version + 1), version)
        elif roll < 0.85:
            store.save(make_record(key, size=2048, user_id=f"user-{seed % 3}"))
        elif roll < 0.93:
            store.touch_many({k: time.time() + 600 for k in rng.sample(keys, 10)})
        elif roll < 0.97:
            store.delete(key)
        elif roll < 0.99:
            store.ids_for_user(f"user-{seed % 3}")
        else:
            store.purge_expired()
    store.close()


# -- the page cache, for the event-loop reads -----------------------------------------


def evict_from_page_cache(*paths: str | Path) -> None:
    """Write the files back and drop them from the OS page cache, as memory
    pressure would. Checked with cachestat, not by reading (a read that misses
    starts readahead); skips the test where that is not possible."""
    for path in paths:
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            cached = cached_pages(fd)
            if cached is None:
                pytest.skip("no cachestat(2) here (Linux 6.5+)")
            if cached:
                pytest.skip(f"the page cache keeps {path} here (tmpfs?)")
        finally:
            os.close(fd)


def refused_once_evicted(
    load_nowait: Callable[[str], object],
    key: str,
    *paths: str | Path,
    settle: float = 0.0,
    attempts: int = 5,
) -> bool:
    """Whether a load that must not wait refuses (BlockingIOError) once the files it
    reads have left the page cache. Something outside the test (another process's
    readahead, the VM's own reclaim) can bring a page back between the eviction and
    the read, so a few tries tell that apart from a load that reads through."""
    for _ in range(attempts):
        evict_from_page_cache(*paths)
        time.sleep(settle)
        try:
            load_nowait(key)
        except BlockingIOError:
            return True
    return False
