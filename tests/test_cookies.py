"""Reading the session cookie out of a ``Cookie`` header; ``CookieOptions``, which
renders ``Set-Cookie`` for every integration (Django's spelling is checked against
Django in ``tests/integrations/test_cookie_options.py``)."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from werkzeug.http import dump_cookie

import sessionware as sw
from sessionware import cookies
from sessionware.cookie_io import read_cookie
from sessionware.cookies import CookieOptions, Spelling
from sessionware.stores.memory import MemoryStore

from .conftest import SECRET


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("session=abc", "abc"),
        ("other=1; session=abc; theme=dark", "abc"),
        ('session="abc"', "abc"),
        ("  session = abc  ", "abc"),
        ("session=", ""),
        ("session=a=b", "a=b"),
    ],
)
def test_the_named_cookie_is_read(header: str, expected: str) -> None:
    assert read_cookie(header, "session") == expected


@pytest.mark.parametrize(
    "header", [None, "", "other=1", "xsession=abc", "sessionx=abc", "session", "a=session"]
)
def test_a_header_without_the_named_cookie_gives_none(header: str | None) -> None:
    assert read_cookie(header, "session") is None


def test_the_first_of_two_cookies_with_the_name_wins() -> None:
    assert read_cookie("session=first; session=second", "session") == "first"


def test_a_name_that_ends_another_cookie_name_is_not_taken_for_it() -> None:
    assert read_cookie("xsession=forged; session=real", "session") == "real"


# -- CookieOptions: the one model that renders Set-Cookie ---------------------------


def test_the_default_cookie_is_secure_httponly_and_lax() -> None:
    options = CookieOptions()
    assert options.header("v") == "session=v; Path=/; Secure; HttpOnly; SameSite=Lax"
    assert options.deletion() == (
        "session=; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Path=/; Secure; "
        "HttpOnly; SameSite=Lax"
    )


def test_every_attribute_is_rendered() -> None:
    options = CookieOptions(
        "sid",
        path="/app",
        domain="example.com",
        samesite="none",
        partitioned=True,
        max_age=60,
        expires=0,
    )
    assert options.header("v") == (
        "sid=v; Path=/app; Domain=example.com; Max-Age=60; "
        "Expires=Thu, 01 Jan 1970 00:00:00 GMT; Secure; HttpOnly; SameSite=None; Partitioned"
    )
    assert options.deletion().endswith("; SameSite=None; Partitioned")


def test_after_save_sets_a_new_cookie_deletes_an_invalidated_one_and_else_nothing() -> None:
    options = CookieOptions(httponly=False)
    session = sw.SessionManager(MemoryStore(), secret_key=SECRET).open(None)
    assert options.after_save(session, "signed", had_cookie=False) == options.header("signed")
    assert options.after_save(session, None, had_cookie=True) is None
    session.invalidated = True
    assert options.after_save(session, None, had_cookie=True) == options.deletion()
    assert options.after_save(session, None, had_cookie=False) is None


@pytest.mark.parametrize("name", ["", "a b", "a;b", "a=b", 'a"b', "a,b"])
def test_an_invalid_cookie_name_is_refused(name: str) -> None:
    with pytest.raises(ValueError, match="cookie name"):
        CookieOptions(name)


@pytest.mark.parametrize("spelling", ["sessionware", "starlette", "flask", "django"])
def test_an_unknown_samesite_is_refused_in_every_spelling(spelling: Spelling) -> None:
    with pytest.raises(ValueError, match="SameSite"):
        CookieOptions(samesite="sometimes", spelling=spelling)


@pytest.mark.parametrize("spelling", ["sessionware", "starlette"])
def test_samesite_none_needs_secure_in_sessionwares_and_starlettes_spelling(
    spelling: Spelling,
) -> None:
    with pytest.raises(ValueError, match="Secure"):
        CookieOptions(samesite="None", secure=False, spelling=spelling)


@pytest.mark.parametrize("spelling", ["flask", "django"])
def test_flask_and_django_accept_samesite_none_without_secure_as_they_do(
    spelling: Spelling,
) -> None:
    assert "SameSite=None" in CookieOptions(
        samesite="None", secure=False, spelling=spelling
    ).header("v")


def test_an_unknown_spelling_is_refused() -> None:
    with pytest.raises(ValueError, match="spelling"):
        CookieOptions(spelling="php")  # type: ignore[arg-type]


def test_options_are_a_frozen_hashable_value() -> None:
    options = CookieOptions(max_age=60)
    with pytest.raises(dataclasses.FrozenInstanceError):
        options.max_age = 5  # type: ignore[misc]
    assert options == CookieOptions(max_age=60)
    assert len({options, CookieOptions(max_age=60)}) == 1
    longer = dataclasses.replace(options, max_age=120)
    assert longer.max_age == 120
    assert "Max-Age=120" in longer.header("v")
    assert "Max-Age=60" in options.header("v")


def test_starlettes_spelling_is_starlettes_header() -> None:
    options = CookieOptions(
        domain=".example.com", secure=True, samesite="lax", max_age=60, spelling="starlette"
    )
    assert options.header("v") == (
        "session=v; path=/; Max-Age=60; httponly; samesite=lax; secure; domain=.example.com"
    )
    assert options.deletion() == (
        "session=null; path=/; expires=Thu, 01 Jan 1970 00:00:00 GMT; httponly; samesite=lax; "
        "secure; domain=.example.com"
    )


@pytest.mark.parametrize(
    "attributes",
    [
        {},
        {"domain": ".Example.com:8080", "secure": True, "expires": 1_900_000_000},
        {"path": "/some path;x", "httponly": False, "samesite": None},
        {"samesite": "strict", "partitioned": True, "secure": False},
    ],
)
def test_flasks_spelling_is_werkzeugs_dump_cookie(attributes: dict[str, Any]) -> None:
    options = CookieOptions(**{"secure": False, **attributes}, spelling="flask")
    werkzeug_args: dict[str, Any] = {
        "path": options.path,
        "domain": options.domain,
        "secure": options.secure,
        "httponly": options.httponly,
        "samesite": options.samesite,
        "partitioned": options.partitioned,
    }
    assert options.header("v") == dump_cookie(
        "session", "v", expires=options.expires, **werkzeug_args
    )
    assert options.deletion() == dump_cookie("session", "", expires=0, max_age=0, **werkzeug_args)


def test_morsels_are_for_djangos_spelling_only() -> None:
    with pytest.raises(ValueError, match="Django"):
        CookieOptions().morsel("v")


def test_cookie_settings_is_a_deprecated_name_for_cookie_options() -> None:
    with pytest.warns(DeprecationWarning, match="CookieOptions"):
        alias = cookies.CookieSettings
    assert alias is CookieOptions
    assert alias("sid", max_age=5).set_value("v") == CookieOptions("sid", max_age=5).header("v")
