"""One step of a switch from Django's db session backend, run in a process of its
own (Django reads its settings once per process): ``python -m
tests.importers.django_driver peer|switched [COOKIE]``, printing JSON.

``peer``: Django's own db backend logs a user in through the test client and
stores more data; prints the ``sessionid`` cookie. ``switched``: sessionware's
engine (in transition mode when ``SW_UNTIL`` is set) answers a request carrying
``COOKIE`` and then one with the cookie it set; prints what each saw, the new
cookie and the store's write count.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.importers.django_settings")

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth.models import User  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.test import Client  # noqa: E402


def peer() -> dict[str, Any]:
    call_command("migrate", verbosity=0)
    User.objects.create_user("ada", password="lovelace-1815")
    client = Client()
    assert client.login(username="ada", password="lovelace-1815")
    session = client.session  # Django's db backend's SessionStore
    session["cart"] = [1, 2]
    session.save()
    return {"cookie": client.cookies[settings.SESSION_COOKIE_NAME].value}


def switched(cookie: str) -> dict[str, Any]:
    from sessionware.integrations.django.engine import get_store

    store = get_store()
    writes_before = store.count()
    client = Client()
    client.cookies[settings.SESSION_COOKIE_NAME] = cookie
    first = client.get("/whoami").json()
    new_cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
    second = client.get("/whoami").json()
    return {
        "first": first,
        "second": second,
        "cookie": new_cookie,
        "live_sessions": [writes_before, store.count()],
        "user_sessions": len(store.ids_for_user(str(User.objects.get(username="ada").pk))),
    }


if __name__ == "__main__":
    step = sys.argv[1]
    result = peer() if step == "peer" else switched(sys.argv[2])
    print(json.dumps(result))
