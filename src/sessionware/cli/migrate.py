"""``sessionware migrate SRC DST``: copy every live session to another store.

Each record is copied whole (data, creation time, expiry, version, user), so
cookies keep working against the new store. The copy is resumable: a key already
in DST with the same or a newer version is skipped, and writes are compare-and-set
so a session that the application changed in DST meanwhile is never overwritten.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import click
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeRemainingColumn,
)

from ..core.record import Record
from ..errors import redact_url
from ..stores.base import Store
from ._common import CliError, CliUsageError, err, opened_store, out

__all__ = ["MigrationReport", "copy_sessions", "migrate"]


@dataclass
class MigrationReport:
    copied: int = 0
    skipped: int = 0  # already in DST at the same or a newer version
    vanished: int = 0  # expired or deleted in SRC while we worked
    conflicts: int = 0  # changed in DST between our read and our write
    keys: list[str] = field(default_factory=list)


def copy_one(source: Store, target: Store, key: str, report: MigrationReport) -> None:
    record: Record | None = source.load(key)
    if record is None:
        report.vanished += 1
        return
    report.keys.append(key)
    existing: Record | None = target.load(key)
    if existing is not None and existing.version >= record.version:
        report.skipped += 1
        return
    expected = 0 if existing is None else existing.version
    if target.save_if_version(record, expected):
        report.copied += 1
    else:
        report.conflicts += 1


def copy_sessions(
    source: Store, target: Store, progress: Progress | None = None
) -> MigrationReport:
    report = MigrationReport()
    task = progress.add_task("copying", total=source.count()) if progress else None
    for key in source.ids():
        copy_one(source, target, key, report)
        if progress is not None and task is not None:
            progress.advance(task)
    return report


def verify(source: Store, target: Store, keys: list[str], progress: Progress | None) -> list[str]:
    """Keys copied (or skipped) whose session is live in SRC but missing or older in DST."""
    task = progress.add_task("verifying", total=len(keys)) if progress else None
    missing = []
    for key in keys:
        copied = target.load(key)
        if copied is None:
            original = source.load(key)
            if original is not None:  # still live in SRC, so it should be in DST
                missing.append(key)
        if progress is not None and task is not None:
            progress.advance(task)
    return missing


def _progress() -> Progress:
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err(),
    )


@click.command()
@click.argument("source_url", metavar="SRC_URL")
@click.argument("target_url", metavar="DST_URL")
def migrate(source_url: str, target_url: str) -> None:
    """Copy every live session from SRC_URL to DST_URL (resumable), then verify."""
    if source_url == target_url:
        raise CliUsageError("SRC_URL and DST_URL are the same store")
    with opened_store(source_url) as source, opened_store(target_url) as target:
        with _progress() as progress:
            report = copy_sessions(source, target, progress)
            missing = verify(source, target, report.keys, progress)
        verified = len(report.keys) - len(missing)
    out().print(
        f"copied {report.copied}, already present {report.skipped}, "
        f"changed in the target meanwhile {report.conflicts}, "
        f"gone from the source meanwhile {report.vanished}"
    )
    out().print(
        f"verified: {verified} of {len(report.keys)} sessions are in {redact_url(target_url)}"
    )
    if missing:
        raise CliError(f"{len(missing)} sessions are missing from the target; run migrate again")
