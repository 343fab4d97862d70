"""`tracker db copy`: a crawled, reviewed, subscribed pilot database copied SQLite -> PostgreSQL -> SQLite
with every export identical; a non-empty or unmigrated target refused; a copy killed midway leaves the
target empty. Real SQLite files, real PostgreSQL schemas, the real command."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import uuid

import pytest
from click.testing import CliRunner
from sqlalchemy import func, insert, select, text

from db.engine import make_engine, upgrade
from db.models import Bill, Jurisdiction
from db.schema import Base
from tests.clock import utc_now
from tests.conftest import PG_ADMIN_URL, REPO, run_tracker
from tests.portal import portal_config
from tracker.cli import cli

EMAIL = """
[email]
smtp_host = "127.0.0.1"
smtp_port = {port}
from_address = "tracker@example.org"
starttls = false
"""


@pytest.fixture
def pg_schema(pg_admin):
    """A new PostgreSQL schema (empty, not migrated): its URL."""
    made = []

    def make() -> str:
        schema = f"t_{uuid.uuid4().hex[:16]}"
        with pg_admin.connect() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        made.append(schema)
        return f"{PG_ADMIN_URL}?options=-csearch_path%3D{schema}"

    yield make
    with pg_admin.connect() as conn:
        for schema in made:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))


def migrated(url: str) -> str:
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    return url


def invoke(*args: str, env: dict[str, str] | None = None) -> str:
    result = CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.stdout


def counts(url: str) -> dict[str, int]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return {
                t.name: conn.execute(select(func.count()).select_from(t)).scalar_one()
                for t in Base.metadata.sorted_tables
            }
    finally:
        engine.dispose()


EXPORTS = [
    ["export"],
    ["changes", "--format", "jsonl", "--include-first-seen"],
    ["review", "list", "--format", "jsonl"],
    ["digest", "list"],
    ["subscriptions", "list"],
    ["users", "list"],
]

# `subscriptions list` prints each subscription's next digest and `export` each bill's next hearing, both
# computed from the clock: the exports read one fixed clock (tests/clock.py), or two runs a few minutes
# apart differ (an immediate digest's next run is the next five-minute slot).
_EXPORT_SCRIPT = """
import json, sys
from click.testing import CliRunner
import db.types
import tracker.cli.digests
from tests.clock import FIXED_NOW
from tracker.cli import cli
db.types.utcnow = tracker.cli.digests.utcnow = lambda: FIXED_NOW
out = {}
for args in json.loads(sys.argv[2]):
    result = CliRunner().invoke(cli, ["--config", sys.argv[1], *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    out[args[0]] = result.stdout
print(json.dumps(out))
"""


def exports(cfg, url: str) -> dict[str, str]:
    """Every export of the database at ``url`` (in one child process: the commands keep their engines)."""
    env = {k: v for k, v in os.environ.items() if k != "TRACKER_CONFIG"}
    env["TRACKER_DATABASE_URL"] = url
    done = subprocess.run(
        [sys.executable, "-c", _EXPORT_SCRIPT, str(cfg), json.dumps(EXPORTS)],
        cwd=str(REPO),
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    out = json.loads(done.stdout)
    # JSON lines compared as JSON: PostgreSQL's jsonb gives an object's keys in its own order.
    for name in ("export", "changes", "review"):
        out[name] = [json.loads(line) for line in out[name].splitlines()]
    return out


def test_round_trip_sqlite_postgresql_sqlite_keeps_every_export(tmp_path, portal, server, smtp, pg_schema):
    pilot = f"sqlite:///{tmp_path}/pilot.db"
    cfg = portal_config(tmp_path / "t.toml", server, portal, pilot, clients=["riverton"])
    cfg.write_text(cfg.read_text() + EMAIL.format(port=smtp.port))
    crawled = run_tracker("--config", str(cfg), "init")
    assert crawled.returncode == 0, crawled.stderr
    invoke("--config", str(cfg), "subscriptions", "add", "staff@example.org", "--frequency", "immediate")
    crawled = run_tracker("--config", str(cfg), "crawl")
    assert crawled.returncode == 0, crawled.stderr

    pending = [
        json.loads(line)
        for line in invoke("--config", str(cfg), "review", "list", "--format", "jsonl").splitlines()
    ]
    assert len(pending) >= 2
    first, second = pending[0], pending[1]
    bill = lambda row: f"riverton:{row['identifier']}"  # noqa: E731
    invoke("--config", str(cfg), "review", "confirm", bill(first), "--note", "checked", "--by", "erin")
    invoke("--config", str(cfg), "review", "reject", bill(second), "--by", "erin")
    invoke(
        "--config",
        str(cfg),
        "users",
        "add",
        "erin",
        "--role",
        "editor",
        env={"TRACKER_PASSWORD": "a long passphrase 1"},
    )
    invoke("--config", str(cfg), "digest", "send")
    assert smtp.messages, "the pilot sent a digest"
    before = exports(cfg, pilot)
    states = {row["review_state"] for row in before["review"]}
    assert "sent" in before["digest"] and {"confirmed", "rejected", "pending"} <= states
    pilot_counts = counts(pilot)
    assert all(
        pilot_counts[t]
        for t in (
            "bills",
            "status_changes",
            "bill_matches",
            "review_events",
            "digests",
            "digest_deliveries",
            "users",
            "subscriptions",
        )
    )

    pg = migrated(pg_schema())
    copied = run_tracker("--config", str(cfg), "db", "copy", "--to", pg)
    assert copied.returncode == 0, copied.stderr
    lines = copied.stdout.splitlines()
    assert len(lines) == len(Base.metadata.sorted_tables)
    assert f"bills: {pilot_counts['bills']:,} rows copied, checksum ok" in lines
    assert all(line.endswith("copied, checksum ok") for line in lines)
    assert counts(pg) == pilot_counts
    assert exports(cfg, pg) == before

    # The id sequences were moved past the copied ids: new rows get new ids on PostgreSQL.
    added = run_tracker(
        "--config", str(cfg), "subscriptions", "add", "new@example.org", env={"TRACKER_DATABASE_URL": pg}
    )
    assert added.returncode == 0, added.stderr
    assert counts(pg)["subscriptions"] == pilot_counts["subscriptions"] + 1

    back = migrated(f"sqlite:///{tmp_path}/back.db")
    copied = run_tracker("db", "copy", "--from", pg, "--to", back)
    assert copied.returncode == 0, copied.stderr
    after = exports(cfg, back)
    assert after["subscriptions"] != before["subscriptions"]  # the one added on PostgreSQL came along
    assert {k: v for k, v in after.items() if k != "subscriptions"} == {
        k: v for k, v in before.items() if k != "subscriptions"
    }


def test_refuses_a_non_empty_target_an_unmigrated_one_and_hides_the_password(tmp_path, sqlite_db, pg_schema):
    source, engine = sqlite_db
    with engine.begin() as conn:
        conn.execute(
            insert(Jurisdiction),
            [{"slug": "a", "name": "A", "platform": "legistar", "created_at": utc_now(seconds=False)}],
        )
    target = migrated(f"sqlite:///{tmp_path}/target.db")
    t_engine = make_engine(target)
    with t_engine.begin() as conn:
        conn.execute(
            insert(Jurisdiction),
            [{"slug": "b", "name": "B", "platform": "legistar", "created_at": utc_now(seconds=False)}],
        )
    t_engine.dispose()

    refused = run_tracker("db", "copy", "--from", source, "--to", target)
    assert refused.returncode == 1
    (line,) = refused.stderr.splitlines()[1:]
    assert line.startswith("Error: the target database") and "is not empty (jurisdictions have rows)" in line
    assert counts(target)["jurisdictions"] == 1  # untouched

    bare = pg_schema().replace("postgres@", "postgres:s3cret-pw@")  # trust auth: the password is not checked
    refused = run_tracker("db", "copy", "--from", source, "--to", bare)
    assert refused.returncode == 1
    assert refused.stderr.splitlines()[-1].startswith(
        "Error: the target database postgresql+psycopg://postgres:***@"
    )
    assert "has no schema: run `tracker init` on it first" in refused.stderr
    assert "s3cret" not in refused.stdout + refused.stderr

    old = f"sqlite:///{tmp_path}/old.db"
    old_engine = make_engine(old)
    upgrade(old_engine, "0010_crawl_supervision")
    old_engine.dispose()
    refused = run_tracker("db", "copy", "--from", old, "--to", migrated(f"sqlite:///{tmp_path}/new.db"))
    assert refused.returncode == 1
    assert (
        "Error: the source database" in refused.stderr
        and "is at migration 0010_crawl_supervision" in refused.stderr
    )

    same = run_tracker("db", "copy", "--from", source, "--to", source)
    assert same.stderr.strip().splitlines()[-1] == "Error: the source and the target are the same database"

    # a SQLite file that does not exist is named, and not created by looking into it (until 2026-12-07 an
    # empty target file was left behind, and the error said it "has no schema")
    missing = tmp_path / "missing.db"
    refused = run_tracker("db", "copy", "--from", source, "--to", f"sqlite:///{missing}")
    assert refused.returncode == 1 and not missing.exists()
    assert refused.stderr.splitlines()[-1] == (
        f"Error: there is no target database at {missing}: run `tracker init` on it first"
    )
    refused = run_tracker("db", "copy", "--from", f"sqlite:///{missing}", "--to", target)
    assert refused.returncode == 1 and not missing.exists()
    assert refused.stderr.splitlines()[-1] == f"Error: there is no source database at {missing}"


def _many_bills(url: str, n: int) -> None:
    engine = make_engine(url)
    now = utc_now(seconds=False)
    with engine.begin() as conn:
        jid = conn.execute(
            insert(Jurisdiction).returning(Jurisdiction.id),
            {"slug": "big", "name": "Big City", "platform": "legistar", "created_at": now},
        ).scalar_one()
        conn.execute(
            insert(Bill),
            [
                {
                    "jurisdiction_id": jid,
                    "source_id": str(i),
                    "identifier": f"O2026-{i:05d}",
                    "title": f"An ordinance number {i} amending chapter {i % 97}",
                    "stage": "introduced",
                    "content_hash": f"{i:064x}",
                    "raw": {"MatterId": i, "MatterTitle": f"title {i}"},
                    "first_seen_at": now,
                    "updated_at": now,
                }
                for i in range(n)
            ],
        )
    engine.dispose()


@pytest.mark.parametrize("target_kind", ["postgresql", "sqlite"])
def test_a_copy_killed_midway_leaves_the_target_empty(tmp_path, pg_schema, target_kind):
    source = f"sqlite:///{tmp_path}/big.db"
    migrated(source)
    _many_bills(source, 30_000)
    target = migrated(pg_schema() if target_kind == "postgresql" else f"sqlite:///{tmp_path}/target.db")

    env = {k: v for k, v in os.environ.items() if k not in ("TRACKER_CONFIG", "TRACKER_DATABASE_URL")}
    command = [sys.executable, "-m", "tracker", "-v", "db", "copy", "--from", source, "--to", target]
    with subprocess.Popen(
        [*command, "--batch", "500"],
        cwd=str(REPO),
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    ) as proc:
        try:
            seen = []
            for line in proc.stderr:
                seen.append(line)
                if "bills: 5000 rows inserted" in line:  # well inside the bills table, before its commit
                    proc.send_signal(signal.SIGKILL)
                    break
            proc.wait(timeout=10)
        finally:
            if proc.poll() is None:
                proc.kill()
    assert any("bills: 5000 rows inserted" in s for s in seen), "".join(seen)
    assert proc.returncode == -signal.SIGKILL
    assert set(counts(target).values()) == {0}  # nothing of the copy is there

    again = run_tracker("db", "copy", "--from", source, "--to", target)  # and the copy can simply run again
    assert again.returncode == 0, again.stderr
    assert "bills: 30,000 rows copied, checksum ok" in again.stdout.splitlines()
    assert counts(target)["bills"] == 30_000


def test_text_longer_than_its_column_is_named_before_anything_is_copied(sqlite_db, pg_schema):
    """SQLite stores text longer than its column; PostgreSQL refuses it, and the copy failed with "value too
    long for type character varying(200)", naming no table, column or row. The copy now names them first
    and writes nothing."""
    source, engine = sqlite_db
    with engine.begin() as conn:
        conn.execute(
            insert(Jurisdiction),
            [{"slug": "a", "name": "A" * 301, "platform": "legistar", "created_at": utc_now(seconds=False)}],
        )
    target = migrated(pg_schema())
    refused = run_tracker("db", "copy", "--from", source, "--to", target)
    assert refused.returncode == 1, refused.stderr
    assert refused.stderr.splitlines()[-1] == (
        "Error: jurisdictions.name: 1 value(s) longer than the 300 characters the column holds (first: id "
        "1); PostgreSQL would refuse them: shorten them in the source, then copy again (nothing was copied)"
    )
    assert "Traceback" not in refused.stderr
    assert counts(target)["jurisdictions"] == 0
