"""The end of ``tracker demo``: the web app over the demo database, with a demo editor account.

The account is ``editor`` with a random password printed once (the demo database is made afresh by every
run, so is the password); its e-mail address is the demo subscriber's, so /subscriptions shows the demo
subscription. The app listens on loopback only, until Ctrl-C.
"""

from __future__ import annotations

import errno
import secrets
import socket
from pathlib import Path

import click

from db.engine import make_engine, session_scope
from db.types import utcnow
from tracker.config import load_config
from tracker.digests.demo import DEMO_SUBSCRIBER
from tracker.errors import TrackerError
from tracker.web import auth

DEMO_HOST = "127.0.0.1"
DEMO_USER = "editor"


def _free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((DEMO_HOST, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return False
            raise
    return True


def _any_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((DEMO_HOST, 0))
        return int(sock.getsockname()[1])


def demo_account(database_url: str) -> str:
    """Creates (or resets) the demo editor; returns its new random password."""
    password = secrets.token_urlsafe(12)
    engine = make_engine(database_url)
    try:
        with session_scope(engine) as session:
            user = auth.find_user(session, DEMO_USER)
            if user is None:
                auth.add_user(session, DEMO_USER, "editor", password, utcnow(), email=DEMO_SUBSCRIBER)
            else:
                auth.set_password(session, user, password, utcnow())
    finally:
        engine.dispose()
    return password


def serve_demo(directory: str | Path, *, port: int | None = None) -> None:
    """Serve the web app over the demo in ``directory`` (port 8000, or any free one when 8000 is taken and
    no port was asked for)."""
    from tracker.cli.web import serve_app

    config = load_config(Path(directory) / "tracker.toml", required=True)
    if port is None:
        port = 8000 if _free(8000) else _any_port()
    elif not _free(port):
        raise TrackerError(f"port {port} is in use: choose another with --port")
    password = demo_account(config.database_url)
    url = f"http://{DEMO_HOST}:{port}/"
    click.secho("\nThe web app over the demo data:", bold=True)
    click.echo(f"  {url}")
    click.echo(f"  Log in as {DEMO_USER} / {password}  (a demo-only account; a new password every run)")
    click.echo("  Ctrl-C stops it.")
    serve_app(config, DEMO_HOST, port, banner="")
