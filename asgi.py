"""gridmap as served: the Streamlit app (``app.py``) behind security headers, with errors reported
by id.

``gridmap serve`` runs this module (``streamlit run asgi.py``: Streamlit's ASGI mode, served by
uvicorn). It adds to what ``streamlit run app.py`` would serve:

* :class:`SecurityHeaders` — a Content-Security-Policy (scripts, styles, frames and connections
  from this server only; map tiles only from the configured base-map hosts), ``frame-ancestors
  'self'`` and ``X-Frame-Options`` against click-jacking, ``nosniff`` and no
  referrer.
* :func:`report_script_error` — an exception in a page shows a short sentence with an error id;
  the traceback goes only to the server log under that id (``.streamlit/config.toml`` also sets
  ``client.showErrorDetails = "none"``, so nothing reaches a visitor even without this module).
* :func:`session_cookie` / :func:`end_session_cookie` — ``POST /_gridmap/session`` exchanges a
  login's one-time code (:meth:`gridmap.auth.SessionStore.hand_off`) for an HttpOnly,
  SameSite=Strict session cookie, so a reload or a new tab of the same browser stays logged in
  until logout, expiry or any change to the account; ``POST /_gridmap/logout`` clears it.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any

import streamlit as st
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gridmap import auth, settings

APP_PATH = Path(__file__).resolve().parent / "app.py"
LOG = logging.getLogger("gridmap.server")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


def content_security_policy() -> str:
    """The Content-Security-Policy of every response.

    Streamlit's front end needs inline styles and, for its components (the folium maps are
    components rendered from inline HTML), inline scripts; everything else comes from this
    server. Images may also come from the base-map tile hosts
    (:data:`gridmap.settings.BASEMAP_TILE_HOSTS`).
    """
    tiles = " ".join(settings.BASEMAP_TILE_HOSTS)
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self' 'unsafe-inline' 'unsafe-eval'",
            "style-src 'self' 'unsafe-inline'",
            f"img-src 'self' data: blob: {tiles}".rstrip(),
            "font-src 'self' data:",
            "connect-src 'self'",
            "frame-src 'self' blob: data:",
            "worker-src 'self' blob:",
            "media-src 'self' blob: data:",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            "frame-ancestors 'self'",
        ]
    )


def security_headers() -> list[tuple[bytes, bytes]]:
    """The headers :class:`SecurityHeaders` adds to every HTTP response."""
    return [
        (b"content-security-policy", content_security_policy().encode()),
        (b"x-frame-options", b"SAMEORIGIN"),
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"no-referrer"),
        (b"permissions-policy", b"camera=(), microphone=(), geolocation=(self)"),
    ]


class SecurityHeaders:
    """ASGI middleware: the :func:`security_headers` on every HTTP response.

    Headers the app set itself are replaced, not doubled; websocket traffic passes unchanged.
    """

    def __init__(self, app: Callable[[Scope, Receive, Send], Awaitable[None]]) -> None:
        self.app = app
        self.headers = security_headers()
        self.names = {name for name, _ in self.headers}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = message.get("headers", [])
                kept = [(k, v) for k, v in headers if k.lower() not in self.names]
                message["headers"] = kept + self.headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


def new_error_id() -> str:
    """A short id that names one error in the server log (e.g. ``E-3F9A2C71``)."""
    return "E-" + secrets.token_hex(4).upper()


def report_script_error(exc: BaseException) -> bool:
    """Streamlit's ``on_script_error``: log the traceback under a new id, show a sentence.

    Returns ``True`` so that Streamlit shows nothing of its own (no message, no traceback).
    """
    error_id = new_error_id()
    LOG.error("error %s in a page", error_id, exc_info=(type(exc), exc, exc.__traceback__))
    english = st.session_state.get("lang") == "English"
    st.error(
        f"Something went wrong; nothing was saved by the failed step. Error id {error_id}: "
        "give it to your administrator, who finds the details in the server log."
        if english
        else f"出错了,失败的这一步没有保存任何内容。错误编号 {error_id}:请告知管理员,"
        "管理员可在服务器日志中查到详情。"
    )
    return True


def _same_origin(request: Request) -> bool:
    """Whether a browser request comes from a page of this server (its Origin, when sent,
    names this host)."""
    origin = request.headers.get("origin")
    if origin is None:
        return True  # not sent by every browser for same-origin requests
    host = request.headers.get("host", "")
    return origin.split("://", 1)[-1] == host


def _secure(request: Request) -> bool:
    forwarded = request.headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
    return request.url.scheme == "https" or forwarded == "https"


async def session_cookie(request: Request) -> Response:
    """``POST /_gridmap/session`` with ``{"code": …}``: the session cookie for a live login's
    hand-off code (204), else 403 with nothing set."""
    try:
        code = (await request.json()).get("code")
    except (ValueError, AttributeError):
        code = None
    token = auth.SESSIONS.redeem(code) if _same_origin(request) else None
    if token is None:
        return Response(status_code=403)
    response = Response(status_code=204)
    response.set_cookie(
        settings.SESSION_COOKIE,
        token,
        max_age=int(settings.SESSION_MAX_HOURS * 3600),
        path="/",
        httponly=True,
        samesite="strict",
        secure=_secure(request),
    )
    return response


async def end_session_cookie(request: Request) -> Response:
    """``POST /_gridmap/logout``: the session cookie cleared (its session has ended already)."""
    response = Response(status_code=204)
    if _same_origin(request):
        response.delete_cookie(settings.SESSION_COOKIE, path="/", httponly=True, samesite="strict")
    return response


def _server_logging() -> None:
    """Send the ``gridmap`` loggers' records to the server's standard error (its log)."""
    logger = logging.getLogger("gridmap")
    if not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)


_server_logging()

#: The served app (``streamlit run asgi.py`` finds it by this name).
app = st.App(
    APP_PATH,
    routes=[
        Route("/_gridmap/session", session_cookie, methods=["POST"]),
        Route("/_gridmap/logout", end_session_cookie, methods=["POST"]),
    ],
    middleware=[Middleware(SecurityHeaders)],
    on_script_error=report_script_error,
)
