"""pytest plugin (``-p starlette_peer_plugin``) that runs Starlette's own session
tests with sessionware's middleware: ``starlette.middleware.sessions.SessionMiddleware``
becomes ``sessionware.integrations.starlette.SessionMiddleware`` (a memory store per
middleware) and ``starlette.middleware.sessions.Session`` sessionware's
``SessionDict``, before any test module imports them.

One shim, stated in the framework page's "Differences from Starlette": sessionware refuses
secrets shorter than 32 bytes, and Starlette's tests use "example", so each secret
is lengthened deterministically (its SHA-256 in hex, 64 chars).
"""

from __future__ import annotations

import hashlib
import importlib.util
import sys
from collections.abc import Callable, Iterator
from typing import Any

import pytest

# Starlette's tests/types.py imports httpx2 (for type hints); Starlette's test client
# still works with httpx, which the project's test extra installs.
if importlib.util.find_spec("httpx2") is None:
    import httpx

    sys.modules["httpx2"] = httpx

import starlette.middleware.sessions as upstream

from sessionware.integrations import starlette as integration


class LengthenedSecretMiddleware(integration.SessionMiddleware):
    """sessionware's Starlette middleware with the secret hashed to 64 hex chars."""

    built = 0  # middlewares made during the current test

    def __init__(self, app: Any, secret_key: Any, *args: Any, **kwargs: Any) -> None:
        LengthenedSecretMiddleware.built += 1
        super().__init__(app, lengthened(str(secret_key)), *args, **kwargs)


def lengthened(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


# Deliberate monkeypatches of Starlette's module: the ignores say these types differ.
upstream.SessionMiddleware = LengthenedSecretMiddleware  # type: ignore[misc,assignment]
upstream.Session = integration.SessionDict  # type: ignore[misc,assignment]


@pytest.fixture(autouse=True)
def _count_sessionware_middlewares(
    record_property: Callable[[str, object], None],
) -> Iterator[None]:
    """Reports (``sessionware_middlewares`` in the JUnit XML) how many sessionware
    middlewares a test built, so the runner can tell the swap took effect."""
    LengthenedSecretMiddleware.built = 0
    yield
    record_property("sessionware_middlewares", LengthenedSecretMiddleware.built)
