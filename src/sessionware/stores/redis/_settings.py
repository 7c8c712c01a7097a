"""Store URLs and options: ``redis://``, ``rediss://``, ``redis+sentinel://``,
``redis+cluster://`` and their ``valkey`` spellings, parsed into ``RedisSettings``
(the topology, the connection options, the key prefix)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any
from urllib.parse import parse_qsl, unquote

from ...errors import redact_url
from .._failover import DEFAULT_FAILOVER_TIMEOUT
from ._errors import RedisURLError
from ._keys import DEFAULT_PREFIX, KeyLayout

__all__ = [
    "DEFAULT_FAILOVER_TIMEOUT",
    "DEFAULT_TIMEOUT",
    "DEFAULT_WAIT_TIMEOUT_MS",
    "OPTIONS",
    "SCHEMES",
    "RedisSettings",
    "parse_url",
]

DEFAULT_TIMEOUT = 2.0  # seconds, for connecting and for each reply
#: Milliseconds a write waits for ``wait_replicas`` replicas to acknowledge it.
DEFAULT_WAIT_TIMEOUT_MS = 500

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
    retries: int = -1  # -1: the default, 0 (the store retries, see failover_timeout)
    failover_timeout: float = DEFAULT_FAILOVER_TIMEOUT
    # WAIT <wait_replicas> <wait_timeout_ms> after each session write (0: off).
    wait_replicas: int = 0
    wait_timeout_ms: int = DEFAULT_WAIT_TIMEOUT_MS
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
        """redis-py's own retries of a command. None by default: a retry there would
        send a compare-and-set again without knowing whether the first one was
        applied; the store retries instead, until ``failover_timeout``, and checks
        the record before it sends a write whose outcome it does not know."""
        return max(self.retries, 0)


_FLOAT_OPTIONS = {"socket_timeout", "socket_connect_timeout"}
_DURATION_OPTIONS = {"failover_timeout"}  # 0 allowed: no retries
_INT_OPTIONS = {"db", "max_connections", "retries", "health_check_interval"}
_COUNT_OPTIONS = {"wait_replicas"}  # 0 allowed: off
_MILLISECOND_OPTIONS = {"wait_timeout_ms"}  # positive: WAIT 0 would wait forever
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
OPTIONS = (
    _FLOAT_OPTIONS
    | _DURATION_OPTIONS
    | _INT_OPTIONS
    | _COUNT_OPTIONS
    | _MILLISECOND_OPTIONS
    | _BOOL_OPTIONS
    | _STR_OPTIONS
)


def _convert(name: str, value: Any) -> Any:
    try:
        if name in _FLOAT_OPTIONS:
            number = float(value)
            if not number > 0:
                raise ValueError("must be positive")
            return number
        if name in _DURATION_OPTIONS:
            number = float(value)
            if not number >= 0:
                raise ValueError("must not be negative")
            return number
        if name in _INT_OPTIONS:
            return int(value)
        if name in _COUNT_OPTIONS:
            count = int(value)
            if count < 0:
                raise ValueError("must not be negative")
            return count
        if name in _MILLISECOND_OPTIONS:
            milliseconds = int(value)
            if milliseconds <= 0:
                raise ValueError("must be positive")
            return milliseconds
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
    settings = RedisSettings(mode=mode, hosts=_split_hosts(hostlist, url), **converted)
    if settings.wait_replicas and settings.wait_timeout_ms >= settings.socket_timeout * 1000:
        # The reply to a write comes after WAIT: the socket must wait longer.
        raise RedisURLError(
            f"wait_timeout_ms ({settings.wait_timeout_ms}) must be shorter than "
            f"socket_timeout ({settings.socket_timeout} s) in {redact_url(url)}"
        )
    return settings


assert {f.name for f in fields(RedisSettings)} >= OPTIONS
