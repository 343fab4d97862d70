"""A database URL's password never reaches the terminal, wherever the URL carries it: the userinfo (also with
an unescaped "@" in the password), or the ``password=`` query parameter libpq reads. A URL SQLAlchemy cannot
parse (a port that is not a number) is one line of error, not a traceback. The real command, against a port
on loopback where nothing listens."""

from __future__ import annotations

import pytest

from db.engine import redact_url
from tests.conftest import run_tracker
from tests.digests.helpers import free_port

SECRET = "S3cretPW"


def _urls(port: int) -> list[str]:
    return [
        f"postgresql://bob:{SECRET}@127.0.0.1:{port}/x",
        f"postgresql://bob:{SECRET}@Tail{SECRET}@127.0.0.1:{port}/x",  # an "@" in the password, unescaped
        f"postgresql://bob@127.0.0.1:{port}/x?password={SECRET}",
        f"postgresql://127.0.0.1:{port}/x?user=bob&password={SECRET}&sslmode=disable",
        f"postgresql://127.0.0.1:{port}/x?sslpassword={SECRET}",
        f"postgresql://bob:{SECRET}@127.0.0.1:abc/x",  # not a port
        f"postgresql://bob:{SECRET}@[::1:1/x",
    ]


def _driver_urls(port: int) -> list[str]:
    """A driver the tracker does not install (psycopg2 is read as psycopg 3, which it does)."""
    return [
        f"postgresql+psycopg2://bob:{SECRET}@127.0.0.1:{port}/x",
        f"postgresql+asyncpg://bob:{SECRET}@127.0.0.1:{port}/x",
        f"postgresql+nosuch://bob:{SECRET}@127.0.0.1:{port}/x",
        "sqlite+pysqlcipher:///tracker.db",
    ]


@pytest.mark.parametrize("command", [["status"], ["doctor"], ["review", "list"]])
def test_no_password_reaches_the_terminal_and_no_traceback(tmp_path, command):
    port = free_port()
    for url in _urls(port):
        done = run_tracker(*command, env={"TRACKER_DATABASE_URL": url}, timeout=60)
        out = done.stdout + done.stderr
        assert SECRET not in out, (url, out)
        assert "Traceback" not in out, (url, out)
        assert done.returncode != 0, (url, out)
        if command != ["doctor"]:
            assert len(done.stderr.strip().splitlines()) == 1, (url, done.stderr)


def test_redact_url_masks_every_place_a_password_can_be():
    for url in _urls(5432):
        assert SECRET not in redact_url(url), url
    assert redact_url("postgresql://bob:pw@db.example.org:5433/tracker?sslmode=require") == (
        "postgresql+psycopg://bob:***@db.example.org:5433/tracker?sslmode=require"
    )
    assert redact_url("sqlite:////var/lib/tracker/tracker.db") == "sqlite:////var/lib/tracker/tracker.db"


def test_a_driver_the_tracker_does_not_install_is_named_in_one_line(tmp_path):
    # every command opens the database through one function (db.engine.make_engine): `status` stands for them
    for url in _driver_urls(free_port()):
        done = run_tracker("status", env={"TRACKER_DATABASE_URL": url}, timeout=60)
        out = done.stdout + done.stderr
        assert SECRET not in out and "Traceback" not in out and done.returncode != 0, (url, out)
        assert len(done.stderr.strip().splitlines()) == 1, (url, done.stderr)
    for url, driver in [
        (f"postgresql+asyncpg://bob:{SECRET}@127.0.0.1:9/x", "asyncpg"),
        ("sqlite+pysqlcipher:///tracker.db", "pysqlcipher"),
    ]:
        done = run_tracker("status", env={"TRACKER_DATABASE_URL": url}, timeout=60)
        assert done.returncode == 2, done.stderr
        assert done.stderr.startswith(f"Error: unsupported database driver '{driver}' in "), done.stderr
    # psycopg2's URL is the same libpq URL: read with psycopg 3, it reaches the database like postgresql://
    done = run_tracker(
        "status",
        env={"TRACKER_DATABASE_URL": "postgresql+psycopg2://postgres@127.0.0.1:5432/test"},
        timeout=60,
    )
    assert "Traceback" not in done.stderr and "driver" not in done.stderr, done.stderr
