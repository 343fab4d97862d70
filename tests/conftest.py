"""Shared fixtures: a fresh migrated database per test on each engine (SQLite file, PostgreSQL schema),
configuration files, and helpers to run the real ``tracker`` command in a child process."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from graphlib import TopologicalSorter
from pathlib import Path
from typing import Any

import pytest
from filelock import FileLock
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool

from db.engine import make_engine, upgrade
from tests import forkserver

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"
SAMPLES = SHARED / "portal-samples"
PG_ADMIN_URL = os.environ.get("TRACKER_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def pytest_configure(config: pytest.Config) -> None:
    """Temporary files in memory where the machine has a RAM file system (``/dev/shm``): every test's
    SQLite database, configuration, crawl stage files and logs live under ``tmp_path``, and a SQLite
    commit waits for its fsync (6.5 ms on this machine's disk, 0.1 ms in /dev/shm). What a test writes and
    reads is the same; only the disk wait goes. ``--basetemp`` or ``PYTEST_DEBUG_TEMPROOT`` (pytest's own
    override of the temporary root) still choose the place; without /dev/shm it stays the system's."""
    shm = Path("/dev/shm")
    if (
        config.option.basetemp is None
        and "PYTEST_DEBUG_TEMPROOT" not in os.environ
        and shm.is_dir()
        and os.access(shm, os.W_OK | os.X_OK)
    ):
        os.environ["PYTEST_DEBUG_TEMPROOT"] = str(shm)


# Which matcher the tests use. The product matches with the rules and the learned layer (the hybrid
# matcher, its default); loading the learned layer (its model and the embedding model) costs every process
# that matches a bill about a quarter of its CPU, and hundreds of `tracker` child processes do. The tests of
# matching itself, of the learned layer and of the product end to end (the demo, the demo crawl, the pages
# that show learned evidence, documents that change a match, retraining) keep the hybrid matcher; every
# other test matches with the rules alone (TRACKER_MATCHER=rules, in the test process and in every child
# process it starts), which decides nothing those tests check: what a crawl stores, what a digest sends,
# how the scheduler, the backups or the database copy behave. docs/testing.md lists them.
HYBRID_MATCHER_TESTS = (
    "tests/matcher/",
    "tests/demo/",
    "tests/test_crawl_demo.py",
    "tests/web/",
    "tests/documents/",
    "tests/review/",  # their own conftest.py chooses the rules alone, the learned layer where they test it
    "tests/scheduler/test_retrain_job.py",
    "tests/digests/test_digest_demo_portal.py",
)


@pytest.fixture(autouse=True)
def _matcher_for_the_test(request, monkeypatch):
    path = Path(str(request.node.path)).resolve().relative_to(REPO).as_posix()
    if not path.startswith(HYBRID_MATCHER_TESTS):
        monkeypatch.setenv("TRACKER_MATCHER", "rules")


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
    return _schema_url(schema)


def _schema_url(schema: str) -> str:
    # synchronous_commit=off: a commit returns before its WAL record is flushed to disk (about 2 ms instead
    # of 12 here). Only a crash of the PostgreSQL server itself could lose such a commit, which no test
    # causes; what other sessions see, and when, is unchanged (a commit is visible at once either way).
    # search_path stays the last option: tests read the schema name after "search_path=".
    return f"{PG_ADMIN_URL}?options=-csynchronous_commit%3Doff%20-csearch_path%3D{schema}"


# Everything a migration or a test could change in a schema's definition, one digest: relations, columns
# (type, nullability, default), indexes, constraints, triggers, functions, types, sequences' parameters and
# the migration head recorded in alembic_version.
_SCHEMA_FINGERPRINT = """
SELECT md5(string_agg(part, '|' ORDER BY part)) FROM (
  SELECT 'r:' || relname || ':' || relkind::text AS part FROM pg_class
    WHERE relnamespace = current_schema()::regnamespace
  UNION ALL SELECT 'c:' || c.relname || '.' || a.attname || ':' || a.attnum || ':'
      || format_type(a.atttypid, a.atttypmod) || ':' || a.attnotnull || ':'
      || coalesce(pg_get_expr(d.adbin, d.adrelid), '')
    FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
    LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
    WHERE c.relnamespace = current_schema()::regnamespace AND a.attnum > 0 AND NOT a.attisdropped
  UNION ALL SELECT 'i:' || indexdef FROM pg_indexes WHERE schemaname = current_schema()
  UNION ALL SELECT 'k:' || conrelid::regclass::text || '.' || conname || ':' || pg_get_constraintdef(oid)
    FROM pg_constraint WHERE connamespace = current_schema()::regnamespace
  UNION ALL SELECT 't:' || t.tgrelid::regclass::text || '.' || t.tgname || ':' || pg_get_triggerdef(t.oid)
    FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
    WHERE c.relnamespace = current_schema()::regnamespace AND NOT t.tgisinternal
  UNION ALL SELECT 'p:' || oid::regprocedure::text || ':' || md5(prosrc) FROM pg_proc
    WHERE pronamespace = current_schema()::regnamespace
  UNION ALL SELECT 'y:' || typname || ':' || typtype::text FROM pg_type
    WHERE typnamespace = current_schema()::regnamespace AND typrelid = 0 AND typelem = 0
  UNION ALL SELECT 's:' || seqrelid::regclass::text || ':' || seqtypid::regtype::text || ':'
      || seqstart || ':' || seqincrement || ':' || seqmin || ':' || seqmax || ':' || seqcycle
    FROM pg_sequence s JOIN pg_class c ON c.oid = s.seqrelid
    WHERE c.relnamespace = current_schema()::regnamespace
  UNION ALL SELECT 'v:' || version_num FROM alembic_version
) parts
"""


class PgSchemas:
    """Migrated PostgreSQL schemas for one test process, each used by one test at a time.

    A schema is migrated once (``upgrade``, as for any database) and then reused: after each test it is
    emptied, and every sequence restarted at 1, which leaves it with the rows and sequences of a fresh
    migration, for the next test. Emptying deletes the rows of the tables the test wrote in (the tables
    that have any page on disk: a fresh or truncated table has none) and vacuums them; once those tables
    hold more than ``TRUNCATE_OVER`` bytes (rows other sessions' snapshots still keep from vacuum pile up
    across tests), every table is truncated instead, so a whole-table scan never reads more than that many
    dead rows. Emptying after a test that wrote a few bills (fingerprint included) takes 0.05 s this way
    against 0.13 s for a TRUNCATE of every table (each of the ~60 tables and their indexes gets new files)
    on a quiet machine, and 0.4 s against 1.5 to 2 s at a load average of 12 to 20.

    A schema whose definition the test changed (a downgrade, a dropped table: its fingerprint differs from
    the one taken right after its migration), or that cannot be emptied within a few seconds (a process
    still holding a lock), is dropped instead and the next test gets a newly migrated one.
    """

    TRUNCATE_OVER = 2 * 1024 * 1024  # bytes of table pages (without their indexes)

    def __init__(self, admin) -> None:
        self.admin = admin
        self.free: list[str] = []
        self.fingerprints: dict[str, str] = {}
        self.truncate_sql: dict[str, str] = {}
        self.sequences_sql: dict[str, str] = {}
        self.delete_order: dict[str, list[str]] = {}
        self.abandoned: list[str] = []

    def take(self) -> str:
        if self.free:
            return self.free.pop()
        schema = f"t_{uuid.uuid4().hex[:16]}"
        url = _pg_schema_url(self.admin, schema)
        engine = make_engine(url)
        try:
            upgrade(engine)
            with engine.connect() as conn:
                self.fingerprints[schema] = conn.execute(text(_SCHEMA_FINGERPRINT)).scalar_one()
                reset = _reset_sql(conn)
                self.truncate_sql[schema], self.sequences_sql[schema], self.delete_order[schema] = reset
        finally:
            engine.dispose()
        return schema

    def give_back(self, schema: str) -> None:
        engine = make_engine(_schema_url(schema), poolclass=NullPool)
        try:
            with engine.connect() as conn:
                conn.execute(text("SET lock_timeout = '5s'"))
                same = conn.execute(text(_SCHEMA_FINGERPRINT)).scalar_one() == self.fingerprints[schema]
                written = conn.execute(text(_WRITTEN_TABLES)).all()
                conn.rollback()
                if same:
                    self._empty(conn, schema, written)
                    self.free.append(schema)
                    return
        except DBAPIError:
            pass  # changed beyond recognition (alembic_version dropped) or locked: a fresh one next time
        finally:
            engine.dispose()
        self.drop(schema)

    def _empty(self, conn, schema: str, written: list) -> None:
        if sum(size for _, size in written) > self.TRUNCATE_OVER:
            with conn.begin():
                conn.exec_driver_sql(self.truncate_sql[schema])
                conn.exec_driver_sql(self.sequences_sql[schema])
            return
        names = {name for name, _ in written}
        with conn.begin():
            for name in self.delete_order[schema]:  # a table's rows before those of the tables it references
                if name in names:
                    conn.exec_driver_sql(f'DELETE FROM "{name}"')
            conn.exec_driver_sql(self.sequences_sql[schema])
        if written:
            vacuum = conn.execution_options(isolation_level="AUTOCOMMIT")
            vacuum.exec_driver_sql("VACUUM " + ", ".join(f'"{name}"' for name, _ in written))

    def drop(self, schema: str) -> None:
        try:
            with self.admin.connect() as conn:
                conn.execute(text("SET lock_timeout = '5s'"))
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        except DBAPIError:
            self.abandoned.append(schema)  # tried again at the end of the session

    def close(self) -> None:
        for schema in self.free + self.abandoned:
            try:
                with self.admin.connect() as conn:
                    conn.execute(text("SET lock_timeout = '30s'"))
                    conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            except DBAPIError:
                pass  # still locked by a process the test left behind: left in place rather than hang
        self.free, self.abandoned = [], []


# The tables a test wrote in (or that kept rows or dead rows from earlier tests): any page on disk. A table
# gets its first page with its first row, even one rolled back, and loses its pages only to TRUNCATE (or
# to a VACUUM that finds every row dead to every session).
_WRITTEN_TABLES = """
SELECT relname, pg_relation_size(oid) FROM pg_class
WHERE relnamespace = current_schema()::regnamespace AND relkind = 'r' AND relname <> 'alembic_version'
  AND pg_relation_size(oid) > 0
"""


def _reset_sql(conn) -> tuple[str, str, list[str]]:
    """What empties a freshly migrated schema again: the TRUNCATE of every table (one statement, so the
    references between them hold), the statements that set every sequence back to 1 (as ``nextval`` gives
    in a fresh schema), and the tables in an order to delete their rows in (a table before the tables it
    references; the schema has no triggers of its own)."""
    tables = (
        conn.execute(
            text(
                "SELECT relname FROM pg_class WHERE relnamespace = current_schema()::regnamespace "
                "AND relkind IN ('r', 'p') AND relname <> 'alembic_version' ORDER BY relname"
            )
        )
        .scalars()
        .all()
    )
    references = conn.execute(
        text(
            "SELECT c.relname, f.relname FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid "
            "JOIN pg_class f ON f.oid = k.confrelid "
            "WHERE k.contype = 'f' AND k.connamespace = current_schema()::regnamespace"
        )
    ).all()
    seeded = [t for t in tables if conn.execute(text(f'SELECT EXISTS (SELECT FROM "{t}")')).scalar_one()]
    assert not seeded, f"a migration writes rows in {seeded}: emptying would not restore a fresh schema"
    graph: dict[str, set[str]] = {t: set() for t in tables}
    for child, parent in references:
        if child != parent and parent in graph and child in graph:
            graph[parent].add(child)  # a parent's rows go after its children's
    order = list(TopologicalSorter(graph).static_order())  # children before the tables they reference
    sequences = (
        conn.execute(
            text(
                "SELECT relname FROM pg_class WHERE relnamespace = current_schema()::regnamespace "
                "AND relkind = 'S' ORDER BY relname"
            )
        )
        .scalars()
        .all()
    )
    # A deleted row stays behind as a dead tuple until vacuum can remove it, and a worker's schema serves
    # hundreds of tests: a search that reads whole tables (one-letter words use no trigram index) would
    # scan every row earlier tests wrote and could pass its 5 s statement timeout under load. Hence the
    # VACUUM after the DELETEs, and the TRUNCATE of every table past PgSchemas.TRUNCATE_OVER.
    truncate = ("TRUNCATE " + ", ".join(f'"{t}"' for t in order) + " RESTART IDENTITY") if order else ""
    setvals = "; ".join(f"SELECT setval('\"{q}\"', 1, false)" for q in sequences)
    return truncate or "SELECT 1", setvals or "SELECT 1", order


@pytest.fixture(scope="session")
def pg_schemas(pg_admin) -> Iterator[PgSchemas]:
    schemas = PgSchemas(pg_admin)
    yield schemas
    schemas.close()


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


def database_for(request, tmp_path) -> Iterator[str]:
    """The ``db_url`` fixture's body, for ``request.param`` (``sqlite`` or ``postgresql``): a copy of a
    migrated SQLite file, or a migrated PostgreSQL schema as fresh as a new one (:class:`PgSchemas`)."""
    if request.param == "sqlite":
        yield _migrated_sqlite(request.getfixturevalue("sqlite_template"), tmp_path)
        return
    schemas = request.getfixturevalue("pg_schemas")
    schema = schemas.take()
    yield _schema_url(schema)
    schemas.give_back(schema)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path) -> Iterator[str]:
    """A migrated, empty database on each engine (:func:`database_for`). A test names its engines with
    ``@pytest.mark.parametrize("db_url", [...], indirect=True)``; tests/platforms/conftest.py narrows a
    whole directory."""
    yield from database_for(request, tmp_path)


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
    """The real command, as a user runs it, in a child process (Scrapy's reactor is one per process): forked
    from the tests' fork server (tests/forkserver.py: the imports done once), else a new interpreter."""
    full_env = {**os.environ, **(env or {})}
    for name in ("TRACKER_CONFIG", "TRACKER_DATABASE_URL"):
        full_env.pop(name, None)
        if env and name in env:
            full_env[name] = env[name]
    fork = forkserver.server()
    if fork is not None and fork.can_run(full_env):
        return fork.run(list(args), full_env, str(REPO), timeout)
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
    """The demo Legistar portal (tracker/demo), its clock at the test's start: the machine's time, which
    the crawler's ``since`` watermark reads."""
    from tests.clock import utc_now
    from tracker.demo import demo_portal

    return demo_portal(now=utc_now())


@pytest.fixture
def server(portal):
    """The demo portal served on loopback (a module may define its own ``server`` for another platform)."""
    from tracker.demo import LegistarPortalServer

    with LegistarPortalServer(portal) as s:
        yield s


@dataclass(frozen=True)
class DemoRun:
    dir: Path
    result: subprocess.CompletedProcess[str]
    web: dict[str, Any]  # what the served web app answered (tests/demo_serve.py)


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory) -> DemoRun:
    """One real ``tracker demo`` run, the README's quick-start command (a child process, as ``./dev demo``
    runs it: crawls, then serves the web app until Ctrl-C; tests/demo_serve.py), shared by the tests that
    read what it printed, stored and answered (tests/demo, tests/web/test_web_demo.py). It takes a minute
    or more, so it runs once per session: the first pytest-xdist worker that needs it runs it under a
    lock in the directory all workers share, and the others read its output from there."""
    from tests.demo_serve import run_serving_demo

    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # the controller's base directory, of which each worker's is a child
    demo = root / "demo-run" / "demo"
    saved = root / "demo-run" / "result.json"
    with FileLock(str(root / "demo-run.lock")):
        saved.parent.mkdir(exist_ok=True)
        if saved.exists():
            args, returncode, stdout, stderr, web = json.loads(saved.read_text(encoding="utf-8"))
            result = subprocess.CompletedProcess(args, returncode, stdout, stderr)
        else:
            result, web = run_serving_demo(demo, REPO)
            saved.write_text(
                json.dumps([result.args, result.returncode, result.stdout, result.stderr, web]),
                encoding="utf-8",
            )
    assert result.returncode == 0, result.stderr[-2000:]
    return DemoRun(demo, result, web)
