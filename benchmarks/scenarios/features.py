"""Scenario: what encryption at rest and typed sessions add to a request.

The same WSGI app (the per-request scenario's read and write views, a 1 KB
session) runs through four managers on one store, all in the same rounds: plain,
``encryption_keys=[...]`` (AES-256-GCM), ``schema=`` (a msgspec Struct of the
same fields) and both. Each cost is the median per-round difference from the
bare app, so the rows compare side by side: the encrypted and typed costs less
the plain cost is what the feature adds.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable
from itertools import count
from typing import Any

import msgspec

import sessionware as sw
from sessionware.core.encryption import new_encryption_key
from sessionware.wsgi import SessionMiddleware

from ..context import Bench
from ..driver import wsgi_environ, wsgi_request
from ..payload import session_data
from ..report import Row
from ..stores import open_target
from ..timing import compare_batches, repeat
from .per_request import bare_app

SCENARIO = "features: encryption, typed"
KEYS = [new_encryption_key()]


class Payload(msgspec.Struct):
    """The standard 1 KB session as a schema."""

    user: str = ""
    roles: list[str] = []
    cart: list[int] = []
    notes: str = ""
    counter: int = 0


VARIANTS: dict[str, dict[str, Any]] = {
    "plain": {},
    "encrypted": {"encryption_keys": KEYS},
    "typed": {"schema": Payload},
    "typed+encrypted": {"schema": Payload, "encryption_keys": KEYS},
}


def read_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    environ["sessionware.session"].get("user")
    return bare_app(environ, start_response)


def make_write_app() -> Callable[..., Iterable[bytes]]:
    numbers = count()

    def write_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        environ["sessionware.session"]["counter"] = next(numbers)
        return bare_app(environ, start_response)

    return write_app


def _cookie(manager: sw.SessionManager[Any]) -> str:
    session = manager.open(None)
    session.update(session_data(1024))
    cookie = manager.save_changes(session)
    assert cookie is not None
    return cookie


def run(bench: Bench) -> None:
    for spec in bench.specs(SCENARIO):
        target = open_target(spec, bench.run, with_raw=False)
        managers = {name: bench.manager(target.store, **o) for name, o in VARIANTS.items()}
        try:
            _compare(bench, spec.name, managers)
        finally:
            for manager in managers.values():  # each flushes its visits; they share a store
                with contextlib.suppress(Exception):
                    manager.close()
            target.close()


def _compare(bench: Bench, name: str, managers: dict[str, sw.SessionManager[Any]]) -> None:
    bare = wsgi_environ(cookie=None)
    contenders = {"bare": repeat(wsgi_request(bare_app, bare))}
    for variant, manager in managers.items():
        environ = wsgi_environ(cookie=_cookie(manager))
        contenders[f"{variant} read"] = repeat(
            wsgi_request(SessionMiddleware(read_app, manager), environ)
        )
        contenders[f"{variant} write"] = repeat(
            wsgi_request(SessionMiddleware(make_write_app(), manager), environ)
        )
    result = compare_batches(contenders, bench.budget)
    for what in ("read", "write"):
        for variant in VARIANTS:
            cost = result.difference_us(f"{variant} {what}", "bare")
            bench.report.add(
                Row(SCENARIO, name, f"WSGI session cost, {what}, {variant}", cost, "us")
            )
