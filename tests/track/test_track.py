"""Track by link (`tracker track URL`) against the demo Legistar portal on loopback, on SQLite and PostgreSQL
(the refusals, which store nothing, on SQLite): the bill is fetched now, marked tracked, put in the review
queue, and followed by later incremental crawls even when nothing about it shows in their date filter."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from db.engine import session_scope
from db.models import Bill, BillSource, CrawlRun, StatusChange
from db.models_review import BillMatch
from tests.conftest import run_tracker
from tests.portal import portal_config
from tracker.config import load_config
from tracker.errors import TrackerError
from tracker.track import resolve

CLIENT = "riverton"


def _two_quiet_matters(portal) -> tuple[int, int]:
    """Two old, visible matters (no recent dates), for status changes the date filter cannot see."""
    rows = [r for r in portal.client(CLIENT).matter_rows() if not r.get("MatterRestrictViewViaWeb")]
    rows.sort(key=lambda r: r["MatterId"])
    return rows[0]["MatterId"], rows[1]["MatterId"]


def _other_status(portal, matter_id: int) -> str:
    current = portal.client(CLIENT).matter_row(matter_id)["MatterStatusName"]
    names = [r["MatterStatusName"] for r in portal.client(CLIENT).status_rows()]
    return next(n for n in names if n != current)


def test_track_fetches_now_queues_and_follows(tmp_path, db_url, engine, portal, server):
    cfg = portal_config(
        tmp_path / "t.toml", server, portal, db_url, clients=[CLIENT], crawl={"reconcile_every_hours": 1000}
    )
    tracked, control = _two_quiet_matters(portal)
    url = f"{server.base_url.rsplit('/v1', 1)[0]}/LegislationDetail.aspx?ID={tracked}&GUID=ABC"

    done = run_tracker("--config", str(cfg), "track", url, "--by", "ana")
    assert done.returncode == 0, done.stderr
    assert f"{CLIENT} " in done.stdout and ": tracked (bill " in done.stdout
    with session_scope(engine) as s:
        (bill,) = s.scalars(select(Bill)).all()  # only that bill was fetched
        assert bill.source_id == str(tracked)
        assert bill.tracked_by == "ana" and bill.tracked_at is not None
        assert len(bill.actions) == len(portal.client(CLIENT).history_rows(tracked))
        match = s.get(BillMatch, bill.id)
        assert match.review_state == "pending"  # in the review queue, matched or not
        assert [r.mode for r in s.scalars(select(CrawlRun))] == ["track"]
        (source,) = s.scalars(select(BillSource)).all()
        assert (source.source_key, source.source_id) == (f"legistar:{CLIENT}", str(tracked))
        bill_id = bill.id

    again = run_tracker("--config", str(cfg), "track", url)
    assert again.returncode == 0, again.stderr
    assert ": already tracked (bill " in again.stdout

    # A track crawl is not a crawl of the city: the first plain crawl is still the full backfill.
    first = run_tracker("--config", str(cfg), "crawl")
    assert first.returncode == 0, first.stderr
    assert "(full)" in first.stdout

    portal.advance(hours=2)
    new_tracked, new_control = _other_status(portal, tracked), _other_status(portal, control)
    # Status changes that move no date the incremental filter asks about.
    portal.client(CLIENT).set_status(tracked, new_tracked, bump_last_modified=False)
    portal.client(CLIENT).set_status(control, new_control, bump_last_modified=False)
    portal.advance(hours=1)

    second = run_tracker("--config", str(cfg), "crawl")
    assert second.returncode == 0, second.stderr
    assert "(incremental)" in second.stdout
    with session_scope(engine) as s:
        bill = s.get(Bill, bill_id)
        assert bill.status == new_tracked  # followed
        events = s.scalars(
            select(StatusChange).where(StatusChange.bill_id == bill_id, StatusChange.kind == "changed")
        ).all()
        assert [e.new_status for e in events] == [new_tracked]
        untracked = s.scalar(select(Bill).where(Bill.source_id == str(control)))
        assert untracked.status != new_control  # the control, not tracked, waits for the sweep


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://example.org/x", "Error: not an http(s) URL: 'ftp://example.org/x'"),
        (
            "https://example.org/LegislationDetail.aspx?ID=5",
            "Error: no configured jurisdiction has its portal on example.org (add it to the config first)",
        ),
    ],
)
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # SQLite: the engine is incidental here
def test_track_refuses_urls_it_cannot_map(tmp_path, db_url, engine, portal, server, url, message):
    cfg = portal_config(tmp_path / "t.toml", server, portal, db_url, clients=[CLIENT])
    done = run_tracker("--config", str(cfg), "track", url)
    assert done.returncode != 0
    assert done.stderr.strip().splitlines() == [message]
    with session_scope(engine) as s:
        assert s.scalars(select(Bill)).all() == []


def test_a_portal_page_that_is_not_a_bill_is_named(tmp_path, db_url, engine, portal, server):
    cfg = portal_config(tmp_path / "t.toml", server, portal, db_url, clients=[CLIENT])
    host = server.base_url.split("//", 1)[1].split(":")[0]
    config = load_config(cfg)
    with pytest.raises(TrackerError) as err:
        resolve(config, f"http://{host}:1/Calendar.aspx")
    assert str(err.value) == (
        f"{host} is the portal of {CLIENT} (Legistar Web API), but this URL is not a bill page it reads"
    )


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # SQLite: the engine is incidental here
def test_a_missing_bill_fails_in_one_line(tmp_path, db_url, engine, portal, server):
    cfg = portal_config(tmp_path / "t.toml", server, portal, db_url, clients=[CLIENT])
    url = f"{server.base_url.rsplit('/v1', 1)[0]}/LegislationDetail.aspx?ID=987654321"
    done = run_tracker("--config", str(cfg), "track", url)
    assert done.returncode != 0
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith(f"Error: {CLIENT}: could not fetch bill 987654321: ")
    assert "failed (track)" in line and "HTTP 404" in line, line


def test_an_agenda_portal_page_says_how_to_track_its_bills(tmp_path):
    from tests.conftest import write_config

    cfg = write_config(
        tmp_path / "t.toml",
        [{"slug": "la", "name": "Los Angeles", "platform": "primegov", "tenant": "lacity"}],
    )
    with pytest.raises(TrackerError) as err:
        resolve(load_config(cfg), "https://lacity.primegov.com/Portal/Meeting?meetingTemplateId=78142")
    assert str(err.value) == (
        "lacity.primegov.com is the portal of la (PrimeGov public portal), whose pages are meetings, "
        "not bills: find the bill in the tracker (search its file number) and track it from its page"
    )
