"""When every record a portal lists is rejected, the crawl fails saying the records were invalid and naming
the first problem; it never says the portal listed nothing nor suggests ``allow_empty`` (tracker/store.py
for the Legistar API, crawler/spiders/agenda.py for agenda platforms, crawler/spiders/legistar_web.py for
InSite sites). Real crawls (the ``tracker`` command in a child process) of loopback portals, on SQLite
and PostgreSQL."""

from __future__ import annotations

import json

from sqlalchemy import select

from db.engine import session_scope
from db.models import Bill, CrawlRun
from tests.conftest import run_tracker
from tests.platforms import test_civicclerk as cc
from tests.platforms import test_legistar_web as lwt
from tests.platforms import test_primegov as pg
from tests.platforms.civicclerk_server import south_fulton_api
from tests.platforms.insite_server import InsiteServer
from tests.platforms.primegov_server import la_portal
from tests.portal import portal_config
from tracker.demo.primegov_portal import AppServer, Item, Page

CLIENT = "riverton"
NOT_SAID = ("allow_empty", "listed no", "listed nothing")


def _failed_saying_invalid(result, slug: str, first: str) -> str:
    assert result.returncode == 1, (result.stdout, result.stderr)
    (line,) = [ln for ln in result.stdout.splitlines() if ln.startswith(f"{slug}: ")]
    assert line.startswith(f"{slug}: failed (full) - 0 bills seen, 0 new"), line
    assert "every " in line and " the portal listed was invalid (" in line, line
    assert f"first problem: {first}" in line, line
    for words in NOT_SAID:
        assert words not in line, line
    assert result.stderr.strip().splitlines()[-1] == f"Error: crawl did not succeed for {slug}"
    return line


def _stored(engine) -> tuple[list, list]:
    with session_scope(engine) as s:
        return s.scalars(select(Bill)).all(), s.scalars(select(CrawlRun.status)).all()


def test_legistar_api_every_matter_without_a_valid_id(tmp_path, db_url, engine, portal, server):
    client = portal.client(CLIENT)
    for row in client.matter_rows():
        client.edit_matter(row["MatterId"], MatterId=str(row["MatterId"]))  # a string: not an id
    cfg = portal_config(tmp_path / "t.toml", server, portal, db_url, clients=[CLIENT])
    result = run_tracker("--config", str(cfg), "crawl")
    line = _failed_saying_invalid(result, CLIENT, f"{CLIENT}: a matter on page skip=0 has no valid MatterId")
    assert "every record the portal listed was invalid (" in line and "none stored" in line
    assert _stored(engine) == ([], ["failed"])


def test_legistar_api_every_matter_invalid_when_read(tmp_path, db_url, engine, portal, server):
    """Matters listed (each with its id), every one rejected when read: the crawl fails like the other
    platforms', saying the records were invalid and naming the first problem, not a partial crawl."""
    client = portal.client(CLIENT)
    rows = client.matter_rows()
    for row in rows:
        client.edit_matter(row["MatterId"], MatterIntroDate="2024-13-45T00:00:00")
    cfg = portal_config(tmp_path / "t.toml", server, portal, db_url, clients=[CLIENT])
    result = run_tracker("--config", str(cfg), "crawl")
    line = _failed_saying_invalid(result, CLIENT, f"{CLIENT} matter ")
    readable = [r for r in rows if r.get("MatterRestrictViewViaWeb") is not True]  # restricted: skipped
    assert f"every record the portal listed was invalid ({len(readable)} rejected, none stored)" in line, line
    assert ": MatterIntroDate: malformed date '2024-13-45T00:00:00'" in line, line
    assert "records rejected" not in line, line
    assert _stored(engine) == ([], ["failed"])


def test_legistar_api_one_valid_matter_keeps_the_crawl_partial(tmp_path, db_url, engine, portal, server):
    """All but one matter rejected when read: the valid one is stored and the crawl is partial, naming
    the first problem (only a crawl that rejects every record fails)."""
    client = portal.client(CLIENT)
    rows = [r for r in client.matter_rows() if r.get("MatterRestrictViewViaWeb") is not True]
    for row in rows[1:]:
        client.edit_matter(row["MatterId"], MatterIntroDate="2024-13-45T00:00:00")
    cfg = portal_config(tmp_path / "t.toml", server, portal, db_url, clients=[CLIENT])
    result = run_tracker("--config", str(cfg), "crawl")
    assert result.returncode == 1, (result.stdout, result.stderr)
    (line,) = [ln for ln in result.stdout.splitlines() if ln.startswith(f"{CLIENT}: ")]
    assert line.startswith(f"{CLIENT}: partial (full) - 1 bills seen, 1 new"), line
    assert f"{len(rows) - 1} records rejected, first: {CLIENT} matter " in line, line
    assert "was invalid" not in line, line
    bills, runs = _stored(engine)
    assert [b.source_id for b in bills] == [str(rows[0]["MatterId"])] and runs == ["partial"]


def test_primegov_every_meeting_invalid(tmp_path, db_url, engine):
    portal = la_portal()
    portal.upcoming = json.dumps(
        [{**row, "date": "2021-10-21"} for row in json.loads(portal.upcoming)]
    ).encode()
    with AppServer(portal) as server:
        result = pg.crawl(pg.config(tmp_path, db_url, pg.city("la", server, "lacity")))
    line = _failed_saying_invalid(result, "la", "la: upcoming: meeting 9817: malformed date '2021-10-21'")
    assert "every meeting the portal listed was invalid (5 rejected)" in line
    assert _stored(engine) == ([], ["failed"])


def test_civicclerk_every_event_invalid(tmp_path, db_url, engine):
    api = south_fulton_api()
    api.events = [{**e, "startDateTime": "2026-04-28 7:00 PM"} for e in api.events]
    with cc.served(api) as server:
        result = cc.crawl(cc.config(tmp_path, db_url, server))
    line = _failed_saying_invalid(result, "south-fulton", "south-fulton: event ")
    assert "every meeting the portal listed was invalid (" in line and "malformed time" in line
    assert _stored(engine) == ([], ["failed"])


class _BadDates(InsiteServer):
    """An InSite site whose results grid writes every date in a form no calendar has."""

    def _cell(self, bill, header: str) -> str:
        value = super()._cell(bill, header)
        return "13/45/2018" if header in ("Intro Date", "File Created") else value


def test_legistar_web_every_row_invalid(tmp_path, db_url, engine):
    with _BadDates(lwt.small_portal()) as server:
        result = lwt.crawl(lwt.config(tmp_path, server, db_url))
    line = _failed_saying_invalid(result, "chicago", "chicago: page 1 of the ")
    assert "every record the portal listed was invalid (5 rejected)" in line
    assert "row 1: malformed date '13/45/2018'" in line
    assert _stored(engine) == ([], ["failed"])


def test_agenda_items_all_invalid_are_named_not_called_missing(tmp_path, db_url, engine):
    """Meetings read, every agenda item on their pages rejected: the crawl names the items' first problem
    and does not say the agendas had no items."""
    portal = la_portal()
    bad = "21-1100 <script>x</script>" * 5  # not a file number
    for template_id in list(portal.pages):
        portal.pages[template_id] = Page("Trade", [("ITEMS", [Item(template_id, "Port report.", bad)])])
    with AppServer(portal) as server:
        result = pg.crawl(pg.config(tmp_path, db_url, pg.city("la", server, "lacity")))
    line = _failed_saying_invalid(result, "la", "la: ")
    assert "la: read 5 meetings: every agenda item the portal listed was invalid (4 rejected)" in line
    assert "not a file number" in line and "found no agenda items" not in line, line
    assert _stored(engine) == ([], ["failed"])
