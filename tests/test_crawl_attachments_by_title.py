"""A full crawl fetches attachment lists by title ([crawl] attachments_by_title, crawler/attachments.py):
the lists of candidate and opaque titles with the bill, every other bill stored at once with its list in
the backlog, which the next sweep works off without changing any bill (SQLite and PostgreSQL; the crawl
without triage on SQLite)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from crawler.attachments import TitleTriage, opaque
from db.engine import session_scope
from db.models import Attachment, Bill
from tests.conftest import run_tracker
from tests.portal import backfill_and_sweep_configs, needing_documents, portal_statuses, stored_statuses
from tests.portal import portal_config as _portal_config

NO_MEETINGS = {"meetings_ahead_days": 0, "meetings_back_days": 0}
CLIENT = "riverton"


def portal_config(*args, crawl: dict | None = None, **kw):
    return _portal_config(*args, crawl={**NO_MEETINGS, **(crawl or {})}, **kw)


def test_opaque_titles_say_nothing_beyond_the_generic_words():
    assert opaque("AGREEMENT - INMATE HOUSING")
    assert opaque("AMENDING CHAPTER 12.08")
    assert opaque("Save Good Food Amendment Act of 2017")
    assert opaque("")
    assert opaque(None)
    assert not opaque(
        "To authorize the Director of Public Utilities to enter into a contract for water mains"
    )


def test_candidates_are_titles_with_a_rules_term_opaque_ones_and_nothing_else():
    triage = TitleTriage()
    assert triage.needs_documents(
        "A resolution declaring the city a sanctuary city for immigrants and refugees"
    )
    assert triage.needs_documents("AGREEMENT - INMATE HOUSING")  # opaque
    assert triage.needs_documents(
        "Routine title", "Ordinance limiting cooperation with ICE detainers"
    )  # name
    assert not triage.needs_documents(
        "To authorize the Director of Public Utilities to enter into a contract for water main replacement"
    )


def test_a_full_crawl_fetches_the_lists_of_titles_that_may_need_documents(
    tmp_path, db_url, engine, portal, server
):
    cfg, sweep = backfill_and_sweep_configs(tmp_path, server, portal, db_url, CLIENT)
    client = portal.client(CLIENT)
    visible = portal_statuses(portal, CLIENT)
    wanted = needing_documents(portal, CLIENT)
    assert 0 < len(wanted) < len(visible)  # the demo has both kinds

    first = run_tracker("--config", str(cfg), "crawl")
    assert first.returncode == 0, first.stderr
    assert stored_statuses(engine, CLIENT) == visible  # every bill is stored at once
    lists = [p for p, _ in server.requests if p.endswith("/attachments")]
    assert len(lists) == len(wanted)
    with session_scope(engine) as s:
        fetched = set(s.scalars(select(Bill.source_id).where(Bill.attachments_fetched_at.is_not(None))))
    assert fetched == wanted

    server.reset_requests()
    done = run_tracker("--config", str(sweep), "crawl")
    assert done.returncode == 0, done.stderr
    assert "(sweep)" in done.stdout and " 0 changed, 0 status changes" in done.stdout, done.stdout
    lists = [p for p, _ in server.requests if p.endswith("/attachments")]
    assert len(lists) == len(visible) - len(wanted)  # the backlog, one request each, nothing twice
    with session_scope(engine) as s:
        assert s.scalars(select(Bill.source_id).where(Bill.attachments_fetched_at.is_(None))).all() == []
        stored = s.execute(
            select(Bill.source_id, Attachment.source_id, Attachment.url).join(Attachment)
        ).all()
    expected = {
        (m, str(a["MatterAttachmentId"]), a["MatterAttachmentHyperlink"])
        for m in visible
        for a in client.attachment_rows(int(m))
    }
    assert set(stored) == expected


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # SQLite: the engine is incidental here
def test_without_attachments_by_title_every_list_comes_with_its_bill(
    tmp_path, db_url, engine, portal, server
):
    cfg = portal_config(
        tmp_path / "t.toml", server, portal, db_url, clients=[CLIENT], crawl={"attachments_by_title": False}
    )
    done = run_tracker("--config", str(cfg), "crawl")
    assert done.returncode == 0, done.stderr
    visible = portal_statuses(portal, CLIENT)
    assert len([p for p, _ in server.requests if p.endswith("/attachments")]) == len(visible)
    with session_scope(engine) as s:
        assert s.scalars(select(Bill.source_id).where(Bill.attachments_fetched_at.is_(None))).all() == []
