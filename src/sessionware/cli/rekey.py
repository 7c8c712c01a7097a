"""``sessionware rekey URL``: re-encrypt every live session with the current key.

The keys come from an environment variable (never the command line, which other
users of the machine can read): ``SESSIONWARE_ENCRYPTION_KEYS``, comma-separated,
current first, as ``SessionManager(encryption_keys=[current, *old])`` takes them.
Sessions are visited in bounded batches (``--batch-size``, with ``--pause`` seconds
between batches so a busy store keeps serving requests); each write is a
compare-and-set, so a session the application saved meanwhile (already with the
current key) is left as the application wrote it. Once a run reports nothing
left under an old key, that key can be removed from the list.

``--encrypt-plaintext`` also seals records written before encryption was turned
on (their data is the codec's, not a sealed payload).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass

import click
import msgspec

from ..core.encryption import DecryptionError, RecordCipher, is_sealed
from ..core.record import Record
from ..stores.base import Store
from ._common import CliError, CliUsageError, batch_size_option, opened_store, out
from .migrate import _progress

__all__ = ["RekeyReport", "rekey", "rekey_record", "rekey_sessions"]

KEYS_VARIABLE = "SESSIONWARE_ENCRYPTION_KEYS"


@dataclass
class RekeyReport:
    rekeyed: int = 0
    current: int = 0  # sealed with the current key already
    plaintext: int = 0  # not sealed, left as it is (no --encrypt-plaintext)
    unreadable: int = 0  # unknown key id or tampered: left for the application to drop
    vanished: int = 0  # expired or deleted while we worked
    changed: int = 0  # saved by the application between our read and our write


def rekey_record(cipher: RecordCipher, record: Record, encrypt_plaintext: bool) -> Record | str:
    """The record re-sealed with the current key (its version one up), or the name of
    the ``RekeyReport`` counter it falls under when it is left alone."""
    if not is_sealed(record.data):
        if not encrypt_plaintext:
            return "plaintext"
        payload = record.data
    elif cipher.is_current(record.data):
        return "current"
    else:
        try:
            payload = cipher.open(record.id, record.data)
        except DecryptionError:
            return "unreadable"
    sealed = cipher.seal(record.id, payload)
    return msgspec.structs.replace(record, data=sealed, version=record.version + 1)


def rekey_one(
    store: Store, cipher: RecordCipher, key: str, plaintext: bool, report: RekeyReport
) -> None:
    record = store.load(key)
    if record is None:
        report.vanished += 1
        return
    outcome = rekey_record(cipher, record, plaintext)
    if isinstance(outcome, str):
        setattr(report, outcome, getattr(report, outcome) + 1)
    elif store.save_if_version(outcome, record.version):
        report.rekeyed += 1
    else:
        report.changed += 1


def rekey_sessions(
    store: Store,
    cipher: RecordCipher,
    *,
    batch_size: int = 500,
    pause: float = 0.0,
    encrypt_plaintext: bool = False,
    on_batch: Callable[[int, int], None] | None = None,
) -> RekeyReport:
    """Re-seal every live session of ``store``, ``batch_size`` at a time, ``pause``
    seconds apart; ``on_batch(done, total)`` after each batch (a progress bar)."""
    report = RekeyReport()
    keys = list(store.ids())  # the keys only, read before any record is written
    for start in range(0, len(keys), batch_size):
        if start and pause:
            time.sleep(pause)
        batch = keys[start : start + batch_size]
        for key in batch:
            rekey_one(store, cipher, key, encrypt_plaintext, report)
        if on_batch is not None:
            on_batch(start + len(batch), len(keys))
    return report


def cipher_from_environment() -> RecordCipher:
    text = os.environ.get(KEYS_VARIABLE, "")
    keys = [key.strip() for key in text.split(",") if key.strip()]
    if not keys:
        raise CliUsageError(
            f"set {KEYS_VARIABLE} to the encryption keys, comma-separated, current first"
        )
    try:
        return RecordCipher(keys)
    except ValueError as exc:
        raise CliUsageError(f"{KEYS_VARIABLE}: {exc}") from exc


@click.command()
@click.argument("url")
@batch_size_option(500, "Sessions re-encrypted per batch.")
@click.option(
    "--pause",
    default=0.0,
    show_default=True,
    type=click.FloatRange(min=0.0),
    help="Seconds to wait between batches.",
)
@click.option(
    "--encrypt-plaintext",
    is_flag=True,
    help="Also encrypt sessions stored before encryption was turned on.",
)
def rekey(url: str, batch_size: int, pause: float, encrypt_plaintext: bool) -> None:
    """Re-encrypt every live session in URL with the current key of
    $SESSIONWARE_ENCRYPTION_KEYS (comma-separated, current first)."""
    cipher = cipher_from_environment()
    with opened_store(url) as store, _progress() as progress:
        task = progress.add_task("re-encrypting", total=None)

        def advance(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        report = rekey_sessions(
            store,
            cipher,
            batch_size=batch_size,
            pause=pause,
            encrypt_plaintext=encrypt_plaintext,
            on_batch=advance,
        )
    out().print(
        f"re-encrypted {report.rekeyed}, already current {report.current}, "
        f"saved by the application meanwhile {report.changed}, "
        f"gone meanwhile {report.vanished}, not encrypted {report.plaintext}, "
        f"unreadable {report.unreadable}"
    )
    if report.unreadable:
        raise CliError(
            f"{report.unreadable} sessions are encrypted with a key not in "
            f"{KEYS_VARIABLE} or do not authenticate; they were left alone"
        )
