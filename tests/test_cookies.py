"""Reading the session cookie out of a ``Cookie`` header."""

from __future__ import annotations

import pytest

from sessionware.cookies import read_cookie


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
