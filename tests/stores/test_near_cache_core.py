"""``NearCache`` on its own: the bounds, the tickets that keep a read only if
nothing changed it on the way, the channel's up and down, and this process's own
writes: with a channel that names versions (PostgreSQL), their echo is recognised;
without one (Redis), no own change is reported, so every report evicts."""

from __future__ import annotations

import pytest

from sessionware import Record
from sessionware.stores.near_cache import NearCache
from sessionware.stores.near_cache._cache import ENTRY_OVERHEAD

NOW = 1_800_000_000.0


def record(key: str, version: int = 1, size: int = 10, user: str | None = None) -> Record:
    return Record(key, b"x" * size, NOW, NOW + 600, version, user)


def cache_with(*records: Record, max_entries: int = 10_000, max_bytes: int = 1 << 26) -> NearCache:
    cache = NearCache(max_entries=max_entries, max_bytes=max_bytes)
    cache.up()
    for each in records:
        cache.fill(cache.begin(each.id), each)
    return cache


def test_a_filled_read_is_a_hit() -> None:
    cache = cache_with(record("a"))
    assert cache.get("a", NOW) == record("a")
    assert (cache.stats.hits, cache.stats.misses) == (1, 0)


def test_an_expired_record_is_a_miss() -> None:
    cache = cache_with(record("a"))
    assert cache.get("a", NOW + 600) is None
    assert len(cache) == 0


def test_the_least_recently_used_record_goes_first_past_max_entries() -> None:
    cache = cache_with(record("a"), record("b"), max_entries=2)
    cache.get("a", NOW)
    cache.fill(cache.begin("c"), record("c"))
    assert cache.get("b", NOW) is None
    assert cache.get("a", NOW) is not None
    assert cache.stats.evictions == 1


def test_the_byte_bound_holds() -> None:
    cache = cache_with(*(record(str(i), size=1000) for i in range(10)), max_bytes=3500)
    assert cache.bytes <= 3500
    assert len(cache) == 3500 // (1000 + ENTRY_OVERHEAD)


def test_nothing_is_kept_while_the_channel_is_down() -> None:
    cache = NearCache()
    assert cache.begin("a") is None
    cache.fill(None, record("a"))
    assert cache.get("a", NOW) is None


def test_a_reset_empties_the_cache_and_spoils_reads_under_way() -> None:
    cache = cache_with(record("a"))
    ticket = cache.begin("b")
    cache.reset()
    cache.up()
    cache.fill(ticket, record("b"))
    assert len(cache) == 0
    assert cache.stats.resets == 1


def test_a_read_invalidated_on_its_way_is_not_kept() -> None:
    cache = cache_with()
    ticket = cache.begin("a")
    cache.invalidate("a")
    cache.fill(ticket, record("a"))
    assert cache.get("a", NOW) is None


def test_an_invalidation_evicts() -> None:
    cache = cache_with(record("a"))
    cache.invalidate("a")
    assert cache.get("a", NOW) is None
    assert cache.stats.invalidations == 1


def test_a_failed_compare_and_set_evicts_the_stale_copy() -> None:
    cache = cache_with(record("a"))
    ticket = cache.begin("a", write=True, version=2)
    cache.written(ticket, "a", None)
    assert cache.get("a", NOW) is None


def test_an_own_write_is_kept_when_nothing_else_changed_the_key() -> None:
    cache = cache_with(record("a"))
    ticket = cache.begin("a", write=True, version=2)
    cache.written(ticket, "a", record("a", 2))
    assert cache.get("a", NOW) == record("a", 2)


def test_a_change_reported_after_an_own_write_evicts_it() -> None:
    cache = cache_with(record("a"))
    cache.written(cache.begin("a", write=True, version=2), "a", record("a", 2))
    cache.invalidate("a")  # another client's change: own ones are not reported
    assert cache.get("a", NOW) is None


def test_a_change_reported_during_an_own_write_keeps_nothing() -> None:
    cache = cache_with(record("a"))
    ticket = cache.begin("a", write=True, version=2)
    cache.invalidate("a")
    assert cache.get("a", NOW) is None  # the old version went at once
    cache.written(ticket, "a", record("a", 2))
    assert cache.get("a", NOW) is None


def test_a_named_version_recognises_the_own_echo_exactly() -> None:
    cache = cache_with(record("a"))
    cache.exact_versions = True
    ticket = cache.begin("a", write=True, version=2)
    cache.written(ticket, "a", record("a", 2))
    cache.invalidate("a", 2)
    assert cache.get("a", NOW) == record("a", 2)
    cache.invalidate("a", 3)
    assert cache.get("a", NOW) is None


def test_a_named_deletion_evicts() -> None:
    cache = cache_with(record("a"))
    cache.exact_versions = True
    cache.invalidate("a", 0)
    assert cache.get("a", NOW) is None


@pytest.mark.parametrize("hashed", [False, True])
def test_a_revocation_marker_drops_the_users_sessions(hashed: bool) -> None:
    cache = cache_with(record("a", user="alice"), record("b", user="bob"))
    name = "2bd806c97f0e00af1a1fc3328fa763a9269723c8db8fac4f93af71db186d6e90" if hashed else "alice"
    cache.invalidate_users(name, hashed=hashed)
    assert cache.get("a", NOW) is None
    assert cache.get("b", NOW) is not None


def test_an_older_named_version_during_a_write_spoils_nothing() -> None:
    cache = cache_with()
    cache.exact_versions = True
    ticket = cache.begin("a", write=True, version=3)
    cache.invalidate("a", 2)
    cache.written(ticket, "a", record("a", 3))
    cache.invalidate("a", 3)
    assert cache.get("a", NOW) == record("a", 3)


def test_a_read_older_than_a_named_change_on_its_way_is_not_kept() -> None:
    cache = cache_with()
    cache.exact_versions = True
    ticket = cache.begin("a")
    cache.invalidate("a", 3)
    cache.fill(ticket, record("a", 2))
    assert cache.get("a", NOW) is None


def test_a_store_without_an_invalidation_channel_gets_no_near_cache() -> None:
    import sessionware as sw
    from sessionware.stores.near_cache import NearCacheUnsupported

    with pytest.raises(NearCacheUnsupported, match="no invalidation channel"):
        sw.open_store("memory://?near_cache=on")


def test_the_near_cache_options_are_taken_off_the_url() -> None:
    from sessionware.stores.near_cache import NearCacheSettings, take_settings

    url, settings = take_settings("redis://h/0?prefix=a:&near_cache=on&near_cache_entries=5", {})
    assert url == "redis://h/0?prefix=a:"
    assert settings == NearCacheSettings(max_entries=5)
    assert take_settings("redis://h/0?near_cache=off", {}) == ("redis://h/0", None)
