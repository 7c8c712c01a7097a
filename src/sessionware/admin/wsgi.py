"""``AdminApp``: the sessions admin as a WSGI application (werkzeug underneath).

Mount it under a prefix of your WSGI app (werkzeug's ``DispatcherMiddleware``, or
your framework's own mounting); ``authorize`` receives a ``werkzeug.Request``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Request, Response

from ._sync.handler import AdminHandler
from .messages import MAX_BODY, AdminRequest, AdminResponse

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

__all__ = ["AdminApp"]


class AdminApp(AdminHandler):
    """``AdminApp(manager, authorize=is_admin)``: the admin as a WSGI app. It
    takes the arguments of ``AdminHandler`` (``authorize`` is required, ``store``
    and the ``AdminSettings`` options are not)."""

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        request = Request(environ)
        request.max_content_length = MAX_BODY
        try:
            answer = self.handle(admin_request(request))
        except HTTPException as exc:  # a body over MAX_BODY
            return exc.get_response()(environ, start_response)
        return wsgi_response(answer)(environ, start_response)


def admin_request(
    request: Request, path: str | None = None, base: str | None = None
) -> AdminRequest:
    """``request`` (werkzeug's, also Flask's) as an ``AdminRequest``; ``path`` and
    ``base`` default to the WSGI ``PATH_INFO`` and ``SCRIPT_NAME``."""
    body = request.get_data(cache=True) if request.method == "POST" else b""
    return AdminRequest(
        method=request.method,
        path=request.environ.get("PATH_INFO", "") if path is None else path,
        base=(request.root_path + "/") if base is None else base,
        native=_native(request),
        query={key: request.args[key] for key in request.args},
        headers={name.lower(): value for name, value in request.headers.items()},
        body=body,
        secure=request.scheme == "https",
    )


def _native(request: Any) -> Any:
    get = getattr(request, "_get_current_object", None)  # Flask's request proxy
    return get() if get is not None else request


def wsgi_response(answer: AdminResponse) -> Response:
    response = Response(answer.body, status=answer.status)
    response.headers.clear()
    for name, value in answer.all_headers():
        response.headers.add(name, value)
    return response
