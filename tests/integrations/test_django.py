"""Django session engine, tested the way Django tests its own backends.

The first part follows ``SessionTestsMixin`` in Django's ``tests/sessions_tests``
(which the django package does not ship), sync and async; then what is particular
to sessionware; then end-to-end requests through ``SessionMiddleware`` with Django's
test clients, and ``manage.py clearsessions``.
"""

from __future__ import annotations

import importlib.util
import logging
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.contrib.sessions.backends.base import CreateError, UpdateError
from django.core.management import call_command
from django.test import AsyncClient, Client, override_settings
from django.utils import timezone

from sessionware.core.record import Record
from sessionware.core.signing import new_session_id, store_key
from sessionware.integrations.django import SessionStore, close_stores, get_manager, get_store

SECURITY_LOGGER = "django.security.SuspiciousSession"


def _store_key_of(session_key: str | None) -> str:
    """The store key of a Django session key: the key is the manager's signed cookie
    (``<id>.<created>.<signature>``) and the store keys on a hash of the id."""
    assert session_key is not None
    return store_key(session_key.partition(".")[0])


# The embedded sqlite store joins in once it is on main.
STORE_URLS = ["memory://"]
if importlib.util.find_spec("sessionware.stores.sqlite") is not None:
    STORE_URLS.append("sqlite")


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(params=STORE_URLS, autouse=True)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    """A fresh store for each test, chosen by ``SESSIONWARE_STORE``."""
    url = request.param
    if url == "sqlite":
        url = f"sqlite:///{tmp_path / 'sessions.db'}"
    with override_settings(SESSIONWARE_STORE=url):
        yield get_store()
        close_stores()


@pytest.fixture
def session() -> Iterator[SessionStore]:
    session = SessionStore()
    yield session
    session.delete()


# -- the mapping (Django's SessionTestsMixin) --------------------------------------------


def test_a_new_session_is_neither_modified_nor_accessed(session: SessionStore) -> None:
    assert session.modified is False
    assert session.accessed is False


def test_get_on_an_empty_session_gives_none(session: SessionStore) -> None:
    assert session.get("cat") is None


@pytest.mark.anyio
async def test_aget_on_an_empty_session_gives_none(session: SessionStore) -> None:
    assert await session.aget("cat") is None


def test_setting_a_value_marks_the_session_modified(session: SessionStore) -> None:
    session["cat"] = "dog"
    assert session.modified is True
    assert session.pop("cat") == "dog"


@pytest.mark.anyio
async def test_aset_marks_the_session_modified(session: SessionStore) -> None:
    await session.aset("cat", "dog")
    assert session.modified is True
    assert await session.apop("cat") == "dog"


def test_pop_marks_the_session_accessed_and_modified(session: SessionStore) -> None:
    session["some key"] = "exists"
    session.accessed = session.modified = False
    assert session.pop("some key") == "exists"
    assert session.accessed is True
    assert session.modified is True
    assert session.get("some key") is None


def test_pop_with_a_default_does_not_modify(session: SessionStore) -> None:
    assert session.pop("some key", default="does not exist") == "does not exist"
    assert session.accessed is True
    assert session.modified is False


@pytest.mark.anyio
async def test_apop_with_a_default_does_not_modify(session: SessionStore) -> None:
    assert await session.apop("some key", "does not exist") == "does not exist"
    assert session.accessed is True
    assert session.modified is False


def test_pop_of_a_missing_key_without_default_raises_key_error(session: SessionStore) -> None:
    with pytest.raises(KeyError):
        session.pop("some key")


def test_setdefault_sets_once(session: SessionStore) -> None:
    assert session.setdefault("foo", "bar") == "bar"
    assert session.setdefault("foo", "baz") == "bar"
    assert session.accessed is True
    assert session.modified is True


@pytest.mark.anyio
async def test_aupdate_and_ahas_key(session: SessionStore) -> None:
    await session.aupdate({"update key": 1})
    assert session.modified is True
    session.accessed = session.modified = False
    assert await session.ahas_key("update key") is True
    assert session.accessed is True
    assert session.modified is False


def test_reading_keys_values_and_items_accesses_without_modifying(
    session: SessionStore,
) -> None:
    session["x"] = 1
    session.accessed = session.modified = False
    assert list(session.keys()) == ["x"]
    assert list(session.values()) == [1]
    assert list(session.items()) == [("x", 1)]
    assert "x" in session
    assert session.accessed is True
    assert session.modified is False


@pytest.mark.anyio
async def test_akeys_avalues_aitems(session: SessionStore) -> None:
    await session.aset("x", 1)
    session.accessed = session.modified = False
    assert list(await session.akeys()) == ["x"]
    assert list(await session.avalues()) == [1]
    assert list(await session.aitems()) == [("x", 1)]
    assert session.accessed is True
    assert session.modified is False


def test_clear_empties_and_marks_modified(session: SessionStore) -> None:
    session["x"] = 1
    session.accessed = session.modified = False
    session.clear()
    assert list(session.items()) == []
    assert session.accessed is True
    assert session.modified is True


# -- saving, deleting, flushing, cycling (SessionTestsMixin) -------------------------------


def test_a_saved_session_exists(session: SessionStore) -> None:
    session.save()
    assert session.exists(session.session_key) is True


@pytest.mark.anyio
async def test_an_asaved_session_aexists(session: SessionStore) -> None:
    await session.asave()
    assert await session.aexists(session.session_key) is True


def test_a_deleted_session_no_longer_exists(session: SessionStore) -> None:
    session.save()
    session.delete(session.session_key)
    assert session.exists(session.session_key) is False


@pytest.mark.anyio
async def test_an_adeleted_session_no_longer_aexists(session: SessionStore) -> None:
    await session.asave()
    await session.adelete(session.session_key)
    assert await session.aexists(session.session_key) is False


def test_exists_is_false_for_no_key(session: SessionStore) -> None:
    assert session.exists(None) is False
    assert session.exists("") is False


def test_flush_deletes_the_record_and_drops_the_key(session: SessionStore) -> None:
    session["foo"] = "bar"
    session.save()
    previous = session.session_key
    session.flush()
    assert session.exists(previous) is False
    assert session.session_key is None
    assert session.modified is True
    assert session.accessed is True


@pytest.mark.anyio
async def test_aflush_deletes_the_record_and_drops_the_key(session: SessionStore) -> None:
    await session.aset("foo", "bar")
    await session.asave()
    previous = session.session_key
    await session.aflush()
    assert await session.aexists(previous) is False
    assert session.session_key is None
    assert session.modified is True


def test_cycle_key_moves_the_data_to_a_new_key(session: SessionStore) -> None:
    session["a"], session["b"] = "c", "d"
    session.save()
    previous = session.session_key
    data = list(session.items())
    session.cycle_key()
    assert session.exists(previous) is False
    assert session.session_key != previous
    assert list(session.items()) == data


@pytest.mark.anyio
async def test_acycle_key_moves_the_data_to_a_new_key(session: SessionStore) -> None:
    await session.aset("a", "c")
    await session.aset("b", "d")
    await session.asave()
    previous = session.session_key
    data = list(await session.aitems())
    await session.acycle_key()
    assert await session.aexists(previous) is False
    assert session.session_key != previous
    assert list(await session.aitems()) == data


def test_cycle_key_of_a_reopened_session_keeps_its_data(session: SessionStore) -> None:
    session["a"], session["b"] = "c", "d"
    session.save()
    reopened = SessionStore(session.session_key)
    assert not hasattr(reopened, "_session_cache")
    reopened.cycle_key()
    assert sorted(reopened.items()) == [("a", "c"), ("b", "d")]
    reopened.save()
    assert SessionStore(reopened.session_key)["a"] == "c"


@pytest.mark.anyio
async def test_acycle_key_of_a_reopened_session_keeps_its_data(session: SessionStore) -> None:
    await session.aset("a", "c")
    await session.asave()
    reopened = SessionStore(session.session_key)
    await reopened.acycle_key()
    assert list(await reopened.aitems()) == [("a", "c")]


def test_save_keeps_the_data_in_the_session(session: SessionStore) -> None:
    session["a"] = "b"
    session.save()
    assert session["a"] == "b"


def test_a_reopened_session_reads_what_was_saved(session: SessionStore) -> None:
    session["a"] = {"nested": [1, 2]}
    session.save()
    assert SessionStore(session.session_key)["a"] == {"nested": [1, 2]}


def test_an_invalid_key_gets_a_new_key_on_save() -> None:
    session = SessionStore("1")
    session.save()
    assert session.session_key != "1"
    assert session.get("cat") is None
    session.delete()


@pytest.mark.anyio
async def test_an_invalid_key_gets_a_new_key_on_asave() -> None:
    session = SessionStore("1")
    await session.asave()
    assert session.session_key != "1"
    assert await session.aget("cat") is None
    await session.adelete()


@pytest.mark.parametrize("key", ["", "1234567"])
def test_empty_or_short_keys_are_rejected(session: SessionStore, key: str) -> None:
    session._session_key = key
    assert session.session_key is None


def test_keys_of_eight_characters_are_accepted(session: SessionStore) -> None:
    session._session_key = "12345678"
    assert session.session_key == "12345678"


def test_the_session_key_is_read_only(session: SessionStore) -> None:
    with pytest.raises(AttributeError):
        session.session_key = "abcdefghijkl"


def test_loading_an_unknown_key_does_not_create_a_record(store: Any) -> None:
    session = SessionStore("someunknownkey")
    assert session.load() == {}
    assert session.session_key is None
    assert store.count() == 0


@pytest.mark.anyio
async def test_aloading_an_unknown_key_does_not_create_a_record(store: Any) -> None:
    session = SessionStore("someunknownkey")
    assert await session.aload() == {}
    assert session.session_key is None
    assert await session.aexists("someunknownkey") is False
    assert store.count() == 0


def test_saving_an_unknown_key_raises_update_error_instead_of_adopting_it(store: Any) -> None:
    with pytest.raises(UpdateError):
        SessionStore("someunknownkey").save()
    assert store.count() == 0


def test_must_create_on_a_taken_key_raises_create_error(session: SessionStore) -> None:
    session["a"] = 1
    session.save()
    twin = SessionStore(session.session_key)
    with pytest.raises(CreateError):
        twin.save(must_create=True)
    assert SessionStore(session.session_key)["a"] == 1


def test_a_save_does_not_resurrect_a_session_deleted_elsewhere() -> None:
    first = SessionStore()
    first["test_data"] = "value1"
    first.save(must_create=True)
    SessionStore(first.session_key).delete()  # a logout in another request
    first["test_data"] = "value2"
    with pytest.raises(UpdateError):
        first.save()
    assert first.load() == {}


@pytest.mark.anyio
async def test_an_asave_does_not_resurrect_a_session_deleted_elsewhere() -> None:
    first = SessionStore()
    await first.aset("test_data", "value1")
    await first.asave(must_create=True)
    await SessionStore(first.session_key).adelete()
    await first.aset("test_data", "value2")
    with pytest.raises(UpdateError):
        await first.asave()
    assert await first.aload() == {}


# -- expiry (SessionTestsMixin) -------------------------------------------------------------


def test_the_default_expiry_is_the_cookie_age(session: SessionStore) -> None:
    assert session.get_expiry_age() == settings.SESSION_COOKIE_AGE
    session.set_expiry(0)  # expires at browser close, but keeps the default age
    assert session.get_expiry_age() == settings.SESSION_COOKIE_AGE


@pytest.mark.anyio
async def test_the_default_expiry_is_the_cookie_age_async(session: SessionStore) -> None:
    assert await session.aget_expiry_age() == settings.SESSION_COOKIE_AGE
    await session.aset_expiry(0)
    assert await session.aget_expiry_age() == settings.SESSION_COOKIE_AGE


@pytest.mark.parametrize("expiry", [10, timedelta(seconds=10), "datetime"])
def test_a_custom_expiry_sets_the_age_and_date(session: SessionStore, expiry: Any) -> None:
    modification = timezone.now()
    if expiry == "datetime":
        expiry = modification + timedelta(seconds=10)
    if isinstance(expiry, timedelta):
        expiry = modification + expiry  # as set_expiry would, without racing the clock
    session.set_expiry(expiry)
    assert session.get_expiry_date(modification=modification) == modification + timedelta(
        seconds=10
    )
    assert session.get_expiry_age(modification=modification) == 10


def test_set_expiry_none_goes_back_to_the_default(session: SessionStore) -> None:
    session.set_expiry(None)
    session.set_expiry(10)
    session.set_expiry(None)
    assert session.get_expiry_age() == settings.SESSION_COOKIE_AGE


@pytest.mark.parametrize("at_browser_close", [False, True])
def test_expire_at_browser_close_follows_set_expiry_and_settings(
    session: SessionStore, at_browser_close: bool
) -> None:
    with override_settings(SESSION_EXPIRE_AT_BROWSER_CLOSE=at_browser_close):
        session.set_expiry(10)
        assert session.get_expire_at_browser_close() is False
        session.set_expiry(0)
        assert session.get_expire_at_browser_close() is True
        session.set_expiry(None)
        assert session.get_expire_at_browser_close() is at_browser_close


def test_an_expiry_in_the_past_expires_the_session_at_once(session: SessionStore) -> None:
    session["foo"] = "bar"
    session.set_expiry(-timedelta(seconds=10))
    session.save()
    reopened = SessionStore(session.session_key)
    assert "foo" not in reopened
    assert reopened.session_key is None


@pytest.mark.anyio
async def test_an_expiry_in_the_past_expires_the_session_at_once_async(
    session: SessionStore,
) -> None:
    await session.aset("foo", "bar")
    await session.aset_expiry(-timedelta(seconds=10))
    await session.asave()
    reopened = SessionStore(session.session_key)
    assert await reopened.ahas_key("foo") is False


def test_the_stored_record_expires_when_django_says(session: SessionStore, store: Any) -> None:
    session["a"] = 1
    session.set_expiry(600)
    session.save()
    record = store.load(_store_key_of(session.session_key))
    assert record is not None
    assert abs(record.expires_at - (time.time() + 600)) < 5


# -- encoding (SessionTestsMixin) -----------------------------------------------------------


def test_decode_reads_what_encode_wrote(session: SessionStore) -> None:
    data = {"a test key": "a test value", "n": [1, 2.5, None]}
    assert session.decode(session.encode(data)) == data


def test_data_is_stored_as_json(session: SessionStore, store: Any) -> None:
    session["a"] = [1, "two"]
    session.save()
    assert store.load(_store_key_of(session.session_key)).data == b'{"a":[1,"two"]}'


@pytest.mark.parametrize("encoded", ["Zmxhc2tkajphbGtkamY=", "bad:encoded:value", "[1, 2]"])
def test_decoding_corrupted_data_gives_an_empty_session_and_a_security_log(
    session: SessionStore, caplog: pytest.LogCaptureFixture, encoded: str
) -> None:
    with caplog.at_level(logging.WARNING, logger=SECURITY_LOGGER):
        assert session.decode(encoded) == {}
    assert [r.getMessage() for r in caplog.records if r.name == SECURITY_LOGGER] == [
        "Session data corrupted"
    ]


def test_a_corrupted_stored_record_loads_as_an_empty_session(
    store: Any, caplog: pytest.LogCaptureFixture
) -> None:
    now = time.time()
    key = get_manager().core.signer.sign(new_session_id(), now)  # a genuine cookie
    store.save(Record(_store_key_of(key), b"\x00not json", now, now + 600, 1, None))
    with caplog.at_level(logging.WARNING, logger="sessionware"):
        session = SessionStore(key)
        assert dict(session.items()) == {}
    assert any("does not decode" in r.getMessage() for r in caplog.records)
    session["fresh"] = True
    session.save()  # a fresh session: the damaged record is never adopted
    assert session.session_key != key
    assert SessionStore(session.session_key)["fresh"] is True


def test_a_value_json_cannot_hold_fails_the_save(session: SessionStore) -> None:
    session["obj"] = object()
    with pytest.raises(TypeError):
        session.save()


# -- what sessionware adds --------------------------------------------------------------------


def test_the_store_never_sees_the_session_key(session: SessionStore, store: Any) -> None:
    session["a"] = 1
    session.save()
    ids = list(store.ids())
    assert ids == [_store_key_of(session.session_key)]
    assert session.session_key not in ids


def test_concurrent_saves_keep_each_others_changes_to_other_keys(
    session: SessionStore,
) -> None:
    session["shared"] = 0
    session.save()
    first = SessionStore(session.session_key)
    second = SessionStore(session.session_key)
    first["cart"] = [1]
    second["theme"] = "dark"
    first.save()
    second.save()
    assert dict(SessionStore(session.session_key).items()) == {
        "shared": 0,
        "cart": [1],
        "theme": "dark",
    }
    assert second["cart"] == [1]  # the merged data is what the session now holds


def test_a_concurrent_removal_of_a_key_is_kept(session: SessionStore) -> None:
    session.update({"a": 1, "b": 2})
    session.save()
    first = SessionStore(session.session_key)
    second = SessionStore(session.session_key)
    del first["a"]
    second["b"] = 3
    first.save()
    second.save()
    assert dict(SessionStore(session.session_key).items()) == {"b": 3}


def test_sessions_of_a_logged_in_user_are_indexed_by_user(
    session: SessionStore, store: Any
) -> None:
    session["_auth_user_id"] = "42"
    session.save()
    other = SessionStore()
    other["_auth_user_id"] = "42"
    other.save()
    assert sorted(store.ids_for_user("42")) == sorted(
        [_store_key_of(session.session_key), _store_key_of(other.session_key)]
    )
    other.delete()


def test_one_store_per_url_is_opened_and_kept(store: Any) -> None:
    assert get_store() is store
    with override_settings(SESSIONWARE_STORE="memory://other"):
        other = get_store()
        assert other is not store
        assert get_store() is other


def test_close_stores_makes_the_next_use_open_a_fresh_store(store: Any) -> None:
    close_stores()
    assert get_store() is not store


# -- clearing expired sessions --------------------------------------------------------------


def _one_live_and_one_expired_session() -> SessionStore:
    live = SessionStore()
    live["foo"] = "bar"
    live.set_expiry(3600)
    live.save()
    expired = SessionStore()
    expired["foo"] = "bar"
    expired.set_expiry(-3600)
    expired.save()
    return live


def test_a_save_with_an_expiry_in_the_past_stores_nothing(store: Any) -> None:
    # sessionware's rule: a save with no lifetime left is a delete (Django's own
    # backends write the expired record and leave it to clearsessions).
    _one_live_and_one_expired_session()
    assert store.count() == 1
    assert store.purge_expired() == 0


def test_clear_expired_removes_only_expired_sessions(store: Any) -> None:
    live = _one_live_and_one_expired_session()
    SessionStore.clear_expired()
    assert store.purge_expired() == 0
    assert live.exists(live.session_key) is True


@pytest.mark.anyio
async def test_aclear_expired_removes_only_expired_sessions(store: Any) -> None:
    live = _one_live_and_one_expired_session()
    await SessionStore.aclear_expired()
    assert store.purge_expired() == 0
    assert await live.aexists(live.session_key) is True


def test_the_clearsessions_command_removes_expired_sessions(store: Any) -> None:
    live = _one_live_and_one_expired_session()
    call_command("clearsessions")
    assert store.purge_expired() == 0
    assert live.exists(live.session_key) is True


# -- end to end through SessionMiddleware (Django's, and sessionware's drop-in) ---------------


@pytest.fixture(
    params=[
        "django.contrib.sessions.middleware.SessionMiddleware",
        "sessionware.integrations.django.SessionMiddleware",
    ]
)
def session_middleware(request: pytest.FixtureRequest) -> Iterator[str]:
    """Each end-to-end test runs through both: the drop-in must behave as Django's."""
    with override_settings(MIDDLEWARE=[request.param]):
        yield request.param


@pytest.mark.usefixtures("session_middleware")
def test_a_value_set_in_one_request_is_read_in_the_next() -> None:
    client = Client()
    response = client.get("/set/color/blue")
    assert response.cookies[settings.SESSION_COOKIE_NAME].value
    assert response.headers["Vary"] == "Cookie"
    assert client.get("/get/color").content == b"'blue'"


@pytest.mark.usefixtures("session_middleware")
def test_the_cookie_holds_djangos_session_key(store: Any) -> None:
    client = Client()
    response = client.get("/set/color/blue")
    key = response.cookies[settings.SESSION_COOKIE_NAME].value
    assert list(store.ids()) == [_store_key_of(key)]
    assert SessionStore(key)["color"] == "blue"


@pytest.mark.usefixtures("session_middleware")
def test_a_view_that_does_not_use_the_session_sets_no_cookie_and_no_vary(store: Any) -> None:
    response = Client().get("/nothing")
    assert settings.SESSION_COOKIE_NAME not in response.cookies
    assert "Vary" not in response.headers
    assert store.count() == 0


@pytest.mark.usefixtures("session_middleware")
def test_flush_in_a_view_deletes_the_record_and_the_cookie(store: Any) -> None:
    client = Client()
    client.get("/set/color/blue")
    response = client.get("/flush")
    cookie = response.cookies[settings.SESSION_COOKIE_NAME]
    assert cookie.value == ""
    assert cookie["max-age"] == 0
    assert store.count() == 0
    assert client.get("/get/color").content == b"None"


@pytest.mark.usefixtures("session_middleware")
def test_cycle_key_in_a_view_sends_a_new_cookie_with_the_same_data() -> None:
    client = Client()
    before = client.get("/set/color/blue").cookies[settings.SESSION_COOKIE_NAME].value
    after = client.get("/cycle").cookies[settings.SESSION_COOKIE_NAME].value
    assert after != before
    assert client.get("/get/color").content == b"'blue'"
    assert SessionStore(before).get("color") is None


@pytest.mark.usefixtures("session_middleware")
def test_set_expiry_zero_gives_a_browser_session_cookie() -> None:
    response = Client().get("/browser-close")
    cookie = response.cookies[settings.SESSION_COOKIE_NAME]
    assert cookie["max-age"] == ""
    assert cookie["expires"] == ""


@pytest.mark.usefixtures("session_middleware")
def test_set_expiry_in_the_past_ends_the_session() -> None:
    client = Client()
    client.get("/expire-now")
    assert client.get("/get/doomed").content == b"None"


@pytest.mark.usefixtures("session_middleware")
def test_a_5xx_response_saves_nothing(store: Any) -> None:
    client = Client()
    response = client.get("/unavailable")
    assert response.status_code == 503
    assert settings.SESSION_COOKIE_NAME not in response.cookies
    assert store.count() == 0


@pytest.mark.usefixtures("session_middleware")
def test_a_session_deleted_during_the_request_is_interrupted_not_recreated(
    store: Any,
) -> None:
    client = Client()
    client.get("/set/color/blue")
    response = client.get("/deleted-meanwhile")
    assert response.status_code == 400  # SessionInterrupted
    assert store.count() == 0


@pytest.mark.usefixtures("session_middleware")
@override_settings(
    SESSION_COOKIE_SECURE=True,
    SESSION_COOKIE_HTTPONLY=True,
    SESSION_COOKIE_SAMESITE="Strict",
    SESSION_COOKIE_NAME="app_session",
)
def test_cookie_attributes_follow_django_settings() -> None:
    cookie = Client().get("/set/a/b").cookies["app_session"]
    assert cookie["secure"] is True
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Strict"


@pytest.mark.usefixtures("session_middleware")
def test_an_async_view_uses_the_async_session_api() -> None:
    client = Client()
    assert client.get("/async-count").content == b"1"
    assert client.get("/async-count").content == b"2"


@pytest.mark.usefixtures("session_middleware")
@pytest.mark.anyio
async def test_the_asgi_handler_serves_sessions() -> None:
    client = AsyncClient()
    assert (await client.get("/async-count")).content == b"1"
    assert (await client.get("/async-count")).content == b"2"
    assert (await client.get("/set/color/blue")).status_code == 200
    assert (await client.get("/get/color")).content == b"'blue'"
