"""`tracker users add|set|passwd|remove|list` and `tracker serve`, as a user runs them (child processes, real
HTTP), on both engines."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys

import argon2
import httpx
import pytest
from fastapi.testclient import TestClient

from db.engine import session_scope
from tests.clock import wait_for
from tests.conftest import REPO, run_tracker
from tests.web.helpers import csrf_token, form_csrf, log_in
from tracker.web import auth


def users(db_url, *args, password=None):
    env = {"TRACKER_DATABASE_URL": db_url}
    if password is not None:
        env["TRACKER_PASSWORD"] = password
    return run_tracker("users", *args, env=env)


def _one_line_error(result, text):
    assert result.returncode != 0
    assert result.stderr.strip() == f"Error: {text}" or (
        result.stderr.startswith("Error: ") and text in result.stderr and result.stderr.count("\n") == 1
    ), result.stderr
    assert "Traceback" not in result.stderr


def test_users_add_list_passwd_remove(db_url, engine):
    r = users(
        db_url, "add", "ana", "--role", "editor", "--email", "ana@example.org", password="first password"
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "User ana added (editor, ana@example.org)."
    assert "first password" not in r.stdout + r.stderr
    with session_scope(engine) as s:
        user = auth.get_user(s, "ana")
        assert (user.role, user.email) == ("editor", "ana@example.org")
        assert user.password_hash.startswith("$argon2id$") and "first password" not in user.password_hash
        # a `tracker` process hashes at the production parameters, never the test suite's cheap ones
        assert argon2.extract_parameters(user.password_hash) == auth.PASSWORD_PARAMETERS
        assert auth.verify_password(user, "first password")

    assert users(db_url, "add", "bo", "--role", "admin", password="another one").returncode == 0
    listing = users(db_url, "list").stdout.splitlines()
    assert [line.split()[:3] for line in listing] == [
        ["ana", "editor", "ana@example.org"],
        ["bo", "admin", "-"],
    ]

    r = users(db_url, "passwd", "ana", password="second password")
    assert r.returncode == 0 and "Password of ana changed" in r.stdout
    with session_scope(engine) as s:
        user = auth.get_user(s, "ana")
        assert auth.verify_password(user, "second password") and not auth.verify_password(
            user, "first password"
        )

    assert users(db_url, "remove", "ana").stdout.strip() == "User ana removed."
    assert [line.split()[0] for line in users(db_url, "list").stdout.splitlines()] == ["bo"]


def test_users_errors_are_one_line(sqlite_db):  # no engine-specific logic: SQLite only
    db_url, _engine = sqlite_db
    r = users(db_url, "add", "ana", "--role", "boss", password="long enough")
    _one_line_error(r, "Invalid value for '--role': 'boss' is not one of 'admin', 'editor', 'staff'")
    assert r.returncode == 2  # a usage error
    _one_line_error(
        users(db_url, "add", "ana", "--role", "staff", password="short"), "the password is too short"
    )
    _one_line_error(
        users(db_url, "add", "a b", "--role", "staff", password="long enough"), "invalid username"
    )
    _one_line_error(
        users(db_url, "add", "ana", "--role", "staff", "--email", "nope", password="long enough"),
        "not an e-mail address",
    )
    assert users(db_url, "add", "ana", "--role", "staff", password="long enough").returncode == 0
    _one_line_error(users(db_url, "add", "ana", "--role", "staff", password="long enough"), "exists already")
    _one_line_error(users(db_url, "passwd", "nobody", password="long enough"), "no user 'nobody'")
    _one_line_error(users(db_url, "remove", "nobody"), "no user 'nobody'")
    assert users(db_url, "list").stdout.split()[0] == "ana"


def test_users_set_changes_the_address_and_the_role(db_url, engine, app, client):
    """`users set` gives an existing account an address and a new role, without ending its sessions: a
    staff user without an address can then subscribe, a demoted editor loses the review queue at once."""
    assert users(db_url, "add", "noem", "--role", "staff", password="long enough").returncode == 0
    assert users(db_url, "add", "ed", "--role", "editor", password="long enough").returncode == 0
    log_in(client, "noem", "long enough")
    r = client.post("/subscriptions", data={"csrf_token": csrf_token(client, engine)})
    assert r.status_code == 400
    assert "ask an admin to set one (tracker users set noem --email ADDRESS)" in r.text

    r = users(db_url, "set", "noem", "--email", "noem@example.org")
    assert (r.returncode, r.stdout, r.stderr) == (0, "User noem changed (staff, noem@example.org).\n", "")
    r = client.post("/subscriptions", data={"csrf_token": csrf_token(client, engine)})  # same session
    assert r.status_code == 303, r.text
    assert "noem@example.org" in client.get("/subscriptions").text

    with TestClient(app, follow_redirects=False) as editor:
        log_in(editor, "ed", "long enough")
        assert editor.get("/review").status_code == 200
        r = users(db_url, "set", "ed", "--role", "staff")
        assert (r.returncode, r.stdout) == (0, "User ed changed (staff).\n")
        assert editor.get("/review").status_code == 403  # the next request: no longer an editor
        r = users(db_url, "set", "ed", "--role", "editor", "--email", "ed@example.org")
        assert r.stdout == "User ed changed (editor, ed@example.org).\n"
        assert editor.get("/review").status_code == 200
    listing = users(db_url, "list").stdout.splitlines()
    assert [line.split()[:3] for line in listing] == [
        ["ed", "editor", "ed@example.org"],
        ["noem", "staff", "noem@example.org"],
    ]


def test_users_set_errors_are_one_line(sqlite_db):  # no engine-specific logic: SQLite only
    db_url, engine = sqlite_db
    assert users(db_url, "add", "ana", "--role", "staff", password="long enough").returncode == 0
    r = users(db_url, "set", "ana")
    _one_line_error(r, "give --email, --role or both")
    assert r.returncode == 2
    r = users(db_url, "set", "ana", "--role", "boss")
    _one_line_error(r, "Invalid value for '--role': 'boss' is not one of 'admin', 'editor', 'staff'")
    assert r.returncode == 2
    _one_line_error(users(db_url, "set", "ana", "--email", "nope"), "not an e-mail address: 'nope'")
    _one_line_error(users(db_url, "set", "nobody", "--role", "admin"), "no user 'nobody'")
    # a refused change changes nothing, not even the valid half of it
    _one_line_error(users(db_url, "set", "ana", "--role", "admin", "--email", "nope"), "not an e-mail")
    with session_scope(engine) as s:
        user = auth.get_user(s, "ana")
        assert (user.role, user.email) == ("staff", None)


def test_an_address_belongs_to_one_account_in_any_case(db_url, engine):
    """A second account with an address already taken, in any case, is refused: the address ties an
    account to its subscriptions, so sharing it would share them."""
    assert (
        users(
            db_url, "add", "st2", "--role", "staff", "--email", "st2@example.org", password="x" * 8
        ).returncode
        == 0
    )
    assert users(db_url, "add", "other", "--role", "staff", password="x" * 8).returncode == 0
    taken = "user 'st2' has the address 'st2@example.org' already"
    for address in ("st2@example.org", "ST2@Example.org"):
        _one_line_error(
            users(db_url, "add", "dup", "--role", "staff", "--email", address, password="x" * 8), taken
        )
        _one_line_error(users(db_url, "set", "other", "--email", address), taken)
    r = users(db_url, "set", "st2", "--email", "St2@Example.org")  # its own address, in another case
    assert r.stdout == "User st2 changed (staff, St2@Example.org).\n", r.stderr
    with session_scope(engine) as s:
        assert [(u.username, u.email) for u in auth.list_users(s)] == [
            ("other", None),
            ("st2", "St2@Example.org"),
        ]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def server(db_url):
    port = _free_port()
    env = {**os.environ, "TRACKER_DATABASE_URL": db_url, "PYTHONUNBUFFERED": "1"}
    env.pop("TRACKER_CONFIG", None)
    with subprocess.Popen(
        [sys.executable, "-m", "tracker", "serve", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=str(REPO),
        env=env,
    ) as proc:
        base = f"http://127.0.0.1:{port}"
        try:

            def answering() -> bool:
                assert proc.poll() is None, proc.communicate()  # exited instead of serving
                try:
                    return httpx.get(base + "/healthz", timeout=2).status_code == 200
                except httpx.TransportError:
                    return False

            wait_for(answering, 60, interval=0.05, what="the server to answer /healthz")
            yield proc, base
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    proc.kill()


def test_serve_over_real_http(db_url, server):
    proc, base = server
    assert users(db_url, "add", "ana", "--role", "staff", password="long enough").returncode == 0
    for _ in range(5):  # a login's session is committed before the redirect reaches the browser
        with httpx.Client(base_url=base, timeout=10) as http:
            page = http.get("/login")
            r = http.post(
                "/login",
                data={"username": "ana", "password": "long enough", "csrf_token": form_csrf(page.text)},
            )
            assert r.status_code == 303
            assert http.get("/subscriptions").status_code == 200
            cookie = next(c for c in http.cookies.jar if c.name == "tracker_session")
            assert cookie.has_nonstandard_attr("HttpOnly") and not cookie.secure
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=20) == 0
    out = proc.stdout.read()
    assert out.strip() == f"Serving the web app on {base}/ (Ctrl-C stops it)"
    assert "ana" not in proc.stderr.read()  # no access log


def test_serve_refuses_a_database_without_schema(tmp_path):
    r = run_tracker("serve", env={"TRACKER_DATABASE_URL": f"sqlite:///{tmp_path}/empty.db"})
    assert r.returncode == 1
    assert r.stderr.startswith("Error: ") and "tracker init" in r.stderr and r.stderr.count("\n") == 1


def test_serve_on_a_port_in_use_is_one_error_line_and_no_banner(sqlite_db):
    """Another process listens on the port: `serve` says so in one line, before any "Serving" banner."""
    url, _engine = sqlite_db
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        r = run_tracker("serve", "--port", str(port), env={"TRACKER_DATABASE_URL": url}, timeout=60)
        r2 = run_tracker(
            "serve", "--port", str(port), "--workers", "2", env={"TRACKER_DATABASE_URL": url}, timeout=60
        )
    for result in (r, r2):
        assert result.returncode == 1, (result.stdout, result.stderr)
        assert result.stderr == f"Error: cannot listen on 127.0.0.1:{port}: address already in use\n"
        assert "Serving" not in result.stdout + result.stderr


@pytest.mark.parametrize(
    ("host", "reason"),
    [
        ("999.1.1.1", "not an address of this machine, nor a name it can resolve"),
        ("192.0.2.1", "not an address of this machine"),  # TEST-NET-1: no machine has it
    ],
)
def test_serve_on_an_address_this_machine_lacks_is_one_error_line(sqlite_db, host, reason):
    url, _engine = sqlite_db
    r = run_tracker("serve", "--host", host, "--port", str(_free_port()), env={"TRACKER_DATABASE_URL": url})
    assert r.returncode == 1
    _one_line_error(r, f"cannot listen on {host}:")
    assert reason in r.stderr and "Serving" not in r.stdout + r.stderr
