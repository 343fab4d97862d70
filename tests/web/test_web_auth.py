"""Login, logout, sessions, CSRF, the login rate limit and role checks of the web app."""

from __future__ import annotations

from tests.web.helpers import PASSWORD, form_csrf


def test_login_and_logout(client, make_user):
    make_user("ana", "staff")
    assert client.get("/subscriptions").status_code in (303, 404)
    page = client.get("/login")
    assert page.status_code == 200
    r = client.post(
        "/login", data={"username": "ana", "password": PASSWORD, "csrf_token": form_csrf(page.text)}
    )
    assert r.status_code == 303


def test_post_without_csrf_is_refused(client, login):
    login(client, "editor")
    r = client.post("/logout")
    assert r.status_code == 403
    assert "CSRF" in r.text
    r = client.post("/logout", data={"csrf_token": client.csrf})
    assert r.status_code == 303
