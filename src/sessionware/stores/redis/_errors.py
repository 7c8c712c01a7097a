"""What can go wrong talking to Redis, and how it is reported: ``RedisURLError`` for
a URL or option that cannot be used, and redis-py's errors translated to
``StoreUnavailable`` / ``StoreError`` with the URL redacted and the reason short.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator

from redis import exceptions as redis_errors

from ...errors import SessionwareError, StoreError, StoreUnavailable, redact_text, redact_url

__all__ = [
    "REDIS_ERRORS",
    "UNAVAILABLE",
    "RedisURLError",
    "error_reason",
    "is_transient",
    "outcome_unknown",
    "store_error",
    "translate_errors",
]


class RedisURLError(SessionwareError, ValueError):
    """A Redis store URL or option that cannot be used."""


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


#: Unavailable, but not for a failover to cure: bad credentials or permissions.
_PERMANENT: tuple[type[BaseException], ...] = (
    redis_errors.AuthenticationError,
    redis_errors.AuthorizationError,
)

#: Errors after which the server may or may not have run the command: the
#: connection broke or timed out after it was sent. The others of ``UNAVAILABLE``
#: (CLUSTERDOWN, MASTERDOWN, TRYAGAIN, READONLY, MOVED...) are refusals: nothing ran.
_UNKNOWN_OUTCOME: tuple[type[BaseException], ...] = (
    redis_errors.ConnectionError,
    redis_errors.TimeoutError,
    OSError,
    TimeoutError,
)


def is_transient(exc: BaseException) -> bool:
    """Whether ``exc`` may pass once a failover completes (retry it until the deadline)."""
    return isinstance(exc, UNAVAILABLE) and not isinstance(exc, _PERMANENT)


def outcome_unknown(exc: BaseException) -> bool:
    """Whether a write that raised ``exc`` may have been applied all the same."""
    return isinstance(exc, _UNKNOWN_OUTCOME) and not isinstance(exc, redis_errors.BusyLoadingError)


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
#: A Sentinel failure lists each sentinel as ``server host:port - ConnectionError:
#: Error N connecting to host:port. <reason>``, up to the next one.
_SERVER_FAILURE = re.compile(
    r"server (?P<address>\S+) - ConnectionError: Error (?P<errno>-?\d+) connecting to "
    r"(?P=address)\. (?P<rest>.*?)(?=, server |$)"
)


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
    text = _SERVER_FAILURE.sub(_short_failure, text)
    text = " ".join(text.split()) or type(exc).__name__
    text = redact_text(text, url)
    return text if len(text) <= MAX_REASON else text[: MAX_REASON - 1] + "\u2026"


def _short_failure(match: re.Match[str]) -> str:
    """One sentinel's failure without what its ``server host:port`` already says:
    ``Error 111 connecting to host:port. Connection refused.`` (or asyncio's
    ``Connect call failed ('host', port).``) is ``Connection refused``."""
    code = int(match["errno"])
    reason = os.strerror(code) if code > 0 else match["rest"].strip()
    return f"server {match['address']} - ConnectionError: {reason}"


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
