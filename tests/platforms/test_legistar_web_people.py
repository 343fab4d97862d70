"""Members' bodies and terms on the ``legistar-web`` platform (docs/meetings.md, "Legistar web pages"): the
``PersonDetail.aspx`` fixture parsed (its memberships grid), pages that differ refused whole, and real crawls
(the ``tracker`` command in a child process) of the loopback InSite site of tests/platforms/insite_server.py
on SQLite and PostgreSQL: the terms stored through the Web API platform's path and shown on the member page,
one member page per listed member on full crawls and sweeps and none on incremental crawls, and a broken
member page that warns and keeps the stored terms."""

from __future__ import annotations

import re
from collections import Counter
from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from db.engine import session_scope
from db.models_meetings import Member
from tests.clock import local_today
from tests.platforms.conftest import BOTH_ENGINES
from tests.platforms.insite_server import SAMPLES, InsiteServer
from tests.platforms.test_legistar_web import config, crawl
from tests.platforms.test_legistar_web_votes import bills, meetings
from tests.web.conftest import app, client, login, make_user, password_hashing, web_config  # noqa: F401
from tracker.contract import NormalizedMember, NormalizedTerm
from tracker.errors import DataError, LayoutChanged
from tracker.platforms import legistar_web as lw

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "legistar_web" / "PersonDetail.html"
ZONE = ZoneInfo("America/Chicago")
DANA = NormalizedMember("Dana Whitfield", "501")


def person(text: str | None = None, member: NormalizedMember = DANA) -> NormalizedMember:
    return lw.parse_person_detail(
        lw.parse_html(text if text is not None else FIXTURE.read_text(encoding="utf-8")), member
    )


# -- the member's page ---------------------------------------------------------------------------------------


def test_person_detail_fixture_gives_the_bodies_and_terms():
    found = person()
    assert (found.name, found.source_id) == ("Dana Whitfield", "501")
    assert found.terms == [
        NormalizedTerm("City Council", "Council Member", date(2023, 1, 2), date(2027, 1, 4)),
        NormalizedTerm("Committee on Public Safety", "Chair", date(2023, 1, 17), date(2027, 1, 4)),
        NormalizedTerm("Committee on Finance", "Member", date(2023, 1, 17), None),
    ]


def test_a_person_page_without_memberships_gives_no_terms():
    text = FIXTURE.read_text(encoding="utf-8")
    body = re.search(r"<tbody>.*</tbody>", text, re.S)
    assert body is not None
    empty = text.replace(
        body.group(0),
        '<tbody><tr class="rgNoRecords"><td colspan="4"><div>No records to display.</div></td></tr></tbody>',
    )
    assert person(empty).terms == []


@pytest.mark.parametrize(
    ("old", "new", "error", "message"),
    [
        ("PersonDetail.aspx?ID=501&amp;", "PersonDetail.aspx?ID=502&amp;", DataError, "shows person 502"),
        ('id="ctl00_ContentPlaceHolder1_gridDepartments_ctl00"', 'id="x"', LayoutChanged, "grid .* missing"),
        ("Start&nbsp;Date", "Since", LayoutChanged, "has no Start Date column"),
        ("<td>1/17/2023</td><td>1/4", "<td>2023-01-17</td><td>1/4", DataError, "malformed"),
        ("<td>1/2/2023</td><td>1/4/2027</td>", "<td>1/2/2023</td><td>1/4/2021</td>", DataError, "before it"),
        (">Committee on Finance</a>", "></a>", DataError, "row 3: no department name"),
        ('<tr class="rgAltRow"', '<tr class="rgFilterRow"', LayoutChanged, "neither rgRow nor rgAltRow"),
    ],
)
def test_a_person_page_that_differs_is_refused_whole(old, new, error, message):
    text = FIXTURE.read_text(encoding="utf-8")
    assert old in text
    with pytest.raises(error, match=message):
        person(text.replace(old, new, 1))


def test_recorded_people_pages_give_each_member_page_link():
    for city, count in (("chicago", 52), ("metro", 15), ("nyc", 51)):
        page = lw.parse_people(lw.parse_html((SAMPLES / city / "people.html").read_text(encoding="utf-8")))
        ids = {m.source_id for m in page.members}
        assert None not in ids and set(page.guids) == ids and len(ids) == count, city
    assert lw.person_url("https://x.legistar.com", "144854", "A9BD23D4-976A-403C-BAD7-292437C106C1") == (
        "https://x.legistar.com/PersonDetail.aspx?ID=144854&GUID=A9BD23D4-976A-403C-BAD7-292437C106C1"
    )


# -- crawls --------------------------------------------------------------------------------------------------

# two of the 15 people of the recorded Metro people page, given memberships by the loopback site
NAJARIAN, GARCETTI = "144854", "144844"
BOARD = ("Board of Directors - Regular Board Meeting", "Director", date(2017, 7, 1), date(2021, 6, 30))
PLANNING = ("Planning and Programming Committee", "Chair", date(2018, 1, 1), None)


def site(today: date) -> InsiteServer:
    return InsiteServer(
        bills(today), today=today, meetings=meetings(today), people="metro", persons=persons()
    )


def persons() -> dict[str, list[tuple[str, str | None, date | None, date | None]]]:
    return {NAJARIAN: [BOARD, PLANNING], GARCETTI: [BOARD]}


def stored_terms(engine) -> dict[str, set[tuple[str, str | None, date | None, date | None]]]:
    with session_scope(engine) as s:
        members = s.scalars(select(Member).options(selectinload(Member.terms))).all()
        return {
            m.source_id or m.name: {(t.body_name, t.title, t.start, t.end) for t in m.terms}
            for m in members
            if m.terms
        }


def person_hits(server, since: int) -> Counter:
    return Counter(h.query.get("ID", [""])[0] for h in server.hits[since:] if h.path == "/PersonDetail.aspx")


@BOTH_ENGINES
def test_terms_are_read_on_full_crawls_and_sweeps_only_and_shown_on_the_member_page(
    tmp_path,
    db_url,
    engine,
    client,  # noqa: F811 (the web tests' fixtures, imported above)
    login,  # noqa: F811
):
    today = local_today(ZONE)
    server = site(today)
    with server:
        cfg = config(tmp_path, server, db_url, meetings=True, calendar=False)
        first = crawl(cfg)
        first_hits = person_hits(server, 0)
        after_first = stored_terms(engine)

        before = len(server.hits)
        second = crawl(cfg)
        second_hits = person_hits(server, before)

        # the portal moves Garcetti to the committee and ends his board seat: the sweep reads each page once
        server.persons[GARCETTI] = [(*BOARD[:3], date(2019, 6, 30)), PLANNING]
        before = len(server.hits)
        third = crawl(cfg, "--sweep")
        third_hits = person_hits(server, before)

    assert first.returncode == 0, first.stdout + first.stderr
    assert first.stdout.startswith("chicago: succeeded (full)"), first.stdout
    # one page per person the people page lists, each once
    assert len(first_hits) == 15 and set(first_hits.values()) == {1}
    assert after_first == {NAJARIAN: {BOARD, PLANNING}, GARCETTI: {BOARD}}
    assert second.returncode == 0, second.stdout + second.stderr
    assert second.stdout.startswith("chicago: succeeded (incremental)"), second.stdout
    assert second_hits == Counter()  # an incremental crawl reads no member page
    assert third.returncode == 0, third.stdout + third.stderr
    assert third.stdout.startswith("chicago: succeeded (sweep)"), third.stdout
    assert sum(third_hits.values()) == 15 and set(third_hits.values()) == {1}
    assert stored_terms(engine) == {
        NAJARIAN: {BOARD, PLANNING},
        GARCETTI: {(*BOARD[:3], date(2019, 6, 30)), PLANNING},
    }

    with session_scope(engine) as s:
        member_id = s.scalar(select(Member.id).where(Member.source_id == NAJARIAN))
        assert s.scalar(select(Member.name).where(Member.id == member_id)) == "Ara Najarian"
    login(client, "staff")
    page = client.get(f"/members/{member_id}")
    assert page.status_code == 200
    text = page.text
    start = text.index("<h2>Bodies and terms</h2>")
    terms = text[start : text.index("</table>", start)]
    assert "Board of Directors - Regular Board Meeting" in terms and "Director" in terms
    assert "2017-07-01" in terms and "2021-06-30" in terms
    assert "Planning and Programming Committee" in terms and "Chair" in terms and "2018-01-01" in terms
    # the committee seat has no end: it is current; the board seat ended
    assert '<tr class="current">' in terms


MEMBER_FAULTS = ("garbage", "layout", "other", "date", "error", "empty")


# Every fault on SQLite; on PostgreSQL one of them (the fault is read before anything is stored; the engine's
# part, keeping one member's terms while the other's change, is the same for each).
@pytest.mark.parametrize(
    ("db_url", "fault"),
    [*(("sqlite", f) for f in MEMBER_FAULTS), ("postgresql", "date")],
    indirect=["db_url"],
)
def test_a_broken_member_page_warns_and_keeps_the_stored_terms(tmp_path, db_url, engine, fault):
    today = local_today(ZONE)
    server = site(today)
    with server:
        cfg = config(tmp_path, server, db_url, meetings=True, calendar=False)
        assert crawl(cfg).returncode == 0
        before = stored_terms(engine)
        # the portal changes both members; Najarian's page breaks
        server.persons[NAJARIAN] = [BOARD]
        server.persons[GARCETTI] = [PLANNING]
        server.faults[f"person:{NAJARIAN}"] = fault
        result = crawl(cfg, "--sweep")
    assert before == {NAJARIAN: {BOARD, PLANNING}, GARCETTI: {BOARD}}
    assert result.returncode == 1, result.stdout  # partial
    (line,) = result.stdout.splitlines()
    assert line.startswith("chicago: partial (sweep) - "), line
    assert f"warning: chicago: member {NAJARIAN}'s bodies and terms not read: " in line
    # the broken page stores nothing; the other member's change is stored
    assert stored_terms(engine) == {NAJARIAN: {BOARD, PLANNING}, GARCETTI: {PLANNING}}


def test_a_member_whose_page_breaks_on_the_first_crawl_is_stored_by_name(tmp_path, db_url, engine):
    today = local_today(ZONE)
    server = site(today)
    with server:
        server.faults[f"person:{NAJARIAN}"] = "garbage"
        result = crawl(config(tmp_path, server, db_url, meetings=True, calendar=False))
    assert result.returncode == 1, result.stdout
    assert stored_terms(engine) == {GARCETTI: {BOARD}}
    with session_scope(engine) as s:
        najarian = s.scalar(select(Member).where(Member.source_id == NAJARIAN))
        assert najarian is not None and najarian.name == "Ara Najarian"
        # the 15 people of the page and the roll call's 3 voters
        assert len(s.scalars(select(Member.id)).all()) == 18
