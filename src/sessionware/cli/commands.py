"""The ``sessionware`` click group: global options and one-line error reporting."""

from __future__ import annotations

from typing import Any

import click

from .. import __version__
from ._common import CliContext, explain
from .admin import delete, list_sessions, purge, revoke_user, show, stats
from .bench import bench
from .demo import demo
from .import_sessions import import_sessions
from .migrate import migrate
from .rekey import rekey

__all__ = ["cli"]

_PASS_THROUGH = (click.exceptions.Exit, click.Abort, KeyboardInterrupt, SystemExit)


class SessionwareGroup(click.Group):
    """Turns any failure in a subcommand into ``Error: <one line>`` on stderr with
    exit status 1 (2 for a bad URL), never a traceback, unless ``--debug``."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except _PASS_THROUGH:
            raise
        except BrokenPipeError:
            raise  # the reader went away (| head): click exits quietly
        except Exception as exc:
            context = ctx.find_object(CliContext)
            if context is not None and context.debug:
                raise
            raise explain(exc) from exc


@click.group(cls=SessionwareGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help="Show tracebacks instead of one-line errors.")
@click.version_option(__version__, prog_name="sessionware")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """Manage sessionware session stores, migrate between them, run the demo.

    URL is a store URL: memory://, file:///dir, dbm:///file, sqlite:///file.db,
    redis://host:6379/0, postgresql+psycopg://user@host/db, mysql+pymysql://...
    """
    context = ctx.ensure_object(CliContext)
    context.debug = context.debug or debug


for command in (
    stats,
    list_sessions,
    show,
    delete,
    revoke_user,
    purge,
    migrate,
    import_sessions,
    rekey,
    demo,
    bench,
):
    cli.add_command(command)
