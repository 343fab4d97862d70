"""A NUL in any field of a multipart form is a 400 at the door (tracker/web/deps.py's AuthMiddleware), as in
an urlencoded form, on SQLite and PostgreSQL: real routes (the login form, /track, a subscription), nothing
stored, no session; the same forms without the NUL go through."""

from __future__ import annotations

from sqlalchemy import func, select

from db.engine import session_scope
from db.models_digest import Subscription
from db.models_web import LoginSession
from tests.web.helpers import form_csrf

NUL_REFUSED = "the request contains a NUL character"
FILE = {"attachment": ("notes.txt", b"binary \x00 content is not a field", "application/octet-stream")}


def _raw_multipart(client, path: str, parts: list[tuple[bytes, bytes]]):
    """A multipart POST written byte for byte (an HTTP client would percent-encode a NUL in a field's name
    or a file name; a hostile one need not): ``parts`` are (Content-Disposition parameters, value)."""
    body = b"".join(
        b"--b0undary\r\nContent-Disposition: form-data; " + params + b"\r\n\r\n" + value + b"\r\n"
        for params, value in parts
    )
    return client.post(
        path,
        content=body + b"--b0undary--\r\n",
        headers={"Content-Type": "multipart/form-data; boundary=b0undary"},
    )


def _count(engine, model) -> int:
    with session_scope(engine) as s:
        return s.scalar(select(func.count()).select_from(model))


def test_a_nul_in_a_multipart_login_field_is_a_400_without_a_session(client, make_user, engine):
    make_user("ana", "staff")
    for data in (
        {"username": "ana\x00", "password": "wrong"},
        {"username": "ana", "password": "pass\x00word"},
    ):
        csrf = form_csrf(client.get("/login").text)
        r = client.post("/login", files=FILE, data={**data, "csrf_token": csrf})
        assert r.status_code == 400 and NUL_REFUSED in r.text, (data, r.status_code, r.text[:200])
    csrf = form_csrf(client.get("/login").text).encode()
    fields = [(b'name="csrf_token"', csrf), (b'name="username"', b"ana"), (b'name="password"', b"wrong")]
    r = _raw_multipart(client, "/login", [*fields, (b'name="extra\x00name"', b"x")])  # a field's name
    assert r.status_code == 400 and NUL_REFUSED in r.text, r.text[:200]
    r = _raw_multipart(client, "/login", fields)  # the same form without it: a wrong password
    assert r.status_code == 401, r.text[:200]
    assert _count(engine, LoginSession) == 0
    # a NUL in an uploaded file's content is not a field: the form goes on to the login (a wrong password)
    csrf = form_csrf(client.get("/login").text)
    r = client.post("/login", files=FILE, data={"username": "ana", "password": "wrong", "csrf_token": csrf})
    assert r.status_code == 401, r.text[:200]


def test_a_nul_in_a_multipart_post_to_track_or_subscriptions_is_a_400(client, login, engine):
    login(client, "editor", email="ed@example.org")
    before = _count(engine, Subscription)
    r = client.post(
        "/track", files=FILE, data={"csrf_token": client.csrf, "url": "https://riverton.legistar.com/\x00"}
    )
    assert r.status_code == 400 and NUL_REFUSED in r.text, r.text[:200]
    r = client.post(
        "/subscriptions",
        files=FILE,
        data={"csrf_token": client.csrf, "name": "Mine\x00", "email": "ed@example.org"},
    )
    assert r.status_code == 400 and NUL_REFUSED in r.text, r.text[:200]
    # a file name is text too
    r = _raw_multipart(
        client,
        "/subscriptions",
        [(b'name="csrf_token"', client.csrf.encode()), (b'name="f"; filename="no\x00tes.txt"', b"x")],
    )
    assert r.status_code == 400 and NUL_REFUSED in r.text, r.text[:200]
    assert _count(engine, Subscription) == before
    # the same multipart form without a NUL reaches the route (which judges the URL itself)
    r = client.post("/track", files=FILE, data={"csrf_token": client.csrf, "url": "ftp://x.example/"})
    assert r.status_code == 400 and NUL_REFUSED not in r.text and "ftp" in r.text, r.text[:300]
