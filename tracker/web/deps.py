"""What every route of the web app builds on: the database session, the logged-in user, roles, CSRF and
template rendering.

- ``get_db``: a SQLAlchemy session per request, committed when the route returns, rolled back on error.
- ``current_user(request)``: the logged-in :class:`~db.models_web.User` or None. It is loaded by
  :class:`AuthMiddleware` before the route runs and is *detached*: read its fields; to change it, load it
  again in your ``get_db`` session (``db.get(User, user.id)``).
- ``require_user``: a dependency returning the user; without a session, a 303 to ``/login?next=<path>``
  for pages and a 401 JSON answer under ``/api/``.
- ``require_role(role)``: a dependency factory (admin ⊇ editor ⊇ staff); a lesser role gets 403.
- CSRF is enforced for every POST/PUT/PATCH/DELETE by :class:`AuthMiddleware`, before any route runs
  (except a digest's ``/unsubscribe/<token>`` link, whose signed token is its credential): the form field
  ``csrf_token`` or the header ``X-CSRF-Token`` must equal the session's token. Templates put
  ``{{ csrf_field() }}`` in every form; ``base.html`` sends the header with every htmx request.
- A NUL character (which PostgreSQL cannot store) anywhere in a request is a 400 at the door, in
  :class:`AuthMiddleware`: in the path and query string, in an urlencoded body (raw or ``%00``), and in any
  field name, field value or file name of a multipart form.
- ``render(request, name, **context)``: a template from ``tracker/web/templates/`` (autoescaped), with
  ``request``, ``user``, ``csrf_token``, ``csrf_field()`` and the flash messages in its context.
- ``redirect(url, message=None, category="info")``: a 303, with an optional flash message for the next page.
"""

from __future__ import annotations

import base64
import contextlib
import hmac
import json
import logging
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import parse_qs, quote

from fastapi import Depends, HTTPException, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup, escape
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.requests import Request as StarletteRequest
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from db.models_web import ROLE_RANK, User
from db.types import utcnow
from tracker.safe_output import MAX_ID, template_finalize
from tracker.web.auth import Auth, load_session, new_token

SESSION_COOKIE = "tracker_session"
FLASH_COOKIE = "tracker_flash"
# The login form's CSRF token, before there is a session (double-submit: the cookie and the form field
# must be equal); no database row is written for an anonymous visitor.
LOGIN_CSRF_COOKIE = "tracker_login_csrf"
LOGIN_PATH = "/login"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
UNSUBSCRIBE_PREFIX = "/unsubscribe/"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
MAX_FORM_BYTES = 1_000_000
_DB_SESSIONS = "tracker_db_sessions"
CSRF_REFUSED = (
    "Error: the form's CSRF token is missing or does not match your session; reload the page and try again."
)
TEMPLATES = Path(__file__).with_name("templates")

log = logging.getLogger(__name__)

templates = Environment(
    loader=FileSystemLoader(str(TEMPLATES)),
    autoescape=select_autoescape(["html", "htm", "xml"], default_for_string=True, default=True),
    trim_blocks=True,
    lstrip_blocks=True,
    finalize=template_finalize,  # scraped text never reverses a line (tracker/safe_output.py)
)


class LoginRequired(Exception):
    """Raised by ``require_user`` without a session; create_app turns it into a redirect or a 401."""


# -- database -----------------------------------------------------------------------------------------


def get_db(request: Request) -> Iterator[Session]:
    """One session per request: committed before the response goes out, rolled back when the route raises.

    FastAPI ends a ``yield`` dependency *after* the response is sent (its default scope), which would let a
    browser's next request run before this one's commit. So :class:`AuthMiddleware` commits the request's
    sessions when the response starts (a failed commit becomes a 500), whichever way this dependency is
    declared; the code after ``yield`` then only rolls back on an error and closes.
    """
    factory: sessionmaker[Session] = request.app.state.sessionmaker
    session = factory()
    request.scope.setdefault("state", {}).setdefault(_DB_SESSIONS, []).append(session)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def _commit_all(sessions: list[Session]) -> None:
    try:
        for session in sessions:
            session.commit()
    except BaseException:
        for session in sessions:
            session.rollback()
        raise


# -- users and roles ----------------------------------------------------------------------------------


def current_auth(request: Request) -> Auth | None:
    found: Auth | None = request.scope.get("state", {}).get("auth")
    return found


def current_user(request: Request) -> User | None:
    auth = current_auth(request)
    return auth.user if auth else None


def require_user(request: Request) -> User:
    user = current_user(request)
    if user is None:
        raise LoginRequired()
    return user


def require_role(role: str) -> Callable[..., User]:
    if role not in ROLE_RANK:
        raise ValueError(f"unknown role {role!r}")

    def dependency(user: Annotated[User, Depends(require_user)]) -> User:
        if not user.has_role(role):
            raise HTTPException(status_code=403, detail=f"This needs the {role} role.")
        return user

    return dependency


def login_redirect(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/login?next={quote(target, safe='/')}", status_code=303)


def safe_next(target: str | None) -> str:
    """A local path to go to after login (never another site)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


#: A row id in a path (``/bills/{bill_id}``): a number a database column can hold, else a 400.
RowId = Annotated[int, PathParam(ge=0, le=MAX_ID)]

# Shorthands for route signatures: ``def page(db: DB, user: CurrentUser)``.
DB = Annotated[Session, Depends(get_db)]
CurrentUser = Annotated[User, Depends(require_user)]
Editor = Annotated[User, Depends(require_role("editor"))]
Admin = Annotated[User, Depends(require_role("admin"))]


# -- CSRF and sessions --------------------------------------------------------------------------------


def csrf_token(request: Request) -> str:
    auth = current_auth(request)
    if auth:
        return auth.csrf_token
    token: str = request.scope.get("state", {}).get("login_csrf", "")
    return token


def login_csrf_token(request: Request) -> tuple[str, bool]:
    """The anonymous login form's CSRF token: the browser's cookie if it has a sound one, else a new one
    (``True``: set the cookie). Rendered forms pick it up through :func:`csrf_token`."""
    token = request.cookies.get(LOGIN_CSRF_COOKIE) or ""
    fresh = not (20 <= len(token) <= 100 and _TOKEN.fullmatch(token))
    if fresh:
        token = new_token()
    request.scope.setdefault("state", {})["login_csrf"] = token
    return token, fresh


def set_login_csrf_cookie(request: Request, response: Any, token: str) -> None:
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        max_age=2 * 3600,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path=LOGIN_PATH,
    )


_TOKEN = re.compile(r"[A-Za-z0-9_-]+")
_NUL_REFUSED = "Error: the request contains a NUL character, which no field may hold."


def _has_nul(data: bytes) -> bool:
    """A NUL byte, raw or percent-encoded (``%00``), in a path, query string or urlencoded body."""
    return b"\x00" in data or b"%00" in data


def is_api(path: str) -> bool:
    return path == "/api" or path.startswith("/api/")


class AuthMiddleware:
    """Loads the session named by the cookie (``scope["state"]["auth"]``) and refuses any unsafe request
    whose CSRF token does not match the session's, before a route sees it."""

    def __init__(self, app: ASGIApp, factory: sessionmaker[Session]) -> None:
        self.app = app
        self.factory = factory

    def _load(self, token: str | None) -> Auth | None:
        with self.factory() as session, session.begin():
            return load_session(session, token, utcnow())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = StarletteRequest(scope)
        raw_path = scope.get("raw_path") or scope["path"].encode("utf-8", "surrogateescape")
        if "\x00" in scope["path"] or _has_nul(raw_path) or _has_nul(scope.get("query_string", b"")):
            await _refuse_nul(scope, receive, send)  # PostgreSQL cannot store it: refused at the door
            return
        token = request.cookies.get(SESSION_COOKIE)
        auth = await run_in_threadpool(self._load, token) if token else None
        state = scope.setdefault("state", {})
        state["auth"] = auth
        state[_DB_SESSIONS] = []
        send = _committing(state[_DB_SESSIONS], scope, send)
        if scope["method"] not in UNSAFE_METHODS:
            await self._run(scope, receive, send)
            return

        headers = Headers(scope=scope)
        body = b""
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > MAX_FORM_BYTES:
                await PlainTextResponse("Error: request too large.", status_code=413)(scope, receive, send)
                return
        content_type = headers.get("content-type", "")
        if content_type.startswith("application/x-www-form-urlencoded") and _has_nul(body):
            await _refuse_nul(scope, receive, send)
            return
        multipart = content_type.startswith("multipart/form-data")
        fields = await _multipart_fields(scope, body) if multipart else None
        if fields is not None and any("\x00" in name or "\x00" in value for name, value, _ in fields):
            await _refuse_nul(scope, receive, send)  # a multipart form is checked field by field
            return
        supplied = headers.get(CSRF_HEADER)
        if supplied is None:
            supplied = _form_csrf(headers, body, fields)
        expected = auth.csrf_token if auth is not None else None
        if auth is None and scope["path"] == LOGIN_PATH:
            expected = request.cookies.get(LOGIN_CSRF_COOKIE)  # the login form: double-submit cookie
        # A digest's one-click unsubscribe link (RFC 8058: the mail client POSTs without any form): the
        # signed token in its path is the credential, checked by the route.
        exempt = scope["path"].startswith(UNSUBSCRIBE_PREFIX)
        if not exempt and (
            not expected or not supplied or not hmac.compare_digest(supplied.encode(), expected.encode())
        ):
            response = PlainTextResponse(CSRF_REFUSED, status_code=403)
            await response(scope, receive, send)
            return

        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self._run(scope, replay, send)

    async def _run(self, scope: Scope, receive: Receive, send: Send) -> None:
        with contextlib.suppress(_ResponseSent):
            await self.app(scope, receive, send)


def _committing(sessions: list[Session], scope: Scope, send: Send) -> Send:
    """``send`` that first commits the request's database sessions when the response starts."""

    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start" and sessions:
            pending = list(sessions)
            sessions.clear()
            try:
                await run_in_threadpool(_commit_all, pending)
            except Exception:
                log.exception("commit failed: %s %s", scope.get("method"), scope.get("path"))
                error = PlainTextResponse("Error: the change could not be saved; try again.", status_code=500)
                await error(scope, _no_body, send)
                raise _ResponseSent() from None
        await send(message)

    return wrapped


async def _refuse_nul(scope: Scope, receive: Receive, send: Send) -> None:
    if is_api(scope["path"]):
        response: Any = JSONResponse({"error": _NUL_REFUSED.removeprefix("Error: ")}, status_code=400)
    else:
        response = PlainTextResponse(_NUL_REFUSED, status_code=400)
    await response(scope, receive, send)


async def _no_body() -> Message:
    return {"type": "http.disconnect"}


class _ResponseSent(Exception):
    """The failed commit's 500 has been sent: stop the response the route made."""


async def _multipart_fields(scope: Scope, body: bytes) -> list[tuple[str, str, bool]] | None:
    """The text of a multipart form: (name, value, False) of every field and (name, file name, True) of
    every file part (a file's content is not text and is not read here); None when the body is not a
    readable form."""
    done = False

    async def once() -> Message:
        nonlocal done
        if done:
            return {"type": "http.disconnect"}
        done = True
        return {"type": "http.request", "body": body, "more_body": False}

    try:
        form = await StarletteRequest(scope, once).form(max_files=100, max_fields=1000)
    except Exception:  # a malformed body: no fields (and no CSRF token)
        return None
    try:
        return [
            (name, value, False) if isinstance(value, str) else (name, value.filename or "", True)
            for name, value in form.multi_items()
        ]
    finally:
        await form.close()


def _form_csrf(headers: Headers, body: bytes, fields: list[tuple[str, str, bool]] | None) -> str | None:
    """The form's CSRF field: from the urlencoded ``body``, or from the multipart ``fields``."""
    content_type = headers.get("content-type", "")
    if content_type.startswith("application/x-www-form-urlencoded"):
        values = parse_qs(body.decode("latin-1"), keep_blank_values=True).get(CSRF_FIELD)
        return values[0] if values else None
    if content_type.startswith("multipart/form-data") and fields is not None:
        values = [value for name, value, is_file in fields if name == CSRF_FIELD and not is_file]
        return values[-1] if values else None
    return None


# -- rendering ----------------------------------------------------------------------------------------


def _read_flash(request: Request) -> list[dict[str, str]]:
    raw = request.cookies.get(FLASH_COOKIE)
    if not raw:
        return []
    try:
        items = json.loads(base64.urlsafe_b64decode(raw.encode()))
        return [{"message": str(i["message"]), "category": str(i["category"])} for i in items][:5]
    except (ValueError, TypeError, KeyError):
        return []


def render(request: Request, template_name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    token = csrf_token(request)

    def csrf_field() -> Markup:
        return Markup('<input type="hidden" name="csrf_token" value="{}">').format(escape(token))

    flashes = _read_flash(request)
    html = templates.get_template(template_name).render(
        request=request,
        user=current_user(request),
        csrf_token=token,
        csrf_field=csrf_field,
        flashes=flashes,
        **context,
    )
    response = HTMLResponse(html, status_code=status_code)
    if flashes:
        response.delete_cookie(FLASH_COOKIE, path="/")
    return response


def redirect(url: str, message: str | None = None, category: str = "info") -> RedirectResponse:
    response = RedirectResponse(url, status_code=303)
    if message:
        flash(response, message, category)
    return response


def flash(response: Any, message: str, category: str = "info") -> None:
    """A message shown (escaped) on the next page rendered for this browser."""
    data = json.dumps([{"message": message, "category": category}]).encode()
    value = base64.urlsafe_b64encode(data).decode()
    response.set_cookie(FLASH_COOKIE, value, httponly=True, samesite="lax", path="/")


def set_session_cookie(request: Request, response: Any, token: str, max_age: int) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=max_age,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/",
    )
