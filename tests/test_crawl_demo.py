"""Real crawls (the `tracker` command in a child process) of the demo Legistar portal served on loopback,
on SQLite and PostgreSQL (the full-incremental-sweep story; the other cases on SQLite): full,
incremental and sweep crawls, the status-change log, vanished bills,
suspect listings, the attachments backlog and paging."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from db.engine import session_scope
from db.models import Attachment, Bill, Jurisdiction, StatusChange
from tests.clock import local_today
from tests.conftest import run_tracker
from tests.portal import (
    event_counts,
    portal_statuses,
    runs,
    store_fingerprint,
    stored_statuses,
)
from tests.portal import portal_config as _portal_config
from tracker.demo import LegistarPortalServer

# These crawls test the matters' crawl and count its requests: they read no meetings (the demo portal's
# meetings and the Legistar events are tested in tests/platforms/test_legistar_meetings_crawl.py), and a
# full crawl fetches every matter's attachment list (attachments by title are tested in
# tests/test_crawl_attachments_by_title.py).
NO_MEETINGS = {"meetings_ahead_days": 0, "meetings_back_days": 0, "attachments_by_title": False}


def portal_config(*args, crawl: dict | None = None, **kw):
    return _portal_config(*args, crawl={**NO_MEETINGS, **(crawl or {})}, **kw)


def crawl(cfg, *args):
    return run_tracker("--config", str(cfg), "crawl", *args)


def test_full_incremental_and_sweep_record_every_change_once(tmp_path, db_url, engine, portal, server):
    clients = [c.name for c in portal]
    cfg = portal_config(tmp_path / "t.toml", server, portal, db_url, crawl={"page_size": 50})
    sweep_cfg = portal_config(
        tmp_path / "sweep.toml", server, portal, db_url, crawl={"page_size": 50, "reconcile_every_hours": 0}
    )

    first = crawl(cfg)
    assert first.returncode == 0, first.stderr
    assert [line.split(":")[0] for line in first.stdout.splitlines()] == clients
    before = {c: portal_statuses(portal, c) for c in clients}
    total = sum(len(v) for v in before.values())
    for c in clients:
        assert stored_statuses(engine, c) == before[c]
        (run,) = runs(engine, c)
        assert (run.mode, run.status, run.seen, run.new) == (
            "full",
            "succeeded",
            len(before[c]),
            len(before[c]),
        )
        listed = len(portal.client(c).matter_rows())
        pages = listed // 50 + 1
        assert run.requests == pages + 3 * len(before[c])
        assert (
            f"{c}: succeeded (full) - {len(before[c])} bills seen, {len(before[c])} new, 0 changed"
            in first.stdout
        )
    assert event_counts(engine) == {"first_seen": total}
    skips = sorted(int(q["$skip"]) for p, q in server.requests if p.endswith("/riverton/matters"))
    assert skips == list(range(0, skips[-1] + 1, 50)) and len(skips) >= 3  # paged, with a short last page

    portal.advance(days=14)
    after = {c: portal_statuses(portal, c) for c in clients}
    moved = {c: {m for m in after[c] if m in before[c] and after[c][m] != before[c][m]} for c in clients}
    assert sum(len(m) for m in moved.values()) > 20  # the demo moves on

    second = crawl(cfg)
    assert second.returncode == 0, second.stderr
    for c in clients:
        run = runs(engine, c)[-1]
        assert run.mode == "incremental"
        # Requests proportional to what changed, not to the portal's size.
        assert run.requests < runs(engine, c)[0].requests / 3

    third = crawl(sweep_cfg)  # the reconciliation sweep catches what the date filter cannot see
    assert third.returncode == 0, third.stderr
    with session_scope(engine) as s:
        for c in clients:
            assert runs(engine, c)[-1].mode == "sweep"
            assert stored_statuses(engine, c) == after[c]
            changed = s.execute(
                select(Bill.source_id, func.count())
                .join(StatusChange)
                .join(Jurisdiction)
                .where(Jurisdiction.slug == c, StatusChange.kind == "changed")
                .group_by(Bill.source_id)
            ).all()
            assert dict(changed) == dict.fromkeys(moved[c], 1)  # each change recorded exactly once
        # every changed event carries the old and new status and, here, the action that explains it
        for event in s.scalars(select(StatusChange).where(StatusChange.kind == "changed")):
            assert event.old_status != event.new_status
            assert event.action is not None

    fingerprint = store_fingerprint(engine)
    again = crawl(sweep_cfg)
    assert again.returncode == 0, again.stderr
    assert store_fingerprint(engine) == fingerprint  # nothing new written over unchanged data
    for c in clients:
        assert f"{c}: succeeded (sweep) - " in again.stdout
        assert ", 0 new, 0 changed, 0 status changes, 0 vanished, 0 errors" in again.stdout


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # SQLite: the engine is incidental here
def test_status_change_without_last_modified_is_caught_by_the_sweep(tmp_path, db_url, engine, portal, server):
    cfg = portal_config(tmp_path / "t.toml", server, portal, db_url, clients=["riverton"])
    sweep_cfg = portal_config(
        tmp_path / "s.toml", server, portal, db_url, clients=["riverton"], crawl={"reconcile_every_hours": 0}
    )
    assert crawl(cfg).returncode == 0
    client = portal.client("riverton")
    old = [
        r
        for r in client.matter_rows()
        if (r["MatterAgendaDate"] or "") < "2026-01-01" and r["MatterStatusName"] != "Withdrawn"
    ]
    target = str(old[0]["MatterId"])
    client.set_status(old[0]["MatterId"], "Withdrawn", bump_last_modified=False)  # the Legistar quirk

    incremental = crawl(cfg)
    assert incremental.returncode == 0, incremental.stderr
    assert "(incremental)" in incremental.stdout
    assert stored_statuses(engine, "riverton")[target] != "Withdrawn"  # invisible to the date filter

    sweep = crawl(sweep_cfg)
    assert sweep.returncode == 0, sweep.stderr
    assert re.search(
        r"^riverton: succeeded \(sweep\) - \d bills seen, 0 new, 1 changed, 1 status changes", sweep.stdout
    )
    assert stored_statuses(engine, "riverton")[target] == "Withdrawn"
    with session_scope(engine) as s:
        bill = s.scalars(select(Bill).where(Bill.source_id == target)).one()
        assert [(e.kind, e.new_status, e.new_stage) for e in bill.status_changes][-1] == (
            "changed",
            "Withdrawn",
            "withdrawn",
        )
    # The sweep asked for every matter page (one here) but fetched only the matter that moved and the few
    # whose dates are past the watermark.
    last = runs(engine, "riverton")[-1]
    assert last.seen < 5 and last.requests < 1 + 3 * 5


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # SQLite: the engine is incidental here
def test_vanished_bills_are_marked_never_deleted(tmp_path, db_url, engine, portal, server):
    cfg = portal_config(
        tmp_path / "t.toml", server, portal, db_url, clients=["portalder"], crawl={"reconcile_every_hours": 0}
    )
    assert crawl(cfg).returncode == 0
    client = portal.client("portalder")
    gone = client.matter_rows()[3]["MatterId"]
    client.remove_matter(gone)
    result = crawl(cfg)
    assert result.returncode == 0, result.stderr
    assert ", 1 vanished, " in result.stdout
    with session_scope(engine) as s:
        bill = s.scalars(select(Bill).where(Bill.source_id == str(gone))).one()
        assert bill.vanished_at is not None and bill.title
    exported = run_tracker("--config", str(cfg), "export", "--jurisdiction", "portalder")
    assert '"vanished_at": "' in exported.stdout
    client.restore_matter(gone)
    assert crawl(cfg).returncode == 0
    with session_scope(engine) as s:
        assert s.scalars(select(Bill).where(Bill.source_id == str(gone))).one().vanished_at is None


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_collapsed_listing_is_suspect_and_changes_nothing(tmp_path, db_url, engine, portal, server):
    cfg = portal_config(tmp_path / "t.toml", server, portal, db_url, crawl={"reconcile_every_hours": 0})
    assert crawl(cfg).returncode == 0
    fingerprint = store_fingerprint(engine)
    server.add_fault(r"/lakesidecounty/matters$", "empty", times=None)
    result = crawl(cfg)
    assert result.returncode == 1
    line = next(x for x in result.stdout.splitlines() if x.startswith("lakesidecounty"))
    assert line.startswith("lakesidecounty: suspect (sweep)")
    assert "suspect listing: the portal listed 0 matters where" in line
    assert result.stderr.strip().endswith("Error: crawl did not succeed for lakesidecounty")
    assert store_fingerprint(engine) == fingerprint
    assert "riverton: succeeded (sweep)" in result.stdout  # the others are unaffected


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_empty_first_crawl_fails_unless_declared(tmp_path, db_url, engine, portal, server):
    server.add_fault(r"/northhalden/matters$", "empty", times=None)
    cfg = portal_config(tmp_path / "t.toml", server, portal, db_url, clients=["northhalden"])
    result = crawl(cfg)
    assert result.returncode == 1
    assert "northhalden: failed (full)" in result.stdout
    assert "the portal listed no matters (set allow_empty = true if that is expected)" in result.stdout
    declared = portal_config(
        tmp_path / "d.toml",
        server,
        portal,
        db_url,
        clients=["northhalden"],
        extra={"northhalden": {"allow_empty": True}},
    )
    result = crawl(declared)
    assert result.returncode == 0, result.stdout
    assert "northhalden: succeeded (full) - 0 bills seen" in result.stdout


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_attachments_backlog_is_worked_off_newest_first(tmp_path, db_url, engine, portal, server):
    settings = {"attachments_per_crawl": 40, "reconcile_every_hours": 0}
    cfg = portal_config(tmp_path / "t.toml", server, portal, db_url, clients=["riverton"], crawl=settings)
    client = portal.client("riverton")
    visible = portal_statuses(portal, "riverton")
    assert len(visible) > 80

    first = crawl(cfg)
    assert first.returncode == 0, first.stderr
    assert stored_statuses(engine, "riverton") == visible  # every bill is stored at once
    with session_scope(engine) as s:
        fetched = s.scalars(select(Bill.source_id).where(Bill.attachments_fetched_at.is_not(None))).all()
        assert len(fetched) == 40
        assert min(map(int, fetched)) > max(int(m) for m in visible if m not in fetched)  # newest first
    for _ in range(3):
        done = crawl(cfg)
        assert done.returncode == 0
        # working off the backlog completes bills; it changes none of them
        assert " 0 changed, 0 status changes" in done.stdout, done.stdout
    with session_scope(engine) as s:
        assert s.scalar(select(func.count()).where(Bill.attachments_fetched_at.is_(None))) == 0
        stored = s.execute(
            select(Bill.source_id, Attachment.source_id, Attachment.url)
            .join(Attachment)
            .order_by(Attachment.id)
        ).all()
    expected = {
        (m, str(a["MatterAttachmentId"]), a["MatterAttachmentHyperlink"])
        for m in visible
        for a in client.attachment_rows(int(m))
    }
    assert set(stored) == expected


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_one_cap_per_host_across_jurisdictions_and_the_cap_is_used(tmp_path, db_url, engine, portal):
    """Two councils on one API host (with tokens): at most `per_host_concurrency` requests in flight to
    that host together, and the crawl does use that much concurrency (never one request at a time)."""
    tokens = {"riverton": "tok-1234", "portalder": "tok-5678"}
    with LegistarPortalServer(portal, latency=0.03, tokens=tokens) as server:
        cfg = portal_config(
            tmp_path / "t.toml",
            server,
            portal,
            db_url,
            clients=["riverton", "portalder"],
            crawl={"per_host_concurrency": 6},
            extra={
                "riverton": {"token_env": "RIVERTON_TOKEN"},
                "portalder": {"token_env": "PORTALDER_TOKEN"},
            },
        )
        env = {"RIVERTON_TOKEN": "tok-1234", "PORTALDER_TOKEN": "tok-5678"}
        result = run_tracker("--config", str(cfg), "crawl", env=env)
        assert result.returncode == 0, result.stderr
        assert server.max_in_flight <= 6
        assert server.max_in_flight >= 5


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # SQLite: the engine is incidental here
def test_quiet_matter_with_a_recent_date_is_probed_for_new_history_rows(
    tmp_path, db_url, engine, portal, server
):
    """A history row added without touching the matter's row (no new row version, no status change) is
    found when the matter has a date in the watermark window: its histories are probed (one request)."""
    cfg = portal_config(tmp_path / "t.toml", server, portal, db_url, clients=["riverton"])
    client = portal.client("riverton")
    quiet = client.matter_rows()[5]["MatterId"]
    today = f"{local_today(client.timezone)}T00:00:00"  # the crawler's watermark window is in local days
    client.edit_matter(quiet, MatterAgendaDate=today)
    assert crawl(cfg).returncode == 0
    before = client.matter_row(quiet)["MatterRowVersion"]
    client.add_history(quiet, "Held in Committee", bump_last_modified=False)
    assert client.matter_row(quiet)["MatterRowVersion"] == before
    server.reset_requests()

    result = crawl(cfg)
    assert result.returncode == 0, result.stderr
    assert "(incremental)" in result.stdout
    with session_scope(engine) as s:
        bill = s.scalars(select(Bill).where(Bill.source_id == str(quiet))).one()
        assert [a.description for a in bill.actions][-1] == "Held in Committee"
    # Quiet matters in the window cost one request each; only the one with a new row cost three.
    paths = [p for p, _ in server.requests]
    assert paths.count(f"/v1/riverton/matters/{quiet}/sponsors") == 1
