"""What the sync and async Redis stores share: URL parsing, key layout, Lua scripts,
error translation and the per-process client cache.

Hand-written and flavour-neutral: ``_async/redis.py`` (and its generated sync twin)
build clients and talk to the server; everything here is plain Python.
"""

from __future__ import annotations

import contextlib
import math
import os
import threading
import weakref
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, fields
from typing import Any
from urllib.parse import parse_qsl, unquote

from redis import exceptions as redis_errors

from ..core.record import NEVER, Record
from ..errors import SessionwareError, StoreError, StoreUnavailable, redact_url

__all__ = [
    "CLIENTS",
    "DEFAULT_PREFIX",
    "KeyLayout",
    "RedisSettings",
    "RedisURLError",
    "parse_url",
    "translate_errors",
]

DEFAULT_PREFIX = "sessionware:"
DEFAULT_TIMEOUT = 2.0  # seconds, for connecting and for each reply
#: Keys per pipeline when a bulk operation (delete_many, delete_all, purge) is split.
BATCH = 500
#: ``COUNT`` hint for SCAN: keys examined per call on each node.
SCAN_COUNT = 1000

# A record is one hash: d = data, c = created_at, e = expires_at, v = version,
# u = user id (absent when the session is anonymous). The key carries a native TTL.
HASH_FIELDS = ("d", "c", "e", "v", "u")
NEVER_MS = int(NEVER * 1000)


class RedisURLError(SessionwareError, ValueError):
    """A Redis store URL or option that cannot be used."""


# ------------------------------------------------------------------ scripts

#: KEYS[1] session hash. ARGV: expected version (-1: write unconditionally), data,
#: created_at, expires_at, version, has-user flag, user id, expiry in ms ('' = never).
#: Returns 0 when the version did not match, else {1, previous user id or nil}.
SAVE_SCRIPT = """
local key = KEYS[1]
local expected = tonumber(ARGV[1])
if expected >= 0 then
  local stored = redis.call('HGET', key, 'v')
  if (stored and tonumber(stored) or 0) ~= expected then return 0 end
end
local previous_user = redis.call('HGET', key, 'u')
redis.call('DEL', key)
if ARGV[6] == '1' then
  redis.call('HSET', key, 'd', ARGV[2], 'c', ARGV[3], 'e', ARGV[4], 'v', ARGV[5], 'u', ARGV[7])
else
  redis.call('HSET', key, 'd', ARGV[2], 'c', ARGV[3], 'e', ARGV[4], 'v', ARGV[5])
end
if ARGV[8] ~= '' then redis.call('PEXPIREAT', key, ARGV[8]) end
return {1, previous_user}
"""

#: KEYS[1] session hash. ARGV: expires_at, expiry in ms ('' = never). Never creates
#: and never shortens: a missing key, or one whose stored expiry is not earlier than
#: the new one (a save wrote a later expiry after this touch was queued), returns 0
#: and is left alone, user index included. Otherwise {1, user id or nil}.
TOUCH_SCRIPT = """
local key = KEYS[1]
local stored = redis.call('HMGET', key, 'e', 'u')
if stored[1] == false then return 0 end
local current = tonumber(stored[1])
if current and current >= tonumber(ARGV[1]) then return 0 end
local user = stored[2]
redis.call('HSET', key, 'e', ARGV[1])
if ARGV[2] == '' then redis.call('PERSIST', key) else redis.call('PEXPIREAT', key, ARGV[2]) end
return {1, user}
"""

#: KEYS[1] session hash. Returns {keys removed, user id or nil}.
DELETE_SCRIPT = """
local user = redis.call('HGET', KEYS[1], 'u')
return {redis.call('DEL', KEYS[1]), user}
"""

#: KEYS[1] a user's index: a sorted set of session keys scored by their expiry (ms).
#: ARGV: session key, its expiry in ms, now in ms. Drops members whose expiry has
#: passed, and keeps the set's own TTL at its latest member's expiry, so the index
#: never outlives its sessions and never grows with dead ones.
INDEX_SCRIPT = f"""
local key = KEYS[1]
redis.call('ZADD', key, ARGV[2], ARGV[1])
redis.call('ZREMRANGEBYSCORE', key, '-inf', '(' .. ARGV[3])
local last = redis.call('ZRANGE', key, -1, -1, 'WITHSCORES')
if #last == 0 then return 0 end
if tonumber(last[2]) >= {NEVER_MS} then
  redis.call('PERSIST', key)
else
  redis.call('PEXPIREAT', key, last[2])
end
return 1
"""


# -------------------------------------------------------------- key layout


def glob_escape(text: str) -> str:
    """``text`` as a literal in a SCAN ``MATCH`` pattern."""
    return "".join(f"\\{char}" if char in "*?[]\\" else char for char in text)


class KeyLayout:
    """Key names. Session ``<prefix>{<key>}``, user index ``<prefix>user:{<user>}``.

    The braces are Cluster hash tags: each key names its own slot, and no operation
    ever needs two keys in one command, so nothing is cross-slot.
    """

    def __init__(self, prefix: str) -> None:
        if "{" in prefix or "}" in prefix:
            raise RedisURLError(f"a key prefix may not contain '{{' or '}}': {prefix!r}")
        self.prefix = prefix
        self._session_start = f"{prefix}{{"
        self.session_pattern = glob_escape(prefix) + "{*}"
        self.user_pattern = glob_escape(prefix) + "user:{*}"

    def session(self, id: str) -> str:
        return f"{self._session_start}{id}}}"

    def user(self, user_id: str) -> str:
        return f"{self.prefix}user:{{{user_id}}}"

    def id_of(self, key: bytes | str) -> str:
        text = key.decode() if isinstance(key, bytes) else key
        return text[len(self._session_start) : -1]


# ------------------------------------------------------------ record codec


def expiry_ms(expires_at: float) -> str:
    """PEXPIREAT argument; '' for ``NEVER`` (no TTL at all)."""
    return "" if expires_at >= NEVER else str(math.floor(expires_at * 1000))


def index_score(expires_at: float) -> int:
    return NEVER_MS if expires_at >= NEVER else math.floor(expires_at * 1000)


def save_args(record: Record, expected_version: int) -> list[Any]:
    has_user = record.user_id is not None
    return [
        expected_version,
        record.data,
        repr(float(record.created_at)),
        repr(float(record.expires_at)),
        record.version,
        "1" if has_user else "0",
        record.user_id if has_user else "",
        expiry_ms(record.expires_at),
    ]


def touch_args(expires_at: float) -> list[Any]:
    return [repr(float(expires_at)), expiry_ms(expires_at)]


def record_from_fields(id: str, values: list[Any]) -> Record | None:
    """``HMGET d c e v u`` reply -> Record (None when the key does not exist)."""
    data, created, expires, version, user = values
    if data is None or version is None:
        return None
    return Record(
        id,
        data,
        float(created),
        float(expires),
        int(version),
        None if user is None else user.decode(),
    )


def decode_user(value: Any) -> str | None:
    return None if value is None else value.decode()


# ---------------------------------------------------------------- settings

SCHEMES: dict[str, tuple[str, bool]] = {
    "redis": ("standalone", False),
    "rediss": ("standalone", True),
    "redis+sentinel": ("sentinel", False),
    "redis+cluster": ("cluster", False),
    "valkey": ("standalone", False),
    "valkeys": ("standalone", True),
    "valkey+sentinel": ("sentinel", False),
    "valkey+cluster": ("cluster", False),
}


@dataclass(frozen=True)
class RedisSettings:
    """Everything a URL plus keyword options say. Frozen and hashable: the key of
    the shared-client cache, so equal settings share one connection pool."""

    mode: str  # standalone | sentinel | cluster
    hosts: tuple[tuple[str, int], ...]
    db: int = 0
    service: str = ""  # sentinel master name
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    ssl: bool = False
    prefix: str = DEFAULT_PREFIX
    socket_timeout: float = DEFAULT_TIMEOUT
    socket_connect_timeout: float = DEFAULT_TIMEOUT
    max_connections: int | None = None
    retries: int = -1  # -1: the mode's default (1 standalone/sentinel, 3 cluster)
    health_check_interval: int = 0
    ssl_cert_reqs: str | None = None
    ssl_ca_certs: str | None = None
    ssl_certfile: str | None = None
    ssl_keyfile: str | None = None
    sentinel_username: str | None = None
    sentinel_password: str | None = field(default=None, repr=False)

    def connection_options(self) -> dict[str, Any]:
        """Keyword arguments every redis-py client class accepts."""
        options: dict[str, Any] = {
            "username": self.username,
            "password": self.password,
            "socket_timeout": self.socket_timeout,
            "socket_connect_timeout": self.socket_connect_timeout,
            "health_check_interval": self.health_check_interval,
        }
        if self.max_connections is not None:
            options["max_connections"] = self.max_connections
        if self.ssl:
            options["ssl"] = True
            for name in ("ssl_cert_reqs", "ssl_ca_certs", "ssl_certfile", "ssl_keyfile"):
                if getattr(self, name) is not None:
                    options[name] = getattr(self, name)
        return options

    def sentinel_options(self) -> dict[str, Any]:
        """Keyword arguments for the connections to the sentinels themselves."""
        return {
            "username": self.sentinel_username,
            "password": self.sentinel_password,
            "socket_timeout": self.socket_timeout,
            "socket_connect_timeout": self.socket_connect_timeout,
        }

    @property
    def retry_count(self) -> int:
        if self.retries >= 0:
            return self.retries
        return 3 if self.mode == "cluster" else 1


_FLOAT_OPTIONS = {"socket_timeout", "socket_connect_timeout"}
_INT_OPTIONS = {"db", "max_connections", "retries", "health_check_interval"}
_BOOL_OPTIONS = {"ssl"}
_STR_OPTIONS = {
    "prefix",
    "username",
    "password",
    "ssl_cert_reqs",
    "ssl_ca_certs",
    "ssl_certfile",
    "ssl_keyfile",
    "sentinel_username",
    "sentinel_password",
}
OPTIONS = _FLOAT_OPTIONS | _INT_OPTIONS | _BOOL_OPTIONS | _STR_OPTIONS


def _convert(name: str, value: Any) -> Any:
    try:
        if name in _FLOAT_OPTIONS:
            number = float(value)
            if not number > 0:
                raise ValueError("must be positive")
            return number
        if name in _INT_OPTIONS:
            return int(value)
        if name in _BOOL_OPTIONS:
            if isinstance(value, bool):
                return value
            text = str(value).lower()
            if text not in {"1", "0", "true", "false", "yes", "no"}:
                raise ValueError("expected true or false")
            return text in {"1", "true", "yes"}
        return None if value is None else str(value)
    except (TypeError, ValueError) as exc:
        raise RedisURLError(f"bad value for Redis store option {name}: {value!r} ({exc})") from exc


def _split_hosts(netloc: str, url: str) -> tuple[tuple[str, int], ...]:
    hosts = []
    for item in netloc.split(","):
        if not item:
            continue
        if item.startswith("["):  # [::1]:6379
            host, _, rest = item[1:].partition("]")
            port_text = rest.removeprefix(":")
        else:
            host, _, port_text = item.partition(":")
        try:
            port = int(port_text) if port_text else 6379
        except ValueError:
            raise RedisURLError(f"bad port {port_text!r} in {redact_url(url)}") from None
        hosts.append((host or "localhost", port))
    return tuple(hosts) or (("localhost", 6379),)


def _path_parts(mode: str, path: str, url: str) -> dict[str, Any]:
    parts = [unquote(part) for part in path.split("/") if part]
    found: dict[str, Any] = {}
    if mode == "sentinel":
        if not parts:
            raise RedisURLError(
                f"a sentinel URL names its master: redis+sentinel://host:port/<service>[/db], "
                f"got {redact_url(url)}"
            )
        found["service"], parts = parts[0], parts[1:]
    if parts:
        if mode == "cluster" or len(parts) > 1:
            raise RedisURLError(f"unexpected path in {redact_url(url)}")
        found["db"] = parts[0]
    return found


def parse_url(url: str, options: Mapping[str, Any]) -> RedisSettings:
    """Settings from a store URL; keyword ``options`` override its query."""
    scheme, sep, rest = url.partition("://")
    if not sep or scheme.lower() not in SCHEMES:
        raise RedisURLError(f"not a Redis store URL: {redact_url(url)}")
    mode, tls = SCHEMES[scheme.lower()]
    rest, _, query = rest.partition("?")
    netloc, _, path = rest.partition("/")
    userinfo, at, hostlist = netloc.rpartition("@")
    values: dict[str, Any] = {"ssl": tls}
    if at:
        user, colon, password = userinfo.partition(":")
        values["username"] = unquote(user) or None
        values["password"] = unquote(password) if colon else None
    values.update(_path_parts(mode, path, url))
    values.update(parse_qsl(query, keep_blank_values=True))
    values.update(options)
    unknown = sorted(set(values) - OPTIONS - {"service"})
    if unknown:
        raise RedisURLError(
            f"unknown Redis store option(s) {unknown}; known: {sorted(OPTIONS)} "
            f"(in {redact_url(url)})"
        )
    converted = {
        name: (value if name == "service" else _convert(name, value))
        for name, value in values.items()
    }
    if mode == "cluster" and converted.get("db", 0) != 0:
        raise RedisURLError("Redis Cluster has only database 0")
    KeyLayout(converted.get("prefix", DEFAULT_PREFIX))  # validates the prefix
    return RedisSettings(mode=mode, hosts=_split_hosts(hostlist, url), **converted)


assert {f.name for f in fields(RedisSettings)} >= OPTIONS


# ------------------------------------------------------------------- errors

#: Errors meaning "the server cannot be reached or cannot serve right now".
UNAVAILABLE: tuple[type[BaseException], ...] = (
    redis_errors.ConnectionError,  # includes AuthenticationError, MasterNotFoundError
    redis_errors.TimeoutError,
    redis_errors.ClusterError,  # CLUSTERDOWN, MASTERDOWN, "TTL exhausted"
    redis_errors.TryAgainError,
    redis_errors.ReadOnlyError,  # a write reached a demoted master mid-failover
    redis_errors.RedisClusterException,  # no reachable node, slot not covered
    OSError,
    TimeoutError,
)


@contextlib.contextmanager
def translate_errors(url: str) -> Iterator[None]:
    """Re-raise redis-py errors as ``StoreUnavailable`` / ``StoreError`` (URL redacted)."""
    try:
        yield
    except StoreError:
        raise
    except UNAVAILABLE as exc:
        raise StoreUnavailable(url, f"{type(exc).__name__}: {exc}") from exc
    except redis_errors.RedisError as exc:
        raise StoreError(f"session store {redact_url(url)} failed: {exc}") from exc


# ------------------------------------------------------------ shared clients


@dataclass(eq=False)
class ClientLease:
    """One store's share of a cached client; hand it back to ``SharedClients.release``."""

    client: Any
    key: tuple[Any, ...] | None  # None: a private client, never cached
    loop: weakref.ReferenceType[Any] | None = None
    refs: int = 0


def _running_loop() -> Any | None:
    import asyncio  # only the async store asks, so sync users never import asyncio

    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


class SharedClients:
    """One client (so one connection pool) per process, flavour, event loop and
    settings, reference-counted: the last store to close it closes the client.

    Async clients belong to the loop they first ran on, so they are shared only
    within that loop; one made outside a running loop is private to its store.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._leases: dict[tuple[Any, ...], ClientLease] = {}

    def acquire(
        self, settings: RedisSettings, is_async: bool, make: Callable[[], Any]
    ) -> ClientLease:
        loop = _running_loop() if is_async else None
        if is_async and loop is None:
            return ClientLease(make(), None, refs=1)
        key = (is_async, os.getpid(), id(loop), settings)
        with self._lock:
            lease = self._leases.get(key)
            # An id can be reused by a new loop once the old one is gone.
            if lease is not None and lease.loop is not None and lease.loop() is not loop:
                lease = None
            if lease is None:
                lease = ClientLease(make(), key, weakref.ref(loop) if loop is not None else None)
                self._leases[key] = lease
            lease.refs += 1
            return lease

    def release(self, lease: ClientLease) -> bool:
        """Give one reference back; True when the caller should close the client."""
        with self._lock:
            lease.refs -= 1
            if lease.refs > 0:
                return False
            if lease.key is not None and self._leases.get(lease.key) is lease:
                del self._leases[lease.key]
            return lease.refs == 0


CLIENTS = SharedClients()
