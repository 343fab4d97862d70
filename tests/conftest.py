"""Shared fixtures: a fresh migrated database per test on each engine (SQLite file, PostgreSQL schema),
configuration files, and helpers to run the real ``tracker`` command in a child process."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from db.engine import make_engine, upgrade

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"
SAMPLES = SHARED / "portal-samples"
PG_ADMIN_URL = os.environ.get("TRACKER_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@pytest.fixture(scope="session")
def pg_admin():
    engine = make_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:  # fails loudly when PostgreSQL is down: run .ci/run, which starts it
        conn.execute(text("select 1"))
    yield engine
    engine.dispose()


def _pg_schema_url(pg_admin, schema: str) -> str:
    with pg_admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    return f"{PG_ADMIN_URL}?options=-csearch_path%3D{schema}"


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    """A SQLite database migrated once per test process (``upgrade``, as for any database). Each test gets a
    copy of the file: the database its own migration would make, without running the migrations again."""
    path = tmp_path_factory.mktemp("migrated") / "tracker.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    return path


def _migrated_sqlite(template: Path, directory: Path) -> str:
    shutil.copyfile(template, directory / "tracker.db")
    return f"sqlite:///{directory}/tracker.db"


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path) -> Iterator[str]:
    """A migrated, empty database on each engine."""
    if request.param == "sqlite":
        url = _migrated_sqlite(request.getfixturevalue("sqlite_template"), tmp_path)
        schema = None
    else:
        pg_admin = request.getfixturevalue("pg_admin")
        schema = f"t_{uuid.uuid4().hex[:16]}"
        url = _pg_schema_url(pg_admin, schema)
        engine = make_engine(url)
        upgrade(engine)
        engine.dispose()
    yield url
    if schema:
        with request.getfixturevalue("pg_admin").connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))


@pytest.fixture
def engine(db_url):
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


def write_config(
    path: Path, jurisdictions: list[dict], *, database_url: str | None = None, crawl: dict | None = None
) -> Path:
    """A tracker.toml written from Python values (strings, numbers, booleans, flat tables)."""

    def value(v) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, int | float):
            return repr(v)
        if isinstance(v, list):
            return "[" + ", ".join(value(x) for x in v) + "]"
        if isinstance(v, dict):
            return "{ " + ", ".join(f'"{k}" = {value(x)}' for k, x in v.items()) + " }"
        return '"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"'

    lines = []
    if database_url:
        lines += ["[database]", f"url = {value(database_url)}", ""]
    # One crawler process unless a test asks for more: request counts are per process, and split backfills
    # have their own tests (tests/test_crawl_shards.py).
    crawl = {"processes": 1, **(crawl or {})}
    lines += ["[crawl]"] + [f"{k} = {value(v)}" for k, v in crawl.items()] + [""]
    for j in jurisdictions:
        lines.append("[[jurisdictions]]")
        lines += [f"{k} = {value(v)}" for k, v in j.items()]
        lines.append("")
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def run_tracker(
    *args: str, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """The real command, as a user runs it (a child process: Scrapy's reactor is one per process)."""
    full_env = {**os.environ, **(env or {})}
    for name in ("TRACKER_CONFIG", "TRACKER_DATABASE_URL"):
        full_env.pop(name, None)
        if env and name in env:
            full_env[name] = env[name]
    return subprocess.run(
        [sys.executable, "-m", "tracker", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=full_env,
        cwd=str(REPO),
        check=False,
    )


@pytest.fixture
def smtp():
    """A real SMTP server (aiosmtpd) on loopback."""
    from tests.digests.helpers import SmtpServer

    with SmtpServer() as server:
        yield server


@pytest.fixture
def webhook():
    """A webhook receiver (http.server) on loopback."""
    from tests.digests.helpers import WebhookServer

    with WebhookServer() as server:
        yield server


@pytest.fixture
def sqlite_db(tmp_path, sqlite_template):
    """A migrated SQLite database, for tests of the command line (whose logic also runs on PostgreSQL in the
    other tests): (url, engine)."""
    url = _migrated_sqlite(sqlite_template, tmp_path)
    engine = make_engine(url)
    yield url, engine
    engine.dispose()


@pytest.fixture
def portal():
    """The demo Legistar portal (tracker/demo), its clock at the test's start."""
    from tests.portal import now
    from tracker.demo import demo_portal

    return demo_portal(now=now())


@pytest.fixture
def server(portal):
    """The demo portal served on loopback (a module may define its own ``server`` for another platform)."""
    from tracker.demo import LegistarPortalServer

    with LegistarPortalServer(portal) as s:
        yield s
