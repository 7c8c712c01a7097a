"""``AdminSettings``: what every flavour of the admin is configured with, checked
when it is made, so an admin without an authorizer never starts."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypedDict

from ..errors import SessionwareError
from ..metrics import Metrics

__all__ = ["AdminConfigurationError", "AdminOptions", "AdminSettings", "Authorizer"]

#: ``authorize(request) -> bool``: the framework's own request object (werkzeug's,
#: Starlette's, Django's or Flask's); True lets the request in.
Authorizer = Callable[[Any], bool]


class AdminConfigurationError(SessionwareError, TypeError):
    """The admin was made without what it cannot work without (an authorizer)."""


@dataclass(frozen=True)
class AdminSettings:
    """``authorize``: required, there is no default access. ``metrics``: the
    ``Metrics`` the manager reports to (charts are empty without it).
    ``show_values``: show the values stored in sessions (off: only their keys'
    names). ``secret_key``: signs the CSRF tokens; give the same key to every
    process serving the admin (random per process by default). ``title``: the
    page's heading."""

    authorize: Authorizer | None
    metrics: Metrics | None = None
    show_values: bool = False
    secret_key: str | bytes | None = None
    title: str = "Sessions"

    def __post_init__(self) -> None:
        if self.authorize is None or not callable(self.authorize):
            raise AdminConfigurationError(
                "sessionware.admin has no default access: pass authorize=<callable "
                "(request) -> bool> that lets only your administrators in"
            )

    def allows(self, request: Any) -> bool:
        """What the authorizer says of ``request``; only a real True lets it in."""
        assert self.authorize is not None  # checked when made
        return self.authorize(request) is True


class AdminOptions(TypedDict, total=False):
    """The keyword arguments every flavour of the admin takes besides ``authorize``
    (see ``AdminSettings``)."""

    metrics: Metrics | None
    show_values: bool
    secret_key: str | bytes | None
    title: str
