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
from tracker.web.listen import ListenError, listen

DEMO_HOST = "127.0.0.1"
DEMO_USER = "editor"


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


def demo_listener(port: int | None) -> socket.socket:
    """The demo's listening socket on :data:`DEMO_HOST`: ``port`` if it is free (else an error), or 8000
    when none was asked for, or any free one when 8000 is taken. Bound here, so nothing can take the port
    between the choice and the server's start."""
    if port is not None:
        try:
            return listen(DEMO_HOST, port)
        except ListenError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise TrackerError(f"port {port} is in use: choose another with --port") from None
            raise
    try:
        return listen(DEMO_HOST, 8000)
    except ListenError as exc:
        if exc.errno != errno.EADDRINUSE:
            raise
    return listen(DEMO_HOST, 0)
