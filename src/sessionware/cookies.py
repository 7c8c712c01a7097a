"""The session cookie's attributes: ``CookieOptions``, their one model (reading the
cookie from a request and the middlewares' shared part are in ``cookie_io``).

Every integration maps its own settings onto a ``CookieOptions`` (WSGI and ASGI
their keyword arguments, Starlette its middleware's, Flask its ``SESSION_COOKIE_*``
config, Django its ``SESSION_COOKIE_*`` settings) and emits the ``Set-Cookie``
value it renders, for a session cookie and for its deletion; none renders an
attribute itself. ``spelling`` picks whose header the text matches byte for byte
(tests, proxies and scripts that match a framework's own header keep matching):
sessionware's, Starlette's, werkzeug's (Flask) or Django's (a ``Morsel``).

Adding a cookie option is a change to this module (a field, its check, its place
in each spelling, and its keyword in ``CookieArguments`` for the WSGI and ASGI
middlewares) plus tests: the integrations pass every field through.
"""

from __future__ import annotations

import functools
import warnings
from dataclasses import dataclass, field, replace
from email.utils import formatdate
from http.cookies import Morsel, SimpleCookie
from typing import TYPE_CHECKING, Any, ClassVar, Literal, TypedDict
from urllib.parse import quote

if TYPE_CHECKING:
    from .core.lifecycle import SessionCore
    from .core.session import Session

__all__ = [
    "CookieArguments",
    "CookieOptions",
    "Spelling",
    "cached_options",
    "cookie_max_age_of",
]

#: Whose ``Set-Cookie`` text a ``CookieOptions`` renders.
Spelling = Literal["sessionware", "starlette", "flask", "django"]

_SAMESITE = {"lax": "Lax", "strict": "Strict", "none": "None"}
_EPOCH = "Thu, 01 Jan 1970 00:00:00 GMT"
_INVALID_NAME_CHARS = '=;, \t\r\n"'


@dataclass(frozen=True, slots=True)
class CookieOptions:
    """The session cookie's attributes; renders its ``Set-Cookie`` value.

    ``max_age``: the ``Max-Age`` attribute in seconds (None: none, a browser-session
    cookie unless ``expires`` is set); ``expires``: the ``Expires`` attribute as Unix
    seconds (Flask's and Django's per-session lifetimes). ``samesite`` is "Lax",
    "Strict", "None" in any case, or None for no attribute; with sessionware's and
    Starlette's spellings, "None" must be ``secure`` (browsers drop it otherwise).
    Rendered once, when made (``header(value)`` is one string join); a frozen,
    hashable value: ``dataclasses.replace(options, ...)`` makes a variant.
    """

    name: str = "session"
    path: str = "/"
    domain: str | None = None
    secure: bool = True
    httponly: bool = True
    samesite: str | None = "Lax"
    partitioned: bool = False  # CHIPS: a cookie jar per top-level site
    max_age: int | None = None
    expires: int | None = None
    spelling: Spelling = "sessionware"
    # Rendered by __post_init__: what follows "name=value", the deletion, and (for
    # Django's spelling) the Morsel attributes of both.
    _tail: str = field(init=False, repr=False, compare=False)
    _deletion: str = field(init=False, repr=False, compare=False)
    _morsels: tuple[dict[str, Any], dict[str, Any]] | None = field(
        init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        if not self.name or any(c in self.name for c in _INVALID_NAME_CHARS):
            raise ValueError(f"invalid cookie name {self.name!r}")
        samesite = self.samesite
        if samesite is not None:
            if samesite.lower() not in _SAMESITE:
                raise ValueError("SameSite must be 'Lax', 'Strict', 'None' or None")
            if samesite.lower() == "none" and not self.secure and self.spelling in _STRICT:
                raise ValueError("SameSite=None cookies must also be Secure")
        render = _SPELLINGS.get(self.spelling)
        if render is None:
            raise ValueError(f"unknown cookie spelling {self.spelling!r}")
        tail, deletion, morsels = render(self)
        object.__setattr__(self, "_tail", tail)
        object.__setattr__(self, "_deletion", f"{self.name}={deletion}")
        object.__setattr__(self, "_morsels", morsels)

    def header(self, value: str) -> str:
        """The ``Set-Cookie`` value that sets the cookie to ``value`` (cookie-safe
        as it is: a signed session id)."""
        return f"{self.name}={value}{self._tail}"

    set_value = header  # CookieSettings' name for it

    def deletion(self) -> str:
        """The ``Set-Cookie`` value that deletes the cookie (expired at once)."""
        return self._deletion

    def deletion_of(self, name: str) -> str:
        """The ``Set-Cookie`` value that deletes another cookie (a peer library's
        session cookie) under this cookie's path, domain and spelling."""
        return replace(self, name=name)._deletion

    def after_save(
        self, session: Session, cookie_value: str | None, had_cookie: bool
    ) -> str | None:
        """The ``Set-Cookie`` value a response needs once its session was saved
        (``cookie_value``: what ``save_changes`` returned), or None.

        A new or regenerated session sends its cookie; an invalidated one deletes
        the cookie the browser sent; anything else sends nothing.
        """
        if cookie_value is not None:
            return f"{self.name}={cookie_value}{self._tail}"
        if session.invalidated and had_cookie:
            return self._deletion
        return None

    # -- Django keeps response cookies as Morsels ----------------------------------

    def morsel(self, value: str, into: Morsel[str] | None = None) -> Morsel[str]:
        """The cookie as a ``Morsel`` that renders ``header(value)`` (Django's
        spelling only). ``into``: the Morsel of that name the response has already
        (the view set one), updated as Django's ``set_cookie`` updates it: the
        attributes set here replace, the others are kept."""
        return self._morsel(0, value, self._tail, into)

    def deletion_morsel(self, into: Morsel[str] | None = None) -> Morsel[str]:
        """The deletion as a ``Morsel`` that renders ``deletion()``; ``into`` as above."""
        return self._morsel(1, "", self._deletion[len(self.name) + 3 :], into)  # 'name=""'

    def _morsel(self, which: int, value: str, tail: str, into: Morsel[str] | None) -> Morsel[str]:
        if self._morsels is None:
            raise ValueError("only options in Django's spelling render Morsels")
        attributes = self._morsels[which]
        if into is None:
            return _RenderedMorsel(self.name, value, attributes, tail)
        real, coded = _encode_value(value)
        into.set(self.name, real, coded)
        for key, item in attributes.items():
            if item != "" or key == "expires":
                dict.__setitem__(into, key, item)
        return into


@functools.lru_cache(maxsize=32)
def cached_options(
    spelling: Spelling,
    name: str,
    path: str,
    domain: str | None,
    secure: bool,
    httponly: bool,
    samesite: str | None,
    partitioned: bool,
    max_age: int | None,
    expires: int | None,
) -> CookieOptions:
    """``CookieOptions`` from its fields, made (and rendered) once per distinct
    set: for integrations that read their framework's settings per request
    (Flask's ``get_cookie_*``, Django's ``SESSION_COOKIE_*``)."""
    return CookieOptions(
        name, path, domain, secure, httponly, samesite, partitioned, max_age, expires, spelling
    )


class CookieArguments(TypedDict, total=False):
    """The cookie keyword arguments of ``wsgi.SessionMiddleware`` and
    ``asgi.SessionMiddleware``: fields of ``CookieOptions`` (with its defaults), two
    of them renamed there: ``cookie_name`` and ``cookie_max_age`` (by default the
    manager's absolute lifetime, see ``cookie_max_age_of``)."""

    cookie_name: str
    secure: bool
    httponly: bool
    samesite: str | None
    path: str
    domain: str | None
    cookie_max_age: int | None
    partitioned: bool


def __getattr__(name: str) -> Any:
    if name == "CookieSettings":
        warnings.warn(
            "sessionware.cookies.CookieSettings is CookieOptions now",
            DeprecationWarning,
            stacklevel=2,
        )
        return CookieOptions
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# -- the spellings: (set tail, deletion value and tail, Morsel attributes) --------

_Rendered = tuple[str, str, tuple[dict[str, Any], dict[str, Any]] | None]


def _sessionware(o: CookieOptions) -> _Rendered:
    samesite = None if o.samesite is None else _SAMESITE[o.samesite.lower()]
    place = [("Path", o.path), ("Domain", o.domain or None)]
    max_age = None if o.max_age is None else int(o.max_age)
    lifetime = [("Max-Age", max_age), ("Expires", _date(o.expires))]
    flags = [
        ("Secure", o.secure),
        ("HttpOnly", o.httponly),
        ("SameSite", samesite),
        ("Partitioned", o.partitioned),
    ]
    deletion = [("Max-Age", 0), ("Expires", _EPOCH), *place, *flags]
    return _attributes([*place, *lifetime, *flags]), _attributes(deletion), None


def _starlette(o: CookieOptions) -> _Rendered:
    """Lower-case attributes in the order of Starlette's middleware, ``null`` as a
    deleted cookie's value."""
    place = [("path", o.path)]
    lifetime = [("Max-Age", o.max_age), ("expires", _date(o.expires))]
    flags = [
        ("httponly", o.httponly),
        ("samesite", o.samesite),
        ("secure", o.secure),
        ("domain", o.domain),
        ("partitioned", o.partitioned),
    ]
    deletion = [*place, ("expires", _EPOCH), *flags]
    return _attributes([*place, *lifetime, *flags]), "null" + _attributes(deletion), None


def _flask(o: CookieOptions) -> _Rendered:
    """As werkzeug's ``dump_cookie`` renders what Flask's session interface passes
    it (``delete_cookie`` for the deletion)."""
    domain = o.domain
    if domain:
        domain = domain.partition(":")[0].lstrip(".").encode("idna").decode("ascii")
    path = quote(o.path, safe="%!$&'()*+,/:=@")
    secure = o.secure or o.partitioned  # werkzeug's rule
    samesite = None if o.samesite is None else o.samesite.title()

    def attributes(expires: str | None, max_age: int | None) -> str:
        return _attributes(
            [
                ("Domain", domain),
                ("Expires", expires),
                ("Max-Age", max_age),
                ("Secure", secure),
                ("HttpOnly", o.httponly),
                ("Path", path),
                ("SameSite", samesite),
                ("Partitioned", o.partitioned),
            ]
        )

    return attributes(_date(o.expires), o.max_age), attributes(_EPOCH, 0), None


def _django(o: CookieOptions) -> _Rendered:
    """As Django's ``set_cookie`` / ``delete_cookie`` leave the response's Morsel."""
    kept = {
        "path": o.path,
        "domain": "" if o.domain is None else o.domain,
        "samesite": o.samesite or "",
        "partitioned": True if o.partitioned else "",
    }
    set_attributes = {
        **kept,
        "expires": _date(o.expires) or "",
        "max-age": "" if o.max_age is None else int(o.max_age),
        "secure": True if o.secure else "",
        "httponly": True if o.httponly else "",
    }
    # Django's delete_cookie: no HttpOnly; Secure where browsers need it to take it.
    needs_secure = o.name.startswith(("__Secure-", "__Host-")) or o.partitioned
    needs_secure = needs_secure or (o.samesite or "").lower() == "none"
    deletion_attributes = {
        **kept,
        "expires": _EPOCH,
        "max-age": 0,
        "secure": True if needs_secure else "",
        "httponly": "",
    }
    return (
        _morsel_tail(set_attributes),
        '""' + _morsel_tail(deletion_attributes),
        (set_attributes, deletion_attributes),
    )


_SPELLINGS = {
    "sessionware": _sessionware,
    "starlette": _starlette,
    "flask": _flask,
    "django": _django,
}
#: The spellings whose options refuse SameSite=None without Secure.
_STRICT = frozenset({"sessionware", "starlette"})


def _joined(parts: list[str]) -> str:
    return "".join(f"; {part}" for part in parts)


def _attributes(items: list[tuple[str, Any]]) -> str:
    """``; Name=value`` for each item, ``; Name`` for True, nothing for None or False."""
    return _joined(
        [k if v is True else f"{k}={v}" for k, v in items if v is not None and v is not False]
    )


def _date(epoch_seconds: int | None) -> str | None:
    return None if epoch_seconds is None else formatdate(epoch_seconds, usegmt=True)


def _morsel_tail(attributes: dict[str, Any]) -> str:
    """What ``Morsel.OutputString`` renders after ``name=value``: the attributes in
    sorted order, flags by name, empty ones left out."""
    parts = []
    for key, value in sorted(attributes.items()):
        if value == "":
            continue
        name = _RenderedMorsel._reserved[key]
        if key in _RenderedMorsel._flags:
            parts.append(name)
        elif key == "max-age":
            parts.append(f"{name}={int(value)}")
        else:
            parts.append(f"{name}={value}")
    return _joined(parts)


_encode_value = SimpleCookie().value_encode


class _RenderedMorsel(Morsel[str]):
    """A real ``Morsel`` (the test client, other middleware and ``response.cookies``
    read it as usual) whose rendering is the one ``CookieOptions`` made, until
    someone changes it: Morsel's own rendering takes over then."""

    # Morsel's attribute names (untyped internals) plus Partitioned, which Python
    # knows from 3.14 only.
    _reserved: ClassVar[dict[str, str]] = {
        **vars(Morsel)["_reserved"],
        "partitioned": "Partitioned",
    }
    _flags: ClassVar[set[str]] = {*vars(Morsel)["_flags"], "partitioned"}

    def __init__(self, name: str, value: str, attributes: dict[str, Any], tail: str) -> None:
        super().__init__()
        dict.update(self, attributes)
        real, coded = _encode_value(value)
        self.set(name, real, coded)
        self._rendered_as = (name, coded)
        self._rendered = f"{name}={coded}{tail}"
        self._snapshot = dict(self)

    def _unchanged(self) -> bool:
        return (self.key, self.coded_value) == self._rendered_as and dict.__eq__(
            self, self._snapshot
        )

    def OutputString(self, attrs: Any = None) -> str:  # noqa: N802  # Morsel's name
        if attrs is None and self._unchanged():
            return self._rendered
        rendered: str = super().OutputString(attrs)
        return rendered


def cookie_max_age_of(core: SessionCore) -> int | None:
    """The cookie ``Max-Age`` matching a manager's absolute session lifetime
    (None: no absolute lifetime, so a browser-session cookie)."""
    max_age = core.policy.max_age
    return None if max_age is None else int(max_age)
