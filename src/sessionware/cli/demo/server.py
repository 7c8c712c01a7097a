"""Serve the demo with werkzeug's threaded server until Ctrl-C or SIGTERM."""

from __future__ import annotations

import logging
import signal
import socket
from collections.abc import Callable
from types import FrameType
from typing import Any

from werkzeug.serving import make_server, select_address_family

__all__ = ["serve"]


def _stop(signum: int, frame: FrameType | None) -> None:
    # Leave serve_forever() the same way Ctrl-C does, so the finally blocks run
    # and queued visits are flushed to the store.
    raise KeyboardInterrupt


def serve(
    app: Any,
    host: str,
    port: int,
    *,
    access_log: bool,
    on_ready: Callable[[str], None],
) -> None:
    """Serve ``app`` on ``host:port`` (0: any free port); ``on_ready(url)`` once
    the socket listens."""
    logging.getLogger("werkzeug").setLevel(logging.INFO if access_log else logging.WARNING)
    # Bind here rather than in make_server, which prints and sys.exit()s on failure:
    # an OSError lets the CLI report one line.
    family = select_address_family(host, port)
    with socket.create_server((host, port), family=family) as listening:
        server = make_server(host, port, app, threaded=True, fd=listening.fileno())
    previous = signal.signal(signal.SIGTERM, _stop)
    try:
        shown_host = f"[{host}]" if ":" in host else host
        on_ready(f"http://{shown_host}:{server.port}/")
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        server.server_close()
