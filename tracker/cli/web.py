"""``tracker serve`` and ``tracker users``.

Passwords come from ``$TRACKER_PASSWORD`` when it is set, else from a prompt (typed twice, not echoed);
they are never printed or logged.
"""

from __future__ import annotations

import os
import socket
from typing import Any

import click

from db.models_web import ROLES
from db.types import utcnow
from tracker.cli.output import echo
from tracker.errors import TrackerError

PASSWORD_ENV = "TRACKER_PASSWORD"  # noqa: S105 (the name of the variable)


def read_password() -> str:
    from tracker.web.auth import check_password

    value = os.environ.get(PASSWORD_ENV)
    if value is None:
        value = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    return check_password(value)


# -- serve --------------------------------------------------------------------------------------------


def serve_app(
    config: Any,
    host: str,
    port: int,
    *,
    banner: str | None = None,
    workers: int = 1,
    proxy_headers: bool = True,
    forwarded_allow_ips: str | None = None,
    sock: socket.socket | None = None,
) -> None:
    """Run the web app with uvicorn until interrupted (Ctrl-C or SIGTERM).

    The listening socket is bound first (``sock``, or :func:`tracker.web.listen.listen` on ``host``:``port``):
    a port in use or an address this machine lacks is one ``Error: cannot listen on ...`` line, and the
    banner is printed only once the socket listens. One worker runs the app in this process; several are
    processes uvicorn starts, sharing the socket, each building the app from the configuration through
    :func:`tracker.web.app.app_from_environment`."""
    from tracker.web.listen import listen

    if sock is None:
        sock = listen(host, port)
    with sock:
        _serve_on(sock, config, host, banner, workers, proxy_headers, forwarded_allow_ips)


def _serve_on(
    sock: socket.socket,
    config: Any,
    host: str,
    banner: str | None,
    workers: int,
    proxy_headers: bool,
    forwarded_allow_ips: str | None,
) -> None:
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    port = int(sock.getsockname()[1])
    options: dict[str, Any] = {
        "host": host,
        "port": port,
        "log_level": "warning",
        "access_log": False,  # no access log: a feed URL holds its secret token
        "proxy_headers": proxy_headers,
    }
    if forwarded_allow_ips is not None:
        options["forwarded_allow_ips"] = forwarded_allow_ips
    if workers > 1:
        # The workers read the same configuration: the file this command read, and its database URL.
        if config.source and os.path.exists(config.source):
            os.environ["TRACKER_CONFIG"] = os.path.abspath(config.source)
        os.environ["TRACKER_DATABASE_URL"] = config.database_url
        uv_config = uvicorn.Config(
            "tracker.web.app:app_from_environment", factory=True, workers=workers, **options
        )
    else:
        from tracker.web.app import create_app, settle_memory_for_serving

        uv_config = uvicorn.Config(create_app(config), **options)
        settle_memory_for_serving()
    if banner is None:
        shown = f"[{host}]" if ":" in host else host
        more = f", {workers} workers" if workers > 1 else ""
        banner = f"Serving the web app on http://{shown}:{port}/{more} (Ctrl-C stops it)"
    if banner:
        echo(banner)
    server = None
    try:
        if workers > 1:
            Multiprocess(uv_config, sockets=[sock]).run()
        else:
            server = uvicorn.Server(uv_config)
            server.run(sockets=[sock])
    except KeyboardInterrupt:  # a second Ctrl-C, or the one uvicorn raises again after its graceful stop
        pass
    if server is not None and not server.started:
        raise TrackerError("the web app did not start (see the messages above)")


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535), help="TCP port.")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64), help="Worker processes.")
@click.option(
    "--proxy-headers/--no-proxy-headers",
    default=True,
    show_default=True,
    help="Trust X-Forwarded-For/-Proto from the addresses of --forwarded-allow-ips.",
)
@click.option(
    "--forwarded-allow-ips",
    metavar="IPS",
    help="Comma-separated addresses of the reverse proxy ('*': any; default $FORWARDED_ALLOW_IPS, else "
    "127.0.0.1).",
)
@click.pass_obj
def serve(
    obj: Any, host: str, port: int, workers: int, proxy_headers: bool, forwarded_allow_ips: str | None
) -> None:
    """Serve the web app (review queue, search, subscriptions, admin, JSON API) until stopped.

    /healthz answers while the process is up and its database answers; /readyz when the database answers
    and its schema is at the latest migration (503 with the reason otherwise)."""
    obj.engine().dispose()  # one line, `Error: ...`, if the database is unreachable or its schema is old
    serve_app(
        obj.config,
        host,
        port,
        workers=workers,
        proxy_headers=proxy_headers,
        forwarded_allow_ips=forwarded_allow_ips,
    )


# -- users --------------------------------------------------------------------------------------------


@click.group("users")
def users() -> None:
    """Web app accounts: add, set, passwd, remove, list. Roles: admin ⊇ editor ⊇ staff."""


@users.command("add")
@click.argument("username")
@click.option("--role", required=True, type=click.Choice(ROLES), help=f"One of {', '.join(ROLES)}.")
@click.option(
    "--email",
    metavar="EMAIL",
    help="The user's address (their digest subscriptions use it; one account per address, in any case).",
)
@click.pass_obj
def users_add(obj: Any, username: str, role: str, email: str | None) -> None:
    """Add a user; the password is $TRACKER_PASSWORD, else prompted."""
    from db.engine import session_scope
    from tracker.web import auth

    auth.check_username(username)
    auth.check_role(role)  # before the prompt: a typo fails at once
    engine = obj.engine()
    password = read_password()
    with session_scope(engine) as session:
        auth.add_user(session, username, role, password, utcnow(), email=email)
    echo(f"User {username} added ({role}{', ' + email if email else ''}).")


@users.command("set")
@click.argument("username")
@click.option(
    "--email",
    metavar="EMAIL",
    help="A new address (their digest subscriptions use it; one account per address, in any case).",
)
@click.option("--role", type=click.Choice(ROLES), help=f"A new role: one of {', '.join(ROLES)}.")
@click.pass_obj
def users_set(obj: Any, username: str, email: str | None, role: str | None) -> None:
    """Change a user's e-mail address and/or role; their sessions go on, with the new role from their
    next request."""
    from db.engine import session_scope
    from tracker.web import auth

    if email is None and role is None:
        raise click.UsageError("give --email, --role or both")
    with session_scope(obj.engine()) as session:
        user = auth.get_user(session, username)
        auth.update_user(session, user, utcnow(), email=email, role=role)
        shown = f"{user.role}{', ' + user.email if user.email else ''}"
    echo(f"User {username} changed ({shown}).")


@users.command("passwd")
@click.argument("username")
@click.pass_obj
def users_passwd(obj: Any, username: str) -> None:
    """Set a user's password ($TRACKER_PASSWORD, else prompted); their sessions end."""
    from db.engine import session_scope
    from tracker.web import auth

    engine = obj.engine()
    with session_scope(engine) as session:
        auth.get_user(session, username)
    password = read_password()
    with session_scope(engine) as session:
        auth.set_password(session, auth.get_user(session, username), password, utcnow())
    echo(f"Password of {username} changed; their sessions ended.")


@users.command("remove")
@click.argument("username")
@click.pass_obj
def users_remove(obj: Any, username: str) -> None:
    """Remove a user and end their sessions (their subscriptions stay, keyed by e-mail)."""
    from db.engine import session_scope
    from tracker.web import auth

    with session_scope(obj.engine()) as session:
        auth.remove_user(session, auth.get_user(session, username))
    echo(f"User {username} removed.")


@users.command("list")
@click.pass_obj
def users_list(obj: Any) -> None:
    """List users: name, role, e-mail, last login."""
    from db.engine import session_scope
    from tracker.web import auth

    with session_scope(obj.engine()) as session:
        rows = auth.list_users(session)
        if not rows:
            echo("No users (`tracker users add USERNAME --role admin`).")
            return
        for u in rows:
            last = f"{u.last_login_at:%Y-%m-%d %H:%M} UTC" if u.last_login_at else "never"
            flags = " [disabled]" if u.disabled else ""
            echo(f"{u.username:<20} {u.role:<7} {u.email or '-':<30} last login {last}{flags}")


COMMANDS = (serve, users)
