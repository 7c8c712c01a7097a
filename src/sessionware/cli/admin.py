"""Admin subcommands: stats, list, show, delete, revoke-user, purge."""

from __future__ import annotations

import itertools
import json
import os
import time
from typing import Any

import click
from rich.json import JSON
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn
from rich.table import Table

from ..core.encryption import DecryptionError, is_sealed
from ..core.record import Record
from ..stores.base import Store
from ..stores.listing import newest_first, newest_records
from ._common import CliError, batch_size_option, err, opened_store, out, resolve_key
from ._format import decode_data, expires_in, hexdump, human_bytes, local_time
from ._stats import StoreStats, gather_stats, live_records
from .rekey import KEYS_VARIABLE, cipher_from_environment

__all__ = ["delete", "list_sessions", "purge", "revoke_user", "show", "stats"]

URL = click.argument("url", metavar="URL")
PURGE_BATCH = 500


def _progress(*, total: bool) -> Progress:
    # Progress goes to stderr so that stdout stays clean for pipes.
    columns: list[Any] = [SpinnerColumn(), TextColumn("{task.description}")]
    if total:
        columns += [BarColumn(), MofNCompleteColumn()]
    return Progress(*columns, console=err(), transient=True)


# -- stats ------------------------------------------------------------------------------


@click.command()
@URL
@click.option("--top", default=10, show_default=True, help="How many users to list.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of tables.")
def stats(url: str, top: int, as_json: bool) -> None:
    """Live sessions, sessions by user, expiry histogram and store size."""
    with opened_store(url) as store, _progress(total=False) as progress:
        progress.add_task("reading sessions", total=None)
        result = gather_stats(store, time.time())
    if as_json:
        click.echo(json.dumps(result.as_json(top), indent=2))
        return
    _print_stats(result, top)


def _print_stats(result: StoreStats, top: int) -> None:
    summary = Table.grid(padding=(0, 2))
    summary.add_row("live sessions", str(result.live))
    summary.add_row("logged in", str(result.with_user))
    summary.add_row("anonymous", str(result.live - result.with_user))
    summary.add_row("distinct users", str(len(result.users)))
    summary.add_row("session data", human_bytes(result.payload_bytes))
    size = "unknown" if result.store_bytes is None else human_bytes(result.store_bytes)
    summary.add_row("store size", size)
    out().print(summary)

    if result.users:
        users = Table(title=f"top {top} users", title_justify="left")
        users.add_column("user")
        users.add_column("sessions", justify="right")
        for user, count in result.users.most_common(top):
            users.add_row(user, str(count))
        out().print(users)

    histogram = Table(title="expires in", title_justify="left", box=None)
    histogram.add_column("")
    histogram.add_column("sessions", justify="right")
    histogram.add_column("")
    peak = max((n for _, n in result.histogram()), default=0) or 1
    for label, count in result.histogram():
        histogram.add_row(label, str(count), "█" * round(30 * count / peak))
    out().print(histogram)


# -- list -------------------------------------------------------------------------------


@click.command("list")
@URL
@click.option("--user", "user_id", help="Only this user's sessions (via the user index).")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(min=1))
@click.option("--json", "as_json", is_flag=True, help="Print JSON lines instead of a table.")
def list_sessions(url: str, user_id: str | None, limit: int, as_json: bool) -> None:
    """List live sessions (all, or one user's), newest first."""
    with opened_store(url) as store:
        if user_id is not None:
            # A user's sessions are few (the index lists them): read all, keep the newest.
            records = newest_first(live_records(store, store.ids_for_user(user_id)), limit)
            total = None
        else:
            records = newest_records(store, limit)
            total = store.count()
    if as_json:
        for record in records:
            click.echo(json.dumps(_record_summary(record)))
        return
    _print_records(records, total, user_id)


#: ``show --json``: each key and the record field it shows (and then the data's size).
_SUMMARY = {
    "key": "id",
    "user": "user_id",
    "created_at": "created_at",
    "expires_at": "expires_at",
    "version": "version",
}


def _record_summary(record: Record) -> dict[str, Any]:
    summary = {key: getattr(record, field) for key, field in _SUMMARY.items()}
    summary["bytes"] = len(record.data)
    return summary


def _print_records(records: list[Record], total: int | None, user_id: str | None) -> None:
    if not records:
        who = f" for user {user_id!r}" if user_id is not None else ""
        out().print(f"no live sessions{who}")
        return
    now = time.time()
    table = Table()
    # On a narrow terminal the key folds onto two lines; the other columns keep their width.
    table.add_column("key", overflow="fold", min_width=20)
    table.add_column("user", min_width=4)
    table.add_column("created", no_wrap=True, min_width=19)
    table.add_column("expires", no_wrap=True, min_width=7)
    table.add_column("version", justify="right", min_width=7)
    table.add_column("bytes", justify="right", min_width=5)
    for record in records:
        table.add_row(
            record.id,
            record.user_id or "-",
            local_time(record.created_at),
            expires_in(record.expires_at, now),
            str(record.version),
            str(len(record.data)),
        )
    out().print(table)
    if total is not None and total > len(records):
        out().print(f"{len(records)} of {total} live sessions shown (--limit to see more)")


# -- show -------------------------------------------------------------------------------


@click.command()
@URL
@click.argument("session", metavar="ID")
@click.option("--raw", is_flag=True, help="Show the stored bytes as hex, without decoding.")
def show(url: str, session: str, raw: bool) -> None:
    """Show one session, decoded. ID is the store key (a session id or cookie also works).

    An encrypted session is decrypted with the keys of SESSIONWARE_ENCRYPTION_KEYS
    (comma-separated, as for rekey) when it is set."""
    key = resolve_key(session)
    with opened_store(url) as store:
        record = store.load(key)
    if record is None:
        raise CliError(f"no live session with key {key}")
    now = time.time()
    meta = Table.grid(padding=(0, 2))
    meta.add_row("key", record.id)
    meta.add_row("user", record.user_id or "-")
    meta.add_row("created", local_time(record.created_at))
    meta.add_row(
        "expires", f"{local_time(record.expires_at)} ({expires_in(record.expires_at, now)})"
    )
    meta.add_row("version", str(record.version))
    meta.add_row("size", human_bytes(len(record.data)))
    out().print(meta)
    if raw:
        out().print("data:")
        out().print(hexdump(record.data), markup=False)
        return
    _print_data(record)


def _print_data(record: Record) -> None:
    """The record's data decoded, decrypted first when it is sealed."""
    sealed = is_sealed(record.data)
    payload = _opened(record) if sealed else record.data
    if payload is None:
        out().print(f"data: encrypted; set {KEYS_VARIABLE} to read it", markup=False)
        return
    codec, data = decode_data(payload)
    if data is None:
        out().print("data (not JSON or msgpack; shown as bytes):")
        out().print(hexdump(payload), markup=False)
        return
    out().print(f"data ({codec}{', decrypted' if sealed else ''}):", markup=False)
    out().print(JSON(json.dumps(data, default=repr)))


def _opened(record: Record) -> bytes | None:
    """A sealed record's payload, opened as the manager opens it (its store key
    the associated data) with the keys of ``SESSIONWARE_ENCRYPTION_KEYS``, the
    variable ``sessionware rekey`` reads; None when it is not set. Keys that do not
    open it are an error naming the reason, not a traceback."""
    if not os.environ.get(KEYS_VARIABLE, "").strip():
        return None
    try:
        return cipher_from_environment().open(record.id, record.data)
    except DecryptionError as exc:
        message = f"session {record.id} does not decrypt with {KEYS_VARIABLE}: {exc}"
        raise CliError(message) from None


# -- delete, revoke-user ---------------------------------------------------------------------


@click.command()
@URL
@click.argument("sessions", metavar="ID...", nargs=-1, required=True)
def delete(url: str, sessions: tuple[str, ...]) -> None:
    """Delete sessions by key. Exits 1 when any of them was not found."""
    keys = list(dict.fromkeys(resolve_key(session) for session in sessions))
    with opened_store(url) as store:
        missing = [key for key in keys if store.delete(key) == 0]
    deleted = len(keys) - len(missing)
    out().print(f"deleted {deleted} session{'s' if deleted != 1 else ''}")
    if missing:
        raise CliError(f"not found: {', '.join(missing)}")


@click.command("revoke-user")
@URL
@click.argument("user_id", metavar="USER")
def revoke_user(url: str, user_id: str) -> None:
    """Delete every session of USER ("log out everywhere")."""
    with opened_store(url) as store:
        removed = store.delete_many(store.ids_for_user(user_id))
    out().print(f"revoked {removed} session{'s' if removed != 1 else ''} of user {user_id!r}")


# -- purge ----------------------------------------------------------------------------------


@click.command()
@URL
@click.option("--all", "everything", is_flag=True, help="Delete every live session too.")
@click.option("--yes", is_flag=True, help="Do not ask before deleting live sessions.")
@batch_size_option(PURGE_BATCH, "Sessions deleted per batch (with --all).")
def purge(url: str, everything: bool, yes: bool, batch_size: int) -> None:
    """Remove expired sessions; with --all, every session, in bounded batches."""
    with opened_store(url) as store:
        if not everything:
            with _progress(total=False) as progress:
                progress.add_task("purging expired sessions", total=None)
                removed = store.purge_expired(time.time())
            out().print(f"purged {removed} expired session{'s' if removed != 1 else ''}")
            return
        total = store.count()
        if not yes:
            click.confirm(f"delete all {total} live sessions?", abort=True, err=True)
        removed = _delete_in_batches(store, total, batch_size)
    out().print(f"deleted {removed} session{'s' if removed != 1 else ''}")


def _delete_in_batches(store: Store, total: int, batch_size: int) -> int:
    removed = 0
    with _progress(total=True) as progress:
        task = progress.add_task("deleting sessions", total=total)
        while True:
            batch = _next_keys(store, batch_size)
            if not batch:
                return removed
            deleted = store.delete_many(batch)
            if deleted == 0:
                # Listed but not deletable (a store bug or a racing writer): stop, don't spin.
                raise CliError(f"the store listed {len(batch)} sessions but deleted none")
            removed += deleted
            progress.update(task, completed=min(removed, total), total=max(total, removed))


def _next_keys(store: Store, count: int) -> list[str]:
    # A fresh iterator per batch: deleting while iterating is unsafe in many stores.
    keys = store.ids()
    try:
        return list(itertools.islice(keys, count))
    finally:
        close = getattr(keys, "close", None)
        if close is not None:
            close()
