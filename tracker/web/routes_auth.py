"""Login, logout and the health check (the only pages that need no session)."""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import text

from db.types import utcnow
from tracker.web import auth
from tracker.web.deps import (
    DB,
    LOGIN_CSRF_COOKIE,
    LOGIN_PATH,
    SESSION_COOKIE,
    current_auth,
    login_csrf_token,
    redirect,
    render,
    safe_next,
    set_login_csrf_cookie,
    set_session_cookie,
)

router = APIRouter()
log = logging.getLogger(__name__)


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


@router.get("/login")
def login_form(request: Request, next: str = "/") -> Response:
    """The login form. An anonymous visit writes nothing to the database: the form's CSRF token is a
    double-submit cookie (deps.LOGIN_CSRF_COOKIE), and a session is created only by a successful login."""
    session_auth = current_auth(request)
    if session_auth and session_auth.user:
        return redirect(safe_next(next))
    token, fresh = login_csrf_token(request) if session_auth is None else ("", False)
    response = render(request, "login.html", next=safe_next(next), error=None)
    if fresh:
        set_login_csrf_cookie(request, response, token)
    return response


@router.post("/login")
def login_submit(
    request: Request,
    db: DB,
    username: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
) -> Response:
    now = utcnow()
    if current_auth(request) is None:
        login_csrf_token(request)  # the form shown again carries the same token
    try:
        user = auth.login(db, username, password, _client(request), now)
    except auth.LoginRefused as refused:
        response: Response = render(
            request,
            "login.html",
            status_code=refused.status,
            next=safe_next(next),
            error=refused.message,
            username=username[:64],
        )
        if refused.retry_after:
            response.headers["Retry-After"] = str(refused.retry_after)
        return response
    previous = current_auth(request)
    if previous is not None:
        auth.end_session(db, previous.session_id)  # a new session on login: no fixation
    auth.purge_expired(db, now)
    token, _row = auth.start_session(db, user, now)
    response = redirect(safe_next(next), f"Logged in as {user.username}.")
    set_session_cookie(request, response, token, int(auth.SESSION_LIFETIME.total_seconds()))
    response.delete_cookie(LOGIN_CSRF_COOKIE, path=LOGIN_PATH)
    return response


@router.post("/logout")
def logout(request: Request, db: DB) -> Response:
    session_auth = current_auth(request)
    if session_auth is not None:
        auth.end_session(db, session_auth.session_id)
    response = redirect("/login", "Logged out.")
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/healthz")
def healthz(request: Request) -> Response:
    """No session needed: 200 when the database answers, else 503 (for load balancers and monitors)."""
    try:
        with request.app.state.engine.connect() as conn:
            # Answers, and is this tracker's database (a wrong or emptied database is not healthy).
            conn.execute(text("SELECT version_num FROM alembic_version"))
    except Exception as exc:  # any database failure is "unhealthy"; the details go to the log, not to anyone
        reason = str(getattr(exc, "orig", exc)).strip().splitlines()
        log.warning("health check: the database does not answer: %s", reason[0] if reason else repr(exc))
        return JSONResponse({"status": "error", "database": "unavailable"}, status_code=503)
    return JSONResponse({"status": "ok", "database": "ok"})
