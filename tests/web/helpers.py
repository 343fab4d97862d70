"""Helpers for the web tests (plain functions; tests/web/conftest.py wraps them in fixtures)."""

from __future__ import annotations

import re
from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from db.engine import session_scope
from db.models_web import LoginSession, User
from tests.clock import utc_now
from tracker.web import auth
from tracker.web.deps import SESSION_COOKIE

PASSWORD = "correct horse battery"


def real_password_hashing(test: Callable[..., None]) -> Callable[..., None]:
    """Marks a test of logging in or of hashing: it hashes and checks passwords at the production argon2
    parameters, not the web tests' cheap ones (tests/web/conftest.py; a whole module: set
    ``REAL_PASSWORD_HASHING = True``)."""
    test.real_password_hashing = True  # type: ignore[attr-defined]  # read by the password_hashing fixture
    return test


def create_user(
    engine: Engine, username: str, role: str, *, password: str = PASSWORD, email: str | None = None
) -> User:
    """A user written through the same code as `tracker users add` (detached; read its fields)."""
    with session_scope(engine) as session:
        return auth.add_user(session, username, role, password, utc_now(seconds=False), email=email)


def form_csrf(html: str) -> str:
    """The CSRF token of the first form of a page."""
    match = re.search(r'name="csrf_token" value="([^"]*)"', html)
    assert match, "no csrf_token field on the page"
    return match.group(1)


def log_in(client: TestClient, username: str, password: str = PASSWORD, next: str = "/") -> None:
    """Logs in through the real form (GET /login for the pre-login CSRF token, then POST)."""
    page = client.get("/login")
    assert page.status_code == 200, page.text
    response = client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": form_csrf(page.text), "next": next},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text


def csrf_token(client: TestClient, engine: Engine) -> str:
    """The CSRF token of the client's current session (read from the database)."""
    cookie = client.cookies.get(SESSION_COOKIE)
    assert cookie, "the client has no session cookie"
    with session_scope(engine) as session:
        token = session.scalar(
            select(LoginSession.csrf_token).where(LoginSession.token_hash == auth.hash_token(cookie))
        )
    assert token, "the client's session is not in the database"
    return token
