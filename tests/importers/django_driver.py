"""One step of a switch from Django's db session backend, run in a process of its
own (Django reads its settings once per process): ``python -m
tests.importers.django_driver peer|switched [COOKIE]``, printing JSON.

``peer``: Django's own db backend logs a user in through the test client and
stores more data; prints the ``sessionid`` cookie. ``switched``: sessionware's
engine (in transition mode when ``SW_UNTIL`` is set) answers a request carrying
``COOKIE`` (as the peer's cookie, ``SESSIONWARE_TRANSITION_COOKIE`` when set) and
then one with nothing but the sessionware cookie it set; prints what each saw, the
new cookie, whether the peer's cookie was deleted, the store's sessions and the
writes of the first request.
"""

from __future__ import annotations

import json
import os
import sys
from typing import TYPE_CHECKING, Any, cast

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.importers.django_settings")

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth.models import User  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.test import Client  # noqa: E402

from tests.conftest import CountingProxy  # noqa: E402

if TYPE_CHECKING:
    from sessionware.stores.base import Store


def peer() -> dict[str, Any]:
    call_command("migrate", verbosity=0)
    User.objects.create_user("ada", password="lovelace-1815")
    client = Client()
    assert client.login(username="ada", password="lovelace-1815")
    session = client.session  # Django's db backend's SessionStore
    session["cart"] = [1, 2]
    session.save()
    return {"cookie": client.cookies[settings.SESSION_COOKIE_NAME].value}


def counting_store() -> CountingProxy:
    """The engine's store behind a proxy counting what reaches it (in place before
    the first request builds the manager)."""
    from sessionware.integrations.django import engine

    store = CountingProxy(engine.get_store())
    engine._stores[settings.SESSIONWARE_STORE] = cast("Store", store)  # a proxy is a store
    return store


def deleted(response: Any, name: str) -> bool:
    morsel = response.cookies.get(name)
    return morsel is not None and morsel.value == "" and morsel["max-age"] == 0


def switched(cookie: str) -> dict[str, Any]:
    store = counting_store()
    sessions_before = store.count()
    own_name = settings.SESSION_COOKIE_NAME
    peer_name = getattr(settings, "SESSIONWARE_TRANSITION_COOKIE", None) or own_name
    client = Client()
    client.cookies[peer_name] = cookie
    response = client.get("/whoami")
    writes = store.writes()
    new_cookie = client.cookies[own_name].value
    again = Client()
    again.cookies[own_name] = new_cookie
    return {
        "first": response.json(),
        "second": again.get("/whoami").json(),
        "cookie": new_cookie,
        "peer_cookie_deleted": peer_name != own_name and deleted(response, peer_name),
        "live_sessions": [sessions_before, store.count()],
        "writes": writes,
        "user_sessions": len(store.ids_for_user(str(User.objects.get(username="ada").pk))),
    }


if __name__ == "__main__":
    step = sys.argv[1]
    result = peer() if step == "peer" else switched(sys.argv[2])
    print(json.dumps(result))
