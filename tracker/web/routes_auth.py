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
    SESSION_COOKIE,
    current_auth,
    redirect,
    render,
    safe_next,
    set_session_cookie,
)

router = APIRouter()
log = logging.getLogger(__name__)


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


@router.get("/login")
def login_form(request: Request, db: DB, next: str = "/") -> Response:
    session_auth = current_auth(request)
    if session_auth and session_auth.user:
        return redirect(safe_next(next))
    token = None
    if session_auth is None:
        # A pre-login session, so that the form has a CSRF token to check against (expired ones go first:
        # anonymous visits would otherwise pile up between logins).
        auth.purge_expired(db, utcnow())
        token, row = auth.start_session(db, None, utcnow())
        request.scope["state"]["auth"] = auth.Auth(row.id, row.csrf_token, None)
    response = render(request, "login.html", next=safe_next(next), error=None)
    if token:
        set_session_cookie(request, response, token, int(auth.PRE_SESSION_LIFETIME.total_seconds()))
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
    try:
        user = auth.login(db, username, password, _client(request), now)
    except auth.LoginRefused as refused:
        return render(
            request,
            "login.html",
            status_code=refused.status,
            next=safe_next(next),
            error=refused.message,
            username=username,
        )
    previous = current_auth(request)
    if previous is not None:
        auth.end_session(db, previous.session_id)  # a new session on login: no fixation
    auth.purge_expired(db, now)
    token, _row = auth.start_session(db, user, now)
    response = redirect(safe_next(next), f"Logged in as {user.username}.")
    set_session_cookie(request, response, token, int(auth.SESSION_LIFETIME.total_seconds()))
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
