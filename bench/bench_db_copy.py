"""How long `tracker db copy` takes from SQLite to PostgreSQL: ``./dev bench bench_db_copy [--bills N]``.

The goal is a 50,000-bill pilot database copied in under a minute. This builds a SQLite
database through the real migrations, bulk-inserts (SQLAlchemy core) ``--bills`` bills over five
jurisdictions with their raw JSON, two sponsors, three actions and two status changes each, and a match for
every bill; then creates a PostgreSQL schema of its own (127.0.0.1:5432, database ``test``, or
``$TRACKER_TEST_PG_URL``), migrates it, and times :func:`tracker.dbcopy.copy_database` (the copy, the
sequence reset and the verification of every table). Prints the rows and the seconds; the schema is
dropped at the end. No assertion: this is a measurement.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from sqlalchemy import insert, text  # noqa: E402

from db.engine import make_engine, upgrade  # noqa: E402
from db.models import Action, Bill, Jurisdiction, Sponsor, StatusChange  # noqa: E402
from db.models_review import BillMatch  # noqa: E402

PG_ADMIN_URL = os.environ.get("TRACKER_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
CHUNK = 5000


def build(url: str, bills: int) -> None:
    engine = make_engine(url)
    upgrade(engine)
    t0 = datetime(2026, 1, 5, 12, tzinfo=UTC)
    with engine.begin() as conn:
        jids = [
            conn.execute(
                insert(Jurisdiction).returning(Jurisdiction.id),
                {"slug": f"city{j}", "name": f"City {j}", "platform": "legistar", "created_at": t0},
            ).scalar_one()
            for j in range(5)
        ]
        for start in range(0, bills, CHUNK):
            ids = range(start + 1, min(bills, start + CHUNK) + 1)
            conn.execute(
                insert(Bill),
                [
                    {
                        "id": i,
                        "jurisdiction_id": jids[i % 5],
                        "source_id": str(i),
                        "identifier": f"O2026-{i:05d}",
                        "title": f"An ordinance amending chapter {i % 97} of the municipal code, item {i}",
                        "status": "Referred",
                        "stage": "in_committee",
                        "introduced": (t0 + timedelta(days=i % 300)).date(),
                        "content_hash": f"{i:064x}",
                        "raw": {"MatterId": i, "MatterTitle": f"title {i}", "MatterStatusName": "Referred"},
                        "first_seen_at": t0 + timedelta(minutes=i),
                        "updated_at": t0 + timedelta(minutes=i, seconds=7),
                        "public_url": f"https://city.legistar.com/LegislationDetail.aspx?ID={i}",
                    }
                    for i in ids
                ],
            )
            conn.execute(
                insert(Sponsor),
                [
                    {"bill_id": i, "sequence": s, "name": f"Councilmember {i % 40 + s}", "is_primary": s == 0}
                    for i in ids
                    for s in range(2)
                ],
            )
            conn.execute(
                insert(Action),
                [
                    {
                        "bill_id": i,
                        "source_id": f"{i}-{a}",
                        "sequence": a,
                        "action_date": (t0 + timedelta(days=i % 300 + a)).date(),
                        "description": ["Introduced", "Referred", "Held"][a],
                        "classification": "other",
                        "raw": {"MatterHistoryId": i * 3 + a},
                    }
                    for i in ids
                    for a in range(3)
                ],
            )
            conn.execute(
                insert(StatusChange),
                [
                    {
                        "bill_id": i,
                        "seq": s,
                        "kind": "first_seen" if s == 0 else "changed",
                        "old_status": None if s == 0 else "Introduced",
                        "new_status": "Introduced" if s == 0 else "Referred",
                        "new_stage": "introduced" if s == 0 else "in_committee",
                        "observed_at": t0 + timedelta(minutes=i, hours=s),
                    }
                    for i in ids
                    for s in range(2)
                ],
            )
            conn.execute(
                insert(BillMatch),
                [
                    {
                        "bill_id": i,
                        "relevant": i % 12 == 0,
                        "score": (i % 1000) / 1000,
                        "categories": ["detainers_warrants"] if i % 12 == 0 else [],
                        "category_scores": {"detainers_warrants": (i % 1000) / 1000},
                        "evidence": [],
                        "rules_version": 1,
                        "rules_hash": "0" * 64,
                        "input_hash": f"{i:064x}",
                        "content_keys": {"title": f"{i:064x}"},
                        "matched_at": t0,
                        "review_state": "pending" if i % 12 == 0 else None,
                        "created_at": t0,
                        "updated_at": t0,
                    }
                    for i in ids
                ],
            )
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bills", type=int, default=50_000)
    args = parser.parse_args()

    from tracker.dbcopy import copy_database

    admin = make_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    with tempfile.TemporaryDirectory() as tmp:
        source = f"sqlite:///{tmp}/pilot.db"
        started = time.perf_counter()
        build(source, args.bills)
        print(f"built a SQLite database with {args.bills:,} bills in {time.perf_counter() - started:.1f} s")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        try:
            target = f"{PG_ADMIN_URL}?options=-csearch_path%3D{schema}"
            t_engine = make_engine(target)
            upgrade(t_engine)
            t_engine.dispose()
            started = time.perf_counter()
            copied = copy_database(source, target, report=lambda _line: None)
            took = time.perf_counter() - started
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()
    rows = sum(c.rows for c in copied)
    print(f"copied {rows:,} rows ({args.bills:,} bills) SQLite -> PostgreSQL, verified, in {took:.1f} s")
    print("goal: under 60 s:", "met" if took < 60 else "NOT met")


if __name__ == "__main__":
    main()
