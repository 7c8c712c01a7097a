"""``sessionware demo``: a small shop whose cart lives in a session, with the
``sessionware.admin`` dashboard at /admin/ (live sessions, search, revoke and
delete, request and store-operation rates, latency percentiles), which lets in
loopback clients only."""

from __future__ import annotations

import secrets

import click

from ...errors import redact_url
from .._common import CliError, opened_store

__all__ = ["DEFAULT_STORE", "demo"]


DEFAULT_STORE = "sqlite:///sessions.db"  # the embedded default: no server needed
SECRET_ENV = "SESSIONWARE_DEMO_SECRET"  # noqa: S105 - the name of a variable, not a secret


@click.command()
@click.option("--store", "store_url", default=DEFAULT_STORE, show_default=True, help="Store URL.")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535))
@click.option(
    "--secret",
    envvar=SECRET_ENV,
    help=f"Cookie signing key (env {SECRET_ENV}); random by default, so cookies "
    "do not survive a restart.",
)
@click.option("--access-log", is_flag=True, help="Log every request.")
def demo(store_url: str, host: str, port: int, secret: str | None, access_log: bool) -> None:
    """Run the demo web app and its admin dashboard."""
    # Import here: jinja2 and werkzeug are only needed by this subcommand.
    from .app import DemoApp
    from .security import is_loopback
    from .server import serve

    if not is_loopback(host):
        click.echo(
            f"warning: {host} is not a loopback address: others can reach the shop; "
            "the admin dashboard still answers loopback clients only",
            err=True,
        )

    def ready(url: str) -> None:
        click.echo(f"sessionware demo on {url} (admin dashboard: {url}admin/)")
        click.echo(f"store: {redact_url(store_url)}; press Ctrl-C to stop", err=True)

    with opened_store(store_url) as store:
        app = DemoApp(store, secret or secrets.token_urlsafe(32), store_url=store_url)
        try:
            serve(app, host, port, access_log=access_log, on_ready=ready)
        except OSError as exc:
            raise CliError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
        finally:
            app.close()  # flushes queued visits to the store
    click.echo("demo stopped", err=True)
