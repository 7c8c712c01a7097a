"""A tiny Django site for the end-to-end tests: views that use ``request.session``."""

from __future__ import annotations

from datetime import timedelta

from django.http import HttpRequest, HttpResponse
from django.urls import path

from sessionware.integrations.django import get_store


def set_value(request: HttpRequest, key: str, value: str) -> HttpResponse:
    request.session[key] = value
    return HttpResponse("set")


def get_value(request: HttpRequest, key: str) -> HttpResponse:
    return HttpResponse(repr(request.session.get(key)))


def nothing(request: HttpRequest) -> HttpResponse:
    return HttpResponse("no session here")


def flush(request: HttpRequest) -> HttpResponse:
    request.session.flush()
    return HttpResponse("flushed")


def cycle(request: HttpRequest) -> HttpResponse:
    request.session.cycle_key()
    return HttpResponse("cycled")


def browser_close(request: HttpRequest) -> HttpResponse:
    request.session["kept"] = "until the browser closes"
    request.session.set_expiry(0)
    return HttpResponse("set")


def expire_now(request: HttpRequest) -> HttpResponse:
    request.session["doomed"] = True
    request.session.set_expiry(-timedelta(seconds=10))
    return HttpResponse("expired")


def unavailable(request: HttpRequest) -> HttpResponse:
    request.session["lost"] = True
    return HttpResponse("try later", status=503)


def deleted_meanwhile(request: HttpRequest) -> HttpResponse:
    request.session["late"] = True
    # A logout in a concurrent request removes the record before this one saves.
    get_store().delete_all()
    return HttpResponse("too late")


async def async_count(request: HttpRequest) -> HttpResponse:
    count = await request.session.aget("count", 0) + 1
    await request.session.aset("count", count)
    return HttpResponse(str(count))


urlpatterns = [
    path("set/<str:key>/<str:value>", set_value),
    path("get/<str:key>", get_value),
    path("nothing", nothing),
    path("flush", flush),
    path("cycle", cycle),
    path("browser-close", browser_close),
    path("expire-now", expire_now),
    path("unavailable", unavailable),
    path("deleted-meanwhile", deleted_meanwhile),
    path("async-count", async_count),
]


def vary_and_read(request: HttpRequest) -> HttpResponse:
    response = HttpResponse(repr(request.session.get("color")))
    response["Vary"] = "Accept-Encoding"
    return response


urlpatterns.append(path("vary-and-read", vary_and_read))
