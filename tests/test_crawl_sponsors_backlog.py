"""A backfill leaves the sponsors of the bills whose titles need no documents to the sweeps ([crawl]
sponsors_by_title, crawler/attachments.py): those bills are stored at once without sponsors, the next sweep
fetches them without changing any bill, and a bill that did change meanwhile is counted as changed (the
sweep's order and cap on SQLite and PostgreSQL, the rest on SQLite). A city with bills stored is never
crawled that way."""

from __future__ import annotations

import csv
import io
import json

import pytest
from sqlalchemy import select, text

from db.engine import alembic_config, session_scope
from db.models import Bill, Sponsor
from tests.conftest import run_tracker
from tests.factories import make_bill
from tests.portal import backfill_and_sweep_configs, needing_documents, portal_statuses, stored_statuses

CLIENT = "riverton"


def _requests(server, what: str) -> list[str]:
    return [p for p, _ in server.requests if p.endswith("/" + what)]


def _stored_sponsors(engine) -> dict[str, list[str]]:
    with session_scope(engine) as s:
        rows = s.execute(
            select(Bill.source_id, Sponsor.name).join(Sponsor).order_by(Bill.source_id, Sponsor.sequence)
        ).all()
    out: dict[str, list[str]] = {}
    for sid, name in rows:
        out.setdefault(sid, []).append(name)
    return out


def _fetched(engine) -> set[str]:
    with session_scope(engine) as s:
        return set(s.scalars(select(Bill.source_id).where(Bill.sponsors_fetched_at.is_not(None))))


def _run(cfg, *args: str):
    done = run_tracker("--config", str(cfg), "crawl", *args)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # SQLite: the engine is incidental here
def test_a_backfill_leaves_sponsors_to_the_sweep_which_adds_them_without_changing_a_bill(
    tmp_path, db_url, engine, portal, server
):
    cfg, sweep = backfill_and_sweep_configs(tmp_path, server, portal, db_url, CLIENT)
    client = portal.client(CLIENT)
    visible = portal_statuses(portal, CLIENT)
    wanted = needing_documents(portal, CLIENT)
    portal_sponsors = {
        sid: [r["MatterSponsorName"] for r in client.sponsor_rows(int(sid))] for sid in visible
    }
    portal_sponsors = {sid: names for sid, names in portal_sponsors.items() if names}
    assert 0 < len(wanted) < len(visible)
    assert set(portal_sponsors) - wanted  # bills with sponsors whose titles need no documents

    _run(cfg)
    assert stored_statuses(engine, CLIENT) == visible  # every bill is stored at once
    assert len(_requests(server, "sponsors")) == len(wanted)
    assert len(_requests(server, "histories")) == len(visible)
    assert _fetched(engine) == wanted
    assert _stored_sponsors(engine) == {sid: n for sid, n in portal_sponsors.items() if sid in wanted}
    exported = run_tracker("--config", str(cfg), "export", "--format", "jsonl")
    assert exported.returncode == 0, exported.stderr
    pending = {r["source_id"] for r in map(json.loads, exported.stdout.splitlines()) if r["sponsors_pending"]}
    assert pending == set(visible) - wanted

    server.reset_requests()
    out = _run(sweep)
    assert "(sweep)" in out and " 0 changed, 0 status changes" in out, out
    # the backlog: its histories again and its sponsors, one request each, nothing twice
    assert sorted(p.rsplit("/", 2)[1] for p in _requests(server, "sponsors")) == sorted(set(visible) - wanted)
    assert len(_requests(server, "histories")) == len(visible) - len(wanted)
    assert _fetched(engine) == set(visible)
    assert _stored_sponsors(engine) == portal_sponsors
    exported = run_tracker("--config", str(cfg), "export", "--format", "csv")
    assert exported.returncode == 0, exported.stderr
    assert {row["sponsors_pending"] for row in csv.DictReader(io.StringIO(exported.stdout))} == {"false"}

    server.reset_requests()
    out = _run(sweep)
    assert " 0 changed, 0 status changes" in out, out
    assert _requests(server, "sponsors") == []  # the backlog is empty

    # a full crawl of the stored city fetches every bill's sponsors, and finds nothing changed
    server.reset_requests()
    out = _run(cfg, "--full")
    assert "(full)" in out and " 0 new, 0 changed, 0 status changes" in out, out
    assert len(_requests(server, "sponsors")) == len(visible)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # SQLite: the engine is incidental here
def test_a_bill_that_changed_before_its_sponsors_came_is_changed(tmp_path, db_url, engine, portal, server):
    cfg, sweep = backfill_and_sweep_configs(tmp_path, server, portal, db_url, CLIENT)
    _run(cfg)
    client = portal.client(CLIENT)
    statuses = portal_statuses(portal, CLIENT)
    pending = sorted(set(statuses) - _fetched(engine), key=int)
    moved, renamed = int(pending[0]), int(pending[1])
    new_status = next(st for st in sorted(set(statuses.values())) if st != statuses[str(moved)])
    client.set_status(moved, new_status, bump_last_modified=False)  # a status change the sweep catches
    client.edit_matter(renamed, MatterTitle="A title edited on the portal", bump_last_modified=False)

    out = _run(sweep)
    assert " 2 changed, 1 status changes" in out, out
    assert _fetched(engine) == set(portal_statuses(portal, CLIENT))
    with session_scope(engine) as s:
        assert s.scalar(select(Bill.status).where(Bill.source_id == str(moved))) == new_status
        assert s.scalar(select(Bill.title).where(Bill.source_id == str(renamed))) == (
            "A title edited on the portal"
        )
    expected = [r["MatterSponsorName"] for r in client.sponsor_rows(moved)]
    assert _stored_sponsors(engine).get(str(moved), []) == expected


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # SQLite: the engine is incidental here
def test_without_sponsors_by_title_every_bill_comes_with_its_sponsors(
    tmp_path, db_url, engine, portal, server
):
    cfg, _ = backfill_and_sweep_configs(tmp_path, server, portal, db_url, CLIENT, sponsors_by_title=False)
    _run(cfg)
    visible = portal_statuses(portal, CLIENT)
    assert len(_requests(server, "sponsors")) == len(visible)
    assert _fetched(engine) == set(visible)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # SQLite: the engine is incidental here
def test_a_full_crawl_of_a_city_with_bills_stored_leaves_no_sponsors_behind(
    tmp_path, db_url, engine, portal, server
):
    make_bill(engine, "A bill stored before", slug=CLIENT, match=False)
    cfg, _ = backfill_and_sweep_configs(tmp_path, server, portal, db_url, CLIENT)
    _run(cfg, "--full")
    visible = portal_statuses(portal, CLIENT)
    assert len(_requests(server, "sponsors")) == len(visible)
    assert set(visible) <= _fetched(engine)


def test_the_migration_marks_the_sponsors_of_stored_bills_fetched(db_url, engine):
    from alembic import command

    bill_id = make_bill(engine, "A bill stored before the sponsors backlog", sponsors=["Ana Ruiz"])
    config = alembic_config(engine)
    command.downgrade(config, "0015_bill_matches_relevant_index")
    command.upgrade(config, "head")
    with session_scope(engine) as s:
        fetched, first_seen = s.execute(
            text("SELECT sponsors_fetched_at, first_seen_at FROM bills WHERE id = :id"), {"id": bill_id}
        ).one()
    assert fetched is not None and fetched == first_seen


def test_a_sweep_works_off_at_most_sponsors_per_crawl_bills_newest_first(
    tmp_path, db_url, engine, portal, server
):
    cfg, sweep = backfill_and_sweep_configs(tmp_path, server, portal, db_url, CLIENT, sponsors_per_crawl=25)
    _run(cfg)
    visible = portal_statuses(portal, CLIENT)
    waiting = sorted(set(visible) - _fetched(engine), key=int, reverse=True)
    assert len(waiting) > 50
    while waiting:
        server.reset_requests()
        out = _run(sweep)
        assert " 0 changed, 0 status changes" in out, out
        batch, waiting = waiting[:25], waiting[25:]  # the newest matters first
        assert sorted(p.rsplit("/", 2)[1] for p in _requests(server, "sponsors")) == sorted(batch)
        assert _fetched(engine) == set(visible) - set(waiting)
    server.reset_requests()
    _run(sweep)
    assert _requests(server, "sponsors") == []
