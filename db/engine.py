"""Engines, sessions and schema migrations (Alembic, run as code)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.engine import CursorResult, make_url
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.sql.dml import UpdateBase

from tracker import jsonio
from tracker.errors import ConfigError, TrackerError

MIGRATIONS = Path(__file__).with_name("migrations")


def normalise_url(url: str) -> str:
    """Use psycopg 3 for ``postgresql://`` URLs (SQLAlchemy's default driver would be psycopg2, which the
    tracker does not install), and for ``postgresql+psycopg2://`` ones too (the same libpq URL, as many
    tools write it)."""
    for prefix in ("postgresql://", "postgres://", "postgresql+psycopg2://", "postgres+psycopg2://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


#: The drivers the tracker installs: SQLite's, built into Python, and psycopg 3 for PostgreSQL.
_DRIVERS = {"sqlite": ("pysqlite",), "postgresql": ("psycopg",)}


#: Query parameters libpq reads a secret from (``?password=...`` is as good as the userinfo's password).
_SECRET_PARAMETER = re.compile(r"(?i)([?&](?:password|sslpassword)=)[^&#]*")


def redact_url(url: str) -> str:
    """The URL as it may be shown: its password masked, in the userinfo (also when an unescaped "@" in it
    made the rest of it look like the host) and in a ``password``/``sslpassword`` query parameter."""
    try:
        parsed = make_url(normalise_url(url))
    except (ArgumentError, ValueError):  # ValueError: a port that is not a number
        return "<unparseable database URL>"
    if parsed.host and "@" in parsed.host:
        parsed = parsed.set(host=parsed.host.rsplit("@", 1)[1])
    shown = parsed.render_as_string(hide_password=True)
    return _SECRET_PARAMETER.sub(lambda m: m.group(1) + "***", shown)


def unreachable(url: object, exc: OperationalError, role: str = "") -> TrackerError:
    """The error "cannot reach the [ROLE ]database URL: why" on one line (libpq adds a hint on its own
    line)."""
    reason = "; ".join(line.strip() for line in str(exc.orig).splitlines() if line.strip())
    which = f"{role} database" if role else "database"
    return TrackerError(f"cannot reach the {which} {redact_url(str(url))}: {reason}")


def make_engine(url: str, **kwargs: Any) -> Engine:
    url = normalise_url(url)
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        raise ConfigError(f"database URL is not a valid SQLAlchemy URL: {redact_url(url)}") from None
    if parsed.host and "@" in parsed.host:  # the driver would name the rest of the password as the host
        raise ConfigError(
            f"the database URL {redact_url(url)} has an '@' in its user or password: write it as %40"
        )
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise ConfigError(f"unsupported database {parsed.get_backend_name()!r}: use sqlite or postgresql")
    if parsed.get_driver_name() not in _DRIVERS[parsed.get_backend_name()]:
        raise ConfigError(
            f"unsupported database driver {parsed.get_driver_name()!r} in {redact_url(url)}: write "
            "postgresql://... (the tracker uses psycopg 3) or sqlite:///PATH"
        )
    # JSON columns (raw portal payloads, evidence) written by orjson where it can (tracker/jsonio.py).
    kwargs.setdefault("json_serializer", jsonio.dumps)
    if parsed.get_backend_name() == "sqlite":
        # Writers wait for each other instead of failing at once.
        kwargs.setdefault("connect_args", {"timeout": 60})
        engine = create_engine(url, **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            if parsed.database and parsed.database != ":memory:":
                cur.execute("PRAGMA journal_mode=WAL")
            cur.close()

        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A session in one transaction: committed on success, rolled back on any error."""
    with session_factory(engine)() as session, session.begin():
        yield session


def rows_affected(session: Session, statement: UpdateBase) -> int:
    """Run an UPDATE or DELETE in ``session``; how many rows it matched (a compare-and-set claims a row
    when this is 1). ``Session.execute`` is typed as returning a plain ``Result``, but a DML statement
    without RETURNING always yields a ``CursorResult``, the one that has ``rowcount``."""
    return cast(CursorResult[Any], session.execute(statement)).rowcount


def insert_ignore(session: Session, target: Any) -> Any:
    """``INSERT ... ON CONFLICT DO NOTHING`` into ``target`` (a mapped class or a table) for the session's
    dialect (PostgreSQL or SQLite): a concurrent writer that inserted the same key first wins."""
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(target).on_conflict_do_nothing()
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(target).on_conflict_do_nothing()


def alembic_config(engine: Engine) -> Any:
    from alembic.config import Config as AlembicConfig

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Create or upgrade the schema to ``revision``."""
    from alembic import command

    try:
        command.upgrade(alembic_config(engine), revision)
    except OperationalError as exc:
        raise unreachable(engine.url, exc) from None


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision(engine: Engine) -> str | None:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config(engine)).get_current_head()


#: The newest migration's revision, which every command checks the database against (``require_schema``)
#: without loading Alembic and every migration script in each process; a test checks that it is Alembic's
#: head (tests/ops/test_schema_head.py), so a new migration that forgets it fails there.
HEAD_REVISION = "0018_subscription_pauses"


def missing_file(engine: Engine) -> Path | None:
    """The SQLite file of ``engine`` when it does not exist (connecting would create it, empty), else None.
    Commands that only read or check a database look here first."""
    file = engine.url.database if engine.url.get_backend_name() == "sqlite" else None
    if file in (None, "", ":memory:") or Path(str(file)).exists():
        return None
    return Path(str(file)).resolve()


def require_file(engine: Engine) -> None:
    """Refuse a SQLite database whose file does not exist, rather than create it empty by looking into it."""
    if (missing := missing_file(engine)) is not None:
        raise TrackerError(f"there is no database at {missing}: run `tracker init`")


def require_schema(engine: Engine) -> None:
    """Refuse to work on a database whose schema is missing or out of date (a SQLite file that does not
    exist is not created by looking into it)."""
    require_file(engine)
    try:
        with engine.connect() as conn:
            tables = set(inspect(conn).get_table_names())
            current = (
                conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
                if "alembic_version" in tables
                else None
            )
    except OperationalError as exc:
        raise unreachable(engine.url, exc) from None
    if current is None or "bills" not in tables:
        raise TrackerError(f"the database {redact_url(str(engine.url))} has no schema: run `tracker init`")
    if current != HEAD_REVISION:
        raise TrackerError(
            f"the database schema is at {current}, this tracker needs {HEAD_REVISION}: "
            "run `tracker init` to upgrade"
        )
