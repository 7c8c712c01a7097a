"""What every subcommand shares: the context object, opening a store, and turning
failures into one line on stderr with a conventional exit code."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from typing import Any

import click
from rich.console import Console

from ..core.signing import store_key
from ..errors import SessionwareError, StoreError, redact_url
from ..stores.registry import MissingExtraError, UnknownStoreError, install_hint, open_store

__all__ = [
    "CliContext",
    "CliError",
    "CliUsageError",
    "batch_size_option",
    "err",
    "explain",
    "opened_store",
    "out",
    "resolve_key",
]

#: Output that is not a terminal (a pipe, a file) is not cut to 80 columns.
PIPE_WIDTH = 160


def batch_size_option(
    default: int, help: str, maximum: int | None = None
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``--batch-size``: how many sessions one bounded batch of a bulk command handles."""
    return click.option(
        "--batch-size",
        default=default,
        show_default=True,
        type=click.IntRange(min=1, max=maximum),
        help=help,
    )


def out() -> Console:
    """A console on the current stdout (made per use: click's test runner swaps it)."""
    console = Console(highlight=False, soft_wrap=True)
    if not console.is_terminal:
        console.width = max(console.width, PIPE_WIDTH)
    return console


def err() -> Console:
    """A console on the current stderr, for progress bars and prompts."""
    return Console(stderr=True, highlight=False)


#: The extra that brings each third-party module a store may import.
EXTRA_FOR_MODULE = {
    "redis": "redis",
    "hiredis": "redis",
    "sqlalchemy": "sql",
    "psycopg": "postgres",
    "psycopg2": "postgres",
    "asyncpg": "postgres",
    "pymysql": "mysql",
    "aiomysql": "mysql",
    "aiosqlite": "sqlite-async",
    "jinja2": "cli",
    "click": "cli",
    "rich": "cli",
}

KNOWN_SCHEMES = (
    "memory://, file://, dbm://, sqlite://, redis://, postgresql+psycopg://, mysql+pymysql://"
)

_STORE_KEY = re.compile(r"[0-9a-f]{40}")
_SESSION_ID = re.compile(r"[A-Za-z0-9_-]{43}")


class CliError(click.ClickException):
    """A runtime failure: printed as one ``Error: ...`` line, exit status 1."""

    exit_code = 1


class CliUsageError(click.ClickException):
    """Bad input on the command line (one line, no usage block): exit status 2."""

    exit_code = 2


@dataclass
class CliContext:
    """``click``'s ``obj``: how stores are opened (a seam for embedding and tests)
    and whether to show tracebacks."""

    open_store: Callable[[str], Any] = field(default=open_store)
    debug: bool = False


def _one_line(text: str) -> str:
    # Driver errors (SQLAlchemy, redis) can span lines; the first one says what happened.
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[0] if lines else ""


def explain(exc: BaseException) -> click.ClickException:
    """The one-line CLI error for an exception raised while running a command."""
    if isinstance(exc, click.ClickException):
        return exc
    if isinstance(exc, UnknownStoreError):
        return CliUsageError(f"{_one_line(str(exc))} (known: {KNOWN_SCHEMES})")
    if isinstance(exc, ImportError):
        return CliError(_missing_module(exc))
    if isinstance(exc, (SessionwareError, OSError)):
        return CliError(_one_line(str(exc)) or type(exc).__name__)
    detail = _one_line(str(exc))
    return CliError(
        f"{type(exc).__name__}: {detail} (run with --debug for the traceback)"
        if detail
        else f"{type(exc).__name__} (run with --debug for the traceback)"
    )


def _missing_module(exc: ImportError) -> str:
    if isinstance(exc, MissingExtraError):  # already names the extra the URL needs
        return _one_line(str(exc))
    name = exc.name or ""
    if name.startswith("sessionware."):
        return f"this installation of sessionware has no {name} module (store not available)"
    top = name.partition(".")[0]
    extra = EXTRA_FOR_MODULE.get(top)
    if extra is None:
        return f"a required module is missing: {_one_line(str(exc))}"
    return f"the {top!r} package is missing: {install_hint(extra)}"


@contextmanager
def opened_store(url: str) -> Iterator[Any]:
    """Open ``url`` with the context's opener; close the store afterwards.

    A URL the store rejects (a ``ValueError`` or ``TypeError`` from ``from_url``) is a
    usage error; anything else while opening names the (password-redacted) URL.
    """
    context = click.get_current_context().find_object(CliContext) or CliContext()
    safe_url = redact_url(url)
    try:
        store = context.open_store(url)
    except (UnknownStoreError, ImportError):
        raise
    except (ValueError, TypeError) as exc:
        raise CliUsageError(f"bad store URL {safe_url}: {_one_line(str(exc))}") from exc
    except (StoreError, OSError) as exc:
        message = _one_line(str(exc))
        if safe_url not in message:
            message = f"cannot open {safe_url}: {message}"
        raise CliError(message) from exc
    try:
        yield store
    finally:
        with suppress(Exception):
            store.close()


def resolve_key(text: str) -> str:
    """The store key named by ``text``: a 40-hex store key as is, or the key of a
    session id or a whole cookie value (``<id>.<created>.<signature>``)."""
    candidate = text.strip()
    if _STORE_KEY.fullmatch(candidate):
        return candidate
    session_id = candidate.partition(".")[0]
    if _SESSION_ID.fullmatch(session_id):
        return store_key(session_id)
    raise CliUsageError(
        f"not a session key: {text!r} (expected a 40-hex store key, a session id or a cookie value)"
    )
