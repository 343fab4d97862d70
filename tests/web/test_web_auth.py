"""Login, logout, sessions, CSRF, the login rate limit and role checks of the web app (real app, real
database on both engines, HTTP through FastAPI's test client). The tests of logging in with a right or
wrong password hash at the production argon2 parameters (``@real_password_hashing``); the others, about
sessions, CSRF, throttling and roles, at the web tests' cheap ones (tests/web/conftest.py)."""

from __future__ import annotations

import argon2
from fastapi import Depends
from sqlalchemy import func, select, text

from db.engine import session_scope
from db.models_web import LoginAttempt, LoginSession
from tests.clock import utc_now
from tests.web.helpers import PASSWORD, form_csrf, log_in, real_password_hashing
from tracker.web import auth
from tracker.web.deps import LOGIN_CSRF_COOKIE, SESSION_COOKIE, require_role

PAGES = ["/subscriptions", "/admin", "/review", "/search?q=x", "/bills/1", "/"]


def _post_login(client, username, password, csrf=None, next="/"):
    if csrf is None:
        csrf = form_csrf(client.get("/login").text)
    return client.post(
        "/login", data={"username": username, "password": password, "csrf_token": csrf, "next": next}
    )


def test_every_page_needs_a_session(client):
    for page in PAGES:
        r = client.get(page)
        assert r.status_code == 303, page
        assert r.headers["location"].startswith("/login?next=/"), page
    assert client.get("/subscriptions").headers["location"] == "/login?next=/subscriptions"
    for api in ("/api/bills", "/api/bills/1", "/api/changes", "/api/matches"):
        r = client.get(api)
        assert r.status_code == 401, api
        assert r.json() == {"error": "login required"}
    assert client.get("/login").status_code == 200
    assert client.get("/healthz").status_code == 200


@real_password_hashing
def test_login_sets_a_new_httponly_samesite_session_and_goes_to_next(client, make_user, engine):
    user = make_user("ana", "staff")
    assert argon2.extract_parameters(user.password_hash) == auth.PASSWORD_PARAMETERS  # @real_password_hashing
    page = client.get("/login?next=/subscriptions")
    # no session before the login: the form's CSRF token is a double-submit cookie, nothing is stored
    assert client.cookies.get(SESSION_COOKIE) is None and client.cookies.get(LOGIN_CSRF_COOKIE)
    assert 'name="next" value="/subscriptions"' in page.text
    with session_scope(engine) as s:
        assert s.scalar(select(func.count()).select_from(LoginSession)) == 0
    r = _post_login(client, "ana", PASSWORD, form_csrf(page.text), next="/subscriptions")
    assert r.status_code == 303 and r.headers["location"] == "/subscriptions"
    set_cookie = next(v for v in r.headers.get_list("set-cookie") if v.startswith(SESSION_COOKIE + "="))
    assert "HttpOnly" in set_cookie and "SameSite=lax" in set_cookie and "Path=/" in set_cookie
    cookie = client.cookies.get(SESSION_COOKIE)
    assert cookie
    with session_scope(engine) as s:
        hashes = set(s.scalars(select(LoginSession.token_hash)))
    assert auth.hash_token(cookie) in hashes and cookie not in hashes  # only the hash is stored
    assert len(hashes) == 1  # the one session, made by the login
    assert client.get("/subscriptions").status_code == 200


def test_next_never_leads_to_another_site(client, make_user):
    make_user("ana", "staff")
    for target in ("//evil.example/", "https://evil.example/", "/\\evil.example"):
        client.cookies.clear()
        r = _post_login(client, "ana", PASSWORD, next=target)
        assert r.status_code == 303 and r.headers["location"] == "/", target


@real_password_hashing
def test_wrong_password_and_unknown_user_are_refused_alike(client, make_user):
    make_user("ana", "staff")
    for username, password in (("ana", "wrong password"), ("nobody", PASSWORD), ("ana", "")):
        r = _post_login(client, username, password)
        assert r.status_code == 401
        assert "Wrong username or password." in r.text
        assert client.get("/subscriptions").status_code == 303


def test_login_is_rate_limited_per_username(client, make_user, engine):
    make_user("ana", "staff")
    for _ in range(auth.LOGIN_MAX_PER_USERNAME):
        assert _post_login(client, "ana", "guess").status_code == 401
    r = _post_login(client, "ana", PASSWORD)  # even the right password, until the window has passed
    assert r.status_code == 429
    assert "Too many failed logins" in r.text
    assert client.get("/subscriptions").status_code == 303
    with session_scope(engine) as s:  # the window passes
        s.execute(LoginAttempt.__table__.update().values(at=utc_now(seconds=False) - auth.LOGIN_WINDOW))
    assert _post_login(client, "ana", PASSWORD).status_code == 303


def test_login_is_rate_limited_per_client(client, make_user):
    make_user("ana", "staff")
    for i in range(auth.LOGIN_MAX_PER_CLIENT):
        assert _post_login(client, f"user{i}", "guess").status_code == 401
    assert _post_login(client, "ana", PASSWORD).status_code == 429


def test_logout_ends_the_session_on_the_server(client, login, engine):
    login(client, "staff")
    cookie = client.cookies.get(SESSION_COOKIE)
    r = client.post("/logout", data={"csrf_token": client.csrf})
    assert r.status_code == 303 and r.headers["location"] == "/login"
    with session_scope(engine) as s:
        gone = select(LoginSession).where(LoginSession.token_hash == auth.hash_token(cookie))
        assert s.scalar(gone) is None
    client.cookies.set(SESSION_COOKIE, cookie)  # a copy of the old cookie is worth nothing now
    assert client.get("/subscriptions").status_code == 303


def test_an_expired_session_is_refused(client, login, engine):
    login(client, "staff")
    with session_scope(engine) as s:
        s.execute(LoginSession.__table__.update().values(expires_at=utc_now(seconds=False)))
    assert client.get("/subscriptions").status_code == 303


def test_a_post_without_the_csrf_token_is_refused(client, login, engine):
    login(client, "staff")
    for data in ({}, {"csrf_token": ""}, {"csrf_token": "forged"}):
        r = client.post("/logout", data=data)
        assert r.status_code == 403
        assert r.text.startswith("Error: ") and "CSRF" in r.text and "\n" not in r.text.strip()
    r = client.post("/subscriptions/feed-token", files={"x": ("x.txt", b"x")}, data={"csrf_token": "forged"})
    assert r.status_code == 403
    assert client.get("/subscriptions").status_code == 200  # still logged in
    # the right token, as a form field (urlencoded or multipart) or as htmx's header
    assert client.post("/subscriptions/feed-token", data={"csrf_token": client.csrf}).status_code == 200
    multipart = {"files": {"x": ("x.txt", b"x")}, "data": {"csrf_token": client.csrf}}
    assert client.post("/subscriptions/feed-token", **multipart).status_code == 200
    assert client.post("/subscriptions/feed-token", headers={"X-CSRF-Token": client.csrf}).status_code == 200


def test_the_login_form_needs_its_csrf_token(client, make_user):
    make_user("ana", "staff")
    client.get("/login")
    r = client.post("/login", data={"username": "ana", "password": PASSWORD})
    assert r.status_code == 403
    other = form_csrf(client.get("/login").text)
    client.cookies.clear()  # another browser's token does not match this one's (none) session
    assert _post_login(client, "ana", PASSWORD, csrf=other).status_code == 403


def test_roles_nest_and_a_lesser_role_gets_403(app, client, make_user):
    @app.get("/_editor_only")
    def editor_only(user=Depends(require_role("editor"))):  # noqa: B008
        return {"user": user.username}

    for name, role in (("s", "staff"), ("e", "editor"), ("a", "admin")):
        make_user(name, role)
    expected = {"s": (403, 403), "e": (200, 403), "a": (200, 200)}
    for name, (editor_status, admin_status) in expected.items():
        client.cookies.clear()
        log_in(client, name)
        assert client.get("/_editor_only").status_code == editor_status, name
        assert client.get("/admin").status_code == admin_status, name
    client.cookies.clear()
    log_in(client, "s")
    page = client.get("/admin", headers={"accept": "text/html"})
    assert "This needs the admin role." in page.text and "<script" not in page.text.split("<body")[1]


@real_password_hashing
def test_a_password_change_or_removal_ends_the_users_sessions(client, login, engine):
    user = login(client, "staff")
    with session_scope(engine) as s:
        auth.set_password(s, auth.get_user(s, user.username), "another password", utc_now(seconds=False))
    assert client.get("/subscriptions").status_code == 303
    log_in(client, user.username, "another password")
    with session_scope(engine) as s:
        auth.remove_user(s, auth.get_user(s, user.username))
    assert client.get("/subscriptions").status_code == 303


def test_a_reflected_username_is_escaped(client):
    r = _post_login(client, '"><script>alert(1)</script>', "x")
    assert r.status_code == 401
    assert "<script>alert(1)</script>" not in r.text
    assert "&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in r.text


def test_healthz_checks_the_database(client, engine):
    r = client.get("/healthz")
    assert r.status_code == 200 and r.json() == {"status": "ok", "database": "ok"}
    with engine.begin() as conn:  # the schema is gone (a wrong database, a restore gone wrong)
        conn.execute(text("DROP TABLE alembic_version"))
    r = client.get("/healthz")
    assert r.status_code == 503 and r.json()["status"] == "error"
