"""The end of ``tracker demo``: the web app over the demo database, with a demo editor account.

The account is ``editor`` with a random password the command prints once (the demo database is made afresh
by every run, so is the password); its e-mail address is the demo subscriber's, so /subscriptions shows the
demo subscription. The app listens on loopback only (:data:`DEMO_HOST`), until Ctrl-C.
"""

from __future__ import annotations

import errno
import secrets
import socket

from db.engine import make_engine, session_scope
from db.types import utcnow
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


def demo_port(port: int | None) -> int:
    """The port to serve the demo on: ``port`` if it is free (else an error), or 8000 when none was asked
    for, or any free one when 8000 is taken."""
    if port is None:
        return 8000 if _free(8000) else _any_port()
    if not _free(port):
        raise TrackerError(f"port {port} is in use: choose another with --port")
    return port
