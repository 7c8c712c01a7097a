"""``sessionware import-sessions PEER --from SOURCE DST_URL``: copy another session
library's live sessions into a sessionware store, for a switch that logs nobody out.

Each session keeps its data (decoded by the peer's own serializer, encoded by
``--codec``, which must be the codec of the manager that will read it), expiry and
user (Django's ``_auth_user_id``, Flask-Login's ``_user_id``), under a key of its
own until the integration's transition mode converts it on the user's next
request. Bounded batches, a progress bar, resumable (a rerun skips what is there)
and a verification count at the end, as ``sessionware migrate``.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from typing import Any

import click
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from ..core.codecs import Codec, resolve_codec
from ..core.transition import PeerSession
from ..errors import redact_url
from ..importers import PEERS, peer_module
from ..importers.copy import import_sessions as copy_sessions
from ..importers.copy import verify
from ._common import CliError, CliUsageError, batch_size_option, err, opened_store, out

__all__ = ["import_sessions"]


def _codec(name: str) -> Codec:
    if name == "flask":
        from ..integrations.flask_codec import TaggedJSONCodec

        return TaggedJSONCodec()
    return resolve_codec(name, secret_key=b"", allow_pickle=False)


def peer_sessions(
    peer: str, source: str | None, now: float, **options: Any
) -> Iterator[PeerSession]:
    """The live sessions of ``peer`` read from ``source`` with its options."""
    if peer == "flask":
        raise CliUsageError(
            "Flask's cookie sessions live in the cookie: nothing to import; the Flask "
            "integration converts them in transition mode (SESSIONWARE_TRANSITION_FROM = 'flask')"
        )
    module = peer_module(peer)
    sessions: Callable[..., Iterator[PeerSession]] = module.sessions
    given = {key: value for key, value in options.items() if value is not None}
    if peer == "django":
        _setup_django(given.pop("settings", None))
        return sessions(now=now, **given)
    given.pop("settings", None)
    if source is None:
        raise CliUsageError(f"--from is required for {peer}: {module.SOURCE}")
    return sessions(source, now=now, **given)


def _setup_django(settings_module: str | None) -> None:
    if settings_module:
        os.environ["DJANGO_SETTINGS_MODULE"] = settings_module
    if not os.environ.get("DJANGO_SETTINGS_MODULE"):
        raise CliUsageError("give --settings (or DJANGO_SETTINGS_MODULE): the project's settings")
    import django

    django.setup()


@click.command("import-sessions")
@click.argument("peer", type=click.Choice(sorted(PEERS)))
@click.argument("target_url", metavar="DST_URL")
@click.option("--from", "source", metavar="SOURCE", help="Where the peer keeps its sessions.")
@click.option(
    "--backend",
    help="The peer's back end (flask-session: redis, filesystem, "
    "sqlalchemy; beaker: file, ext:database, ext:redis).",
)
@click.option(
    "--prefix",
    help="The peer's key prefix (Flask-Session's SESSION_KEY_PREFIX, "
    "starsessions' RedisStore prefix).",
)
@click.option("--table", help="Flask-Session's SQLAlchemy table (default: sessions).")
@click.option("--settings", help="Django: the project's settings module.")
@click.option(
    "--engine", help="Django: the session engine the project used (default: its SESSION_ENGINE)."
)
@click.option("--timeout", type=float, help="Beaker: its session timeout in seconds.")
@click.option(
    "--codec",
    default="json",
    show_default=True,
    type=click.Choice(["json", "msgpack", "flask"]),
    help="The codec of the manager that will read the sessions (flask: the "
    "Flask integration's default).",
)
@batch_size_option(500, "Sessions copied per batch.", maximum=100_000)
def import_sessions(
    peer: str,
    target_url: str,
    source: str | None,
    codec: str,
    batch_size: int,
    **options: Any,
) -> None:
    """Copy PEER's live sessions into DST_URL (resumable), then verify them."""
    now = time.time()
    sessions = peer_sessions(peer, source, now, batch_size=batch_size, **options)
    name = peer_module(peer).NAME
    with opened_store(target_url) as target, _progress() as progress:
        task = progress.add_task(f"importing {peer} sessions", total=None)
        report = copy_sessions(
            name, sessions, target, _codec(codec), now, lambda: progress.advance(task)
        )
        verified = verify(target, report.keys)
    out().print(
        f"imported {report.imported}, already imported {report.skipped}, "
        f"expired {report.expired}, not convertible {len(report.unconvertible)}"
    )
    for problem in report.unconvertible[:10]:
        out().print(f"  not convertible by the {codec} codec: {problem}")
    out().print(
        f"verified: {verified} of {len(report.keys)} sessions are in {redact_url(target_url)}"
    )
    if verified < len(report.keys):
        raise CliError(f"{len(report.keys) - verified} sessions are missing; run the import again")


def _progress() -> Progress:
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}: {task.completed}"),
        TimeElapsedColumn(),
        console=err(),
    )
