"""What the sync and async Redis stores share: URL parsing, key layout, Lua scripts,
error translation and the per-process client cache.

Hand-written and flavour-neutral: ``_async/redis.py`` (and its generated sync twin)
build clients and talk to the server; everything here is plain Python.
"""

from __future__ import annotations

import contextlib
import inspect
import math
import os
import re
import struct
import threading
import weakref
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, fields
from typing import Any
from urllib.parse import parse_qsl, unquote

from redis import exceptions as redis_errors

from ..core.record import NEVER, Record
from ..errors import SessionwareError, StoreError, StoreUnavailable, redact_text, redact_url

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

# A record is one string: a fixed header, the user id, then the data, with the
# record's expiry as the key's native TTL. A string because a session is read
# whole and written whole: a load is one GET whose reply is sliced here (a hash
# needs HMGET and five replies to convert), and the compare-and-set script makes
# two calls (GETRANGE of the header, SET with PXAT) where a hash needs five.
#
#   offset  0  version         int64    compare-and-set compares these 8 bytes
#   offset  8  expires_at      float64  touch_many overwrites it in place
#   offset 16  created_at      float64
#   offset 24  user id length  int32    -1 when the session is anonymous
#   offset 28  user id (UTF-8), then the data
#
# Big-endian, so the Lua scripts read the same fields with struct.unpack.
HEADER = struct.Struct(">qddi")
VERSION, EXPIRY, USER_LEN = struct.Struct(">q"), struct.Struct(">d"), struct.Struct(">i")
USER_AT = HEADER.size  # 28: where the user id starts
ANONYMOUS = -1
NEVER_MS = int(NEVER * 1000)
#: ``save_args`` marker for "write whatever is stored" (``save``, not compare-and-set).
ANY_VERSION = b"*"


class RedisURLError(SessionwareError, ValueError):
    """A Redis store URL or option that cannot be used."""


# ------------------------------------------------------------------ scripts

#: KEYS[1] session key. ARGV[1]: the 8 version bytes the stored record must start
#: with, '' when it must not exist, or '*' (write unconditionally); ARGV[2] the new
#: value; ARGV[3] PXAT in ms ('' = never expires); ARGV[4] '1' when the caller has
#: just indexed the new value's user and expiry, '' when it has not: then the script
#: writes only if both stay what they are (so the index entry is right already),
#: and otherwise answers 2 (REINDEX) and writes nothing.
#: Returns 0 when the version did not match, else 1, or the previous user id when
#: this write moved the record away from that user (so its index entry can go).
#: The old header is read only as far as the new one reaches: when the user is
#: unchanged, that is all of it.
SAVE_SCRIPT = """
local key, value = KEYS[1], ARGV[2]
local head_len = 28 + math.max(struct.unpack('>i4', value, 25), 0)
local old = redis.call('GETRANGE', key, 0, head_len - 1)
if ARGV[1] ~= '*' and string.sub(old, 1, 8) ~= ARGV[1] then return 0 end
local same_user = string.sub(old, 25) == string.sub(value, 25, head_len)
if ARGV[4] == '' and not (same_user and string.sub(old, 9, 16) == string.sub(value, 9, 16)) then
  return 2
end
local result = 1
if #old >= 28 and not same_user then
  local old_user_len = struct.unpack('>i4', old, 25)
  if old_user_len >= 0 then result = redis.call('GETRANGE', key, 28, 27 + old_user_len) end
end
if ARGV[3] == '' then
  redis.call('SET', key, value)
else
  redis.call('SET', key, value, 'PXAT', ARGV[3])
end
return result
"""
#: ``SAVE_SCRIPT``'s answer when it wrote nothing because the index needs updating first.
REINDEX = 2

#: KEYS[1] session key. ARGV: the new expires_at as 8 bytes (float64), expiry in ms
#: ('' = never). Never creates and never shortens: a missing key, or one whose
#: stored expiry is not earlier than the new one (a save wrote a later expiry after
#: this touch was queued), returns 0 and is left alone, user index included.
#: Otherwise the expiry is overwritten in place (the data is not rewritten) and the
#: script returns 1, or the user id of a logged-in session.
TOUCH_SCRIPT = """
local key = KEYS[1]
local head = redis.call('GETRANGE', key, 0, 27)
if #head < 28 then return 0 end
if struct.unpack('>d', head, 9) >= struct.unpack('>d', ARGV[1]) then return 0 end
redis.call('SETRANGE', key, 8, ARGV[1])
if ARGV[2] == '' then redis.call('PERSIST', key) else redis.call('PEXPIREAT', key, ARGV[2]) end
local user_len = struct.unpack('>i4', head, 25)
if user_len < 0 then return 1 end
return redis.call('GETRANGE', key, 28, 27 + user_len)
"""

#: KEYS[1] session key. Returns {keys removed, user id or nil}.
DELETE_SCRIPT = """
local key = KEYS[1]
local head = redis.call('GETRANGE', key, 0, 27)
local user = false
if #head == 28 then
  local user_len = struct.unpack('>i4', head, 25)
  if user_len >= 0 then user = redis.call('GETRANGE', key, 28, 27 + user_len) end
end
return {redis.call('DEL', key), user}
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


#: KEYS[1] a user's revocation marker, the string '<revoked_at> <keep_until ms>'.
#: ARGV: revoked_at, keep_until in ms. Keeps the later of each (neither ever moves
#: back) and expires the marker at its keep_until (PXAT): one atomic call.
MARK_REVOKED_SCRIPT = f"""
local key, at, till = KEYS[1], ARGV[1], ARGV[2]
local old = redis.call('GET', key)
if old then
  local old_at, old_till = string.match(old, '^(%S+) (%S+)$')
  if old_at and tonumber(old_at) and tonumber(old_till) then
    if tonumber(old_at) > tonumber(at) then at = old_at end
    if tonumber(old_till) > tonumber(till) then till = old_till end
  end
end
if tonumber(till) >= {NEVER_MS} then
  redis.call('SET', key, at .. ' ' .. till)
else
  redis.call('SET', key, at .. ' ' .. till, 'PXAT', till)
end
return 1
"""


def marker_args(revoked_at: float, keep_until: float) -> list[str]:
    """ARGV of ``MARK_REVOKED_SCRIPT``: repr round-trips the float exactly."""
    return [repr(float(revoked_at)), str(index_score(max(keep_until, 0.001)))]


def marker_revoked_at(value: bytes | str | None, now: float) -> float | None:
    """``revoked_at`` of a stored marker still kept at ``now``; None if none is."""
    if value is None:
        return None
    text = value.decode() if isinstance(value, bytes) else value
    try:
        at, till = text.split(" ")
        revoked_at, keep_until_ms = float(at), int(till)
    except ValueError:
        return None  # not a marker this store wrote: as if there were none
    return revoked_at if keep_until_ms > now * 1000 else None


# -------------------------------------------------------------- key layout


def glob_escape(text: str) -> str:
    """``text`` as a literal in a SCAN ``MATCH`` pattern."""
    return "".join(f"\\{char}" if char in "*?[]\\" else char for char in text)


class KeyLayout:
    """Key names. Session ``<prefix>{<key>}``, user index ``<prefix>user:{<user>}``,
    revocation marker ``<prefix>revoked:{<user>}`` (the user index's slot).

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
        self.revoked_pattern = glob_escape(prefix) + "revoked:{*}"

    def session(self, id: str) -> str:
        return f"{self._session_start}{id}}}"

    def user(self, user_id: str) -> str:
        return f"{self.prefix}user:{{{user_id}}}"

    def revoked(self, user_id: str) -> str:
        return f"{self.prefix}revoked:{{{user_id}}}"

    def id_of(self, key: bytes | str) -> str:
        text = key.decode() if isinstance(key, bytes) else key
        return text[len(self._session_start) : -1]


# ------------------------------------------------------------ record codec


def expiry_ms(expires_at: float) -> str:
    """PXAT / PEXPIREAT argument; '' for ``NEVER`` (no TTL at all). At least 1: the
    server refuses 0, and any past time removes the key as it should."""
    return "" if expires_at >= NEVER else str(max(1, math.floor(expires_at * 1000)))


def index_score(expires_at: float) -> int:
    return NEVER_MS if expires_at >= NEVER else math.floor(expires_at * 1000)


def record_value(record: Record) -> bytes:
    """The stored string: header, user id, data."""
    user = record.user_id
    if user is None:
        head = HEADER.pack(record.version, record.expires_at, record.created_at, ANONYMOUS)
        return head + record.data
    name = user.encode()
    head = HEADER.pack(record.version, record.expires_at, record.created_at, len(name))
    return head + name + record.data


def save_args(record: Record, expected_version: int, *, indexed: bool = True) -> list[Any]:
    """ARGV of ``SAVE_SCRIPT``; ``expected_version`` -1 writes unconditionally.
    ``indexed=False``: write only if the user and the expiry stay as stored."""
    if expected_version < 0:
        expected = ANY_VERSION
    elif expected_version == 0:
        expected = b""  # GETRANGE of a missing key: the record must not exist
    else:
        expected = VERSION.pack(expected_version)
    return [expected, record_value(record), expiry_ms(record.expires_at), "1" if indexed else ""]


def create_command(key: str, record: Record) -> list[Any]:
    """SET NX: "must not exist" is the server's own compare-and-set, so a new
    anonymous record needs no script (a fifth of the server's work for one)."""
    expiry = expiry_ms(record.expires_at)
    command: list[Any] = ["SET", key, record_value(record), "NX"]
    return [*command, "PXAT", expiry] if expiry else command


def touch_args(expires_at: float) -> list[bytes | str]:
    return [EXPIRY.pack(expires_at), expiry_ms(expires_at)]


def record_from_value(id: str, value: bytes, url: str) -> Record | None:
    """A ``GET`` reply -> Record; None for a value this store did not write (the
    caller logs it with ``log_damaged`` and removes it, as the other stores do)."""
    if len(value) >= USER_AT:
        version, expires_at, created_at, user_len = HEADER.unpack_from(value)
        if user_len == ANONYMOUS:
            return Record(id, value[USER_AT:], created_at, expires_at, version, None)
        data_at = USER_AT + user_len
        if user_len >= 0 and data_at <= len(value):
            try:
                user = value[USER_AT:data_at].decode()
            except UnicodeDecodeError:
                pass
            else:
                return Record(id, value[data_at:], created_at, expires_at, version, user)
    return None


def owner_span(user_id: str) -> tuple[int, int, bytes]:
    """``GETRANGE`` start and end over a record's user id length and user id, and
    the bytes they hold when the record belongs to ``user_id``."""
    name = user_id.encode()
    return USER_AT - USER_LEN.size, USER_AT + len(name) - 1, USER_LEN.pack(len(name)) + name


#: What ``GETRANGE`` over ``owner_span`` starts with for an anonymous record.
ANONYMOUS_OWNER = USER_LEN.pack(ANONYMOUS)


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
    retries: int = -1  # -1: the mode's default (1 standalone/sentinel, 6 cluster)
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
    def reuses_connections(self) -> bool:
        """Whether the store may keep connections between commands (``IdleConnections``):
        not in a Cluster (redis-py routes each command to its node), and not when
        ``max_connections`` bounds the pool, which kept connections would drain."""
        return self.mode != "cluster" and self.max_connections is None

    @property
    def retry_count(self) -> int:
        if self.retries >= 0:
            return self.retries
        # A Cluster failover takes its node timeout plus a topology refresh that
        # redis-py runs only once due: six jittered tries (about 2 s) ride it out.
        return 6 if self.mode == "cluster" else 1


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


#: Everything ``store_error`` translates. Hot paths catch it in a plain ``try``
#: (free in CPython 3.11 when nothing is raised); a ``@contextmanager`` costs a
#: generator and two calls, ~1 us per operation. ``RedisClusterException`` (no
#: reachable startup node...) is not a ``RedisError``.
REDIS_ERRORS: tuple[type[BaseException], ...] = (
    redis_errors.RedisError,
    redis_errors.RedisClusterException,
    OSError,
)

#: Longest reason an error message carries: a log line, not a dump.
MAX_REASON = 400
_CLIENT_REPR = "<redis."
_HOST_PORT = re.compile(r"\bhost=([^,()<>]+),port=(\d+)")
#: redis-py 6+ reprs its errors as ``network:ConnectionError``; the class name says it.
_ERROR_REPR = re.compile(r"\b[a-z_]+:([A-Z]\w*Error)\b")


def store_error(url: str, exc: BaseException) -> StoreError:
    """``exc`` (one of ``REDIS_ERRORS``) as ``StoreUnavailable`` / ``StoreError``,
    URL redacted, reason on one line. Raise it ``from exc``."""
    reason = error_reason(url, exc)
    if isinstance(exc, UNAVAILABLE):
        return StoreUnavailable(url, f"{type(exc).__name__}: {reason}")
    return StoreError(f"session store {redact_url(url)} failed: {reason}")


def error_reason(url: str, exc: BaseException) -> str:
    """What redis-py said, on one line and short: Sentinel failures embed the full
    repr of each sentinel's client (over 1,000 characters each), which is cut down
    to the address it names; the URL's password never appears."""
    text = _ERROR_REPR.sub(r"\1", _without_client_reprs(str(exc)))
    text = " ".join(text.split()) or type(exc).__name__
    text = redact_text(text, url)
    return text if len(text) <= MAX_REASON else text[: MAX_REASON - 1] + "\u2026"


def _without_client_reprs(text: str) -> str:
    """``text`` with each ``<redis.client.Redis(<...ConnectionPool(<...>)>)>`` replaced
    by the ``host:port`` it names (the reprs nest, so brackets are counted)."""
    parts: list[str] = []
    position = 0
    while (start := text.find(_CLIENT_REPR, position)) != -1:
        depth, end = 0, len(text)
        for index in range(start, len(text)):
            if text[index] == "<":
                depth += 1
            elif text[index] == ">":
                depth -= 1
                if depth == 0:
                    end = index + 1
                    break
        address = _HOST_PORT.search(text, start, end)
        parts += [text[position:start], f"server {address[1]}:{address[2]}" if address else ""]
        position = end
    parts.append(text[position:])
    return "".join(parts)


@contextlib.contextmanager
def translate_errors(url: str) -> Iterator[None]:
    """Re-raise redis-py errors as ``StoreUnavailable`` / ``StoreError`` (URL redacted)."""
    try:
        yield
    except StoreError:
        raise
    except REDIS_ERRORS as exc:
        raise store_error(url, exc) from exc


# ------------------------------------------------------------ shared clients


class _Forks:
    """How many times this process was forked into being (0 in the original)."""

    count = 0


def _forked() -> None:
    _Forks.count += 1


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forked)


def _checkout_args() -> tuple[str, ...]:
    """What ``pool.get_connection`` takes: redis-py before 5.3 requires a command
    name (unused by plain pools); later ones warn when it is given."""
    from redis.connection import ConnectionPool

    parameter = inspect.signature(ConnectionPool.get_connection).parameters.get("command_name")
    return ("GET",) if parameter is not None and parameter.default is parameter.empty else ()


#: Arguments for ``pool.get_connection(*CHECKOUT_ARGS)``, sync and asyncio alike.
CHECKOUT_ARGS = _checkout_args()


class IdleConnections:
    """Connections a store keeps between its single commands (GET, SET, EVALSHA).

    redis-py checks a connection out of its pool and back in around every command
    (pid checks, a poll for stray data, locks, usage metrics, events) and wraps the
    command in metrics: of the 133k instructions a GET costs the sync client, 98k;
    of the asyncio client's 320k, 105k. A store takes a connection from the pool
    once and keeps it here, and runs its commands on it with the connection's own
    retry policy. One goes back here only after a complete reply was read, so it
    holds no stray data; one whose command failed is disconnected and handed back
    to the pool. The list holds at most as many connections as commands ran at
    once. A forked child starts empty: its parent's connections share their
    sockets with the parent.
    """

    def __init__(self) -> None:
        self._forks = _Forks.count
        self._idle: list[Any] = []

    def take(self) -> Any | None:
        if self._forks != _Forks.count:
            self._forks, self._idle = _Forks.count, []
        try:
            return self._idle.pop()
        except IndexError:
            return None

    def put(self, connection: Any) -> None:
        self._idle.append(connection)

    def drain(self) -> list[Any]:
        """Every kept connection (none after a fork), to hand back to the pool."""
        idle, self._idle = self._idle, []
        return idle if self._forks == _Forks.count else []


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
