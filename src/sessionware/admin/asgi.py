"""``AsyncAdminApp``: the sessions admin as an ASGI application, over an
``AsyncSessionManager`` (Starlette underneath).

Mount it under a prefix (``Mount("/admin", app=AsyncAdminApp(...))`` in Starlette
or FastAPI); ``authorize`` receives a ``starlette.requests.Request``. Served on its
own, it answers the lifespan protocol (it has nothing to start or stop).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Router
from starlette.types import Receive, Scope, Send

from ._async.handler import AsyncAdminHandler
from .messages import MAX_BODY, AdminRequest, AdminResponse

__all__ = ["AsyncAdminApp"]

#: Answers lifespan events as an app with no start-up or shutdown work does.
_LIFESPAN = Router()


class AsyncAdminApp(AsyncAdminHandler):
    """``AsyncAdminApp(manager, authorize=is_admin)``: the admin as an ASGI app.
    It takes the arguments of ``AsyncAdminHandler`` (``authorize`` is required,
    ``store`` and the ``AdminSettings`` options are not)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "lifespan":
            await _LIFESPAN.lifespan(scope, receive, send)
            return
        if kind != "http":  # websockets: nothing to do here
            return
        request = Request(scope, receive)
        body = await _body(request) if request.method == "POST" else b""
        if body is None:
            answer = AdminResponse.json({"error": "Request body too large."}, 413)
        else:
            answer = await self.handle(_admin_request(request, body))
        headers = dict(answer.all_headers())  # one of each name
        response = Response(answer.body, status_code=answer.status, headers=headers)
        await response(scope, receive, send)


async def _body(request: Request) -> bytes | None:
    """The body, or None past ``MAX_BODY`` (read no further than that)."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _admin_request(request: Request, body: bytes) -> AdminRequest:
    scope = request.scope
    root = scope.get("root_path", "")
    path: str = scope["path"]
    # Starlette's Mount keeps the whole path and adds the prefix to root_path.
    route = path[len(root) :] if root and path.startswith(root) else path
    return AdminRequest(
        method=request.method,
        path=route,
        base=root + "/",
        native=request,
        query=dict(request.query_params),
        headers=dict(request.headers),
        body=body,
        secure=request.url.scheme == "https",
    )
