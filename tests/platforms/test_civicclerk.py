"""CivicClerk: the real recorded events parsed, and real crawls (the `tracker` command in a child process)
of a loopback OData API serving the 16 recorded South Fulton events (paged, filtered) with agendas written
for the tests (tests/platforms/civicclerk_server.py), on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from crawler.spiders.civicclerk import events_url
from db.engine import session_scope
from db.models import Action, Attachment, Bill, CrawlRun, StatusChange
from tests.clock import LocalDay, local_today
from tests.conftest import run_tracker, write_config
from tests.platforms.civicclerk_server import (
    ALPR,
    DISCUSSION,
    MEETING_781,
    PUBLIC_COMMENT,
    item,
    regular,
    sample_events,
    south_fulton_api,
)
from tests.platforms.conftest import BOTH_ENGINES
from tracker.demo.primegov_portal import ERROR_PAGE, HTML_TYPE, JSON_TYPE, AppServer
from tracker.errors import DataError, LayoutChanged
from tracker.platforms.agenda import item_key
from tracker.platforms.civicclerk import parse_agenda, parse_event

FAST = {"retries": 1, "backoff_base": 0, "backoff_max": 0, "download_timeout": 5}
TZ = "America/New_York"


# the window reaches back to the first recorded event (2026-04-15), counted from the portal's local date
LOOKBACK = (local_today(TZ) - date(2026, 4, 1)).days


def served(api):
    server = AppServer(api)
    api.base_url = server.base_url
    return server


def config(tmp_path, db_url, server, **extra):
    entry = {
        "slug": "south-fulton",
        "name": "South Fulton City Council",
        "platform": "civicclerk",
        "tenant": "southfultonga",
        "api_base": server.base_url,
        "portal_base": "https://southfultonga.portal.civicclerk.com",
        "timezone": TZ,
        "lookback_days": LOOKBACK,
        "category_ids": [26],
        **extra,
    }
    path = write_config(tmp_path / "t.toml", [entry], database_url=db_url, crawl=FAST)
    # tests.conftest.write_config quotes lists: category_ids is a TOML array of numbers
    path.write_text(re.sub(r'= "(\[[0-9, ]*\])"', r"= \1", path.read_text()))
    return path


def crawl(cfg):
    return run_tracker("--config", str(cfg), "crawl")


def stored(engine) -> dict[str, Bill]:
    with session_scope(engine) as s:
        rows = s.scalars(select(Bill)).all()
        for b in rows:
            s.expunge(b)
    return {b.source_id: b for b in rows}


def actions(engine, source_id):
    with session_scope(engine) as s:
        return [
            (
                a.source_id,
                a.action_date.isoformat(),
                a.acted_at,
                a.description,
                a.body_name,
                a.result,
                a.tally,
            )
            for a in s.scalars(
                select(Action).join(Bill).where(Bill.source_id == source_id).order_by(Action.sequence)
            )
        ]


# -- the recorded events and the agenda shape --------------------------------------------------------------


def test_recorded_events_parse_with_local_times():
    events = [parse_event(row) for row in sample_events()]
    assert len(events) == 16
    assert [e.id for e in events] == list(range(1744, 1760))
    assert [e.agenda_id for e in events] == list(range(778, 794))
    assert {e.category_id for e in events} == {26}
    first = events[0]
    # "2026-04-15T17:00:00Z" is 5 pm in South Fulton, not UTC: the Z is dropped
    assert (first.name, first.start) == (
        "Alcohol License and Zoning Public Hearings",
        datetime(2026, 4, 15, 17),
    )
    assert sorted({e.name for e in events}) == [
        "Alcohol License and Zoning Public Hearings",
        "City Council Regular Meeting",
        "City Council Work Session",
    ]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"id": "1744"}, "an event: missing or invalid id ('1744')"),
        (
            {"startDateTime": "04/15/2026 5:00 PM"},
            "event 1744: startDateTime: malformed time '04/15/2026 5:00 PM'",
        ),
        ({"startDateTime": "2026-02-30T17:00:00Z"}, "event 1744: startDateTime: malformed time"),
        ({"hasAgenda": "yes"}, "event 1744: missing or invalid hasAgenda ('yes')"),
        ({"agendaId": 0}, "event 1744: hasAgenda without an agendaId (0)"),
    ],
)
def test_malformed_events_are_named(change, message):
    with pytest.raises(DataError) as exc:
        parse_event({**sample_events()[0], **change})
    assert message in str(exc.value)


def test_agenda_items_flattened_with_numbers_and_motions():
    items, problems = parse_agenda(json.loads(MEETING_781.read_bytes()), 781)
    assert problems == []
    assert [(i.id, i.outline, i.number, i.type_name) for i in items] == [
        (21502, "1.A", None, None),
        (21511, "2.A", "2026-R-041", "Resolution"),
        (21521, "3.A", "2026-O-007", "Ordinance"),
        (21531, "4.A", "2026-O-012", "Ordinance"),
        (21532, "4.A.1", None, None),  # nested under an item, not a section: an item of its own
        (21541, "5.A", None, None),
    ]  # sections (isSection 1) are not items; the empty row 4.B is skipped
    iga, welcoming = items[1], items[2]
    assert iga.title == (
        "A Resolution Approving an Intergovernmental Agreement with Fulton County for Emergency Medical "
        "Services"
    )
    assert (iga.outcome, iga.result, iga.tally, iga.attachments) == (
        "Approve", "Pass", "6-0-0", [("9101", "IGA Fulton County EMS.pdf", 9101)]
    )  # the unpublished draft is not listed  # fmt: skip
    assert welcoming.title == (
        "An Ordinance to Limit the Use of City Resources for Federal Civil Immigration Enforcement "
        "(Welcoming City Ordinance) \u2013 Second Reading"
    )
    assert (welcoming.outcome, welcoming.result, welcoming.tally) == (
        "Motion to adopt as amended (failed)", "Fail", "3-3-1"
    )  # fmt: skip
    assert (
        welcoming.text == "Motion to amend Section 3: passed 4-3-0; Motion to adopt as amended: failed 3-3-1"
    )
    assert items[3].outcome is None and items[5].title == PUBLIC_COMMENT


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({"id": 781, "agendaItems": []}, "expected an agenda object with an items list"),
        ({"id": 782, "items": []}, "the agenda answered for agenda 781 is agenda 782"),
        ({"id": 781, "items": [{"id": 1, "isSection": 2}]}, "agenda item 1: unknown isSection 2"),
        ({"id": 781, "items": [{"id": 1, "isSection": 1, "childItems": {}}]}, "childItems is not a list"),
    ],
)
def test_an_agenda_in_another_shape_is_a_layout_error(doc, message):
    with pytest.raises(LayoutChanged, match=re.escape(message)):
        parse_agenda(doc, 781)


def test_a_bad_motion_is_a_named_problem_of_its_item():
    doc = {"id": 781, "items": [item(5, "A Resolution", resolution="R-1", votes=[("Approve", 2, 1, 0, 0)]),
                                item(6, "Another")]}  # fmt: skip
    items, problems = parse_agenda(doc, 781)
    assert [i.id for i in items] == [6]
    assert problems == ["agenda 781: agenda item 5: unknown passFail 2 (1 passed, 0 failed)"]


def test_events_query():
    url = events_url("https://x.api.civicclerk.com", date(2026, 4, 1), date(2026, 12, 31), [26, 27])
    query = parse_qs(urlsplit(url).query)
    assert query == {
        "$filter": ["startDateTime ge 2026-04-01 and startDateTime lt 2027-01-01 and categoryId in (26,27)"],
        "$orderby": ["startDateTime asc, id asc"],
    }


# -- crawls ------------------------------------------------------------------------------------------------


def test_crawl_follows_next_link_and_groups_items_into_bills(tmp_path, db_url, engine):
    api = south_fulton_api()
    day = LocalDay(TZ)  # the crawler counts its window in the jurisdiction's local days
    with served(api) as server:
        result = crawl(config(tmp_path, db_url, server))
    assert result.returncode == 0, result.stderr
    assert result.stdout == (
        "south-fulton: succeeded (full) - 15 bills seen, 15 new, 0 changed, 0 status changes, 0 vanished, "
        "0 errors, 18 requests\n"
    )
    events = [(p, q) for p, q in server.requests if p == "/v1/Events"]
    assert len(events) == 2  # 16 events, 10 a page: the nextLink is followed
    (first_filter,) = events[0][1]["$filter"]
    # its window starts LOOKBACK days before its local date (either one if the crawl straddled midnight)
    starts = day.expect(lambda today: f"startDateTime ge {today - timedelta(days=LOOKBACK)}")
    assert any(first_filter.startswith(start) for start in starts), first_filter
    assert first_filter.endswith("and categoryId in (26)")
    assert "$skip" not in events[0][1] and events[1][1]["$skip"] == ["10"]
    assert sorted(p for p, _ in server.requests if p.startswith("/v1/Meetings/")) == [
        f"/v1/Meetings/{n}" for n in range(778, 794)
    ]

    bills = stored(engine)
    comment, discussion = item_key(None, PUBLIC_COMMENT, None), item_key(None, DISCUSSION, None)
    assert len(bills) == 15
    assert {sid: (b.status, b.stage) for sid, b in bills.items() if not sid.startswith("item:")} == {
        "2026-R-041": ("Approve", "enacted"),
        "2026-O-007": ("Motion to adopt as amended (failed)", "failed"),
        "2026-O-012": ("On agenda", "introduced"),
        "2026-R-050": ("Approve", "enacted"),
        "2026-R-077": ("Approve", "enacted"),
        **{f"2026-R-{n}": ("Approve", "enacted") for n in (778, 780, 784, 787, 792, 793)},
    }
    welcoming = bills["2026-O-007"]
    assert (welcoming.identifier, welcoming.type_name, welcoming.body_name, welcoming.agenda_date) == (
        "2026-O-007", "Ordinance", "City Council Regular Meeting", date(2026, 4, 28)
    )  # fmt: skip
    assert welcoming.public_url == "https://southfultonga.portal.civicclerk.com/event/1747/files#item-21521"
    assert welcoming.source_url == f"{server.base_url}/v1/Meetings/781"
    assert actions(engine, "2026-O-007") == [
        ("1745:77903", "2026-04-28", datetime(2026, 4, 28, 20, 0, tzinfo=UTC), "On agenda",
         "City Council Work Session", None, None),
        ("1747:21521", "2026-04-28", datetime(2026, 4, 28, 23, 0, tzinfo=UTC),
         "Motion to adopt as amended (failed)",
         "City Council Regular Meeting", "Fail", "3-3-1"),
    ]  # fmt: skip
    assert [a[0] for a in actions(engine, comment)] == [
        "1747:21541", "1749:78399", "1752:78699", "1754:78899", "1755:78999"
    ]  # fmt: skip
    assert len(actions(engine, discussion)) == 5
    assert bills[comment].identifier is None and bills[comment].title == PUBLIC_COMMENT
    with session_scope(engine) as s:
        urls = s.scalars(select(Attachment.url).join(Bill).where(Bill.source_id == "2026-R-041")).all()
        assert s.scalars(select(StatusChange.kind)).all() == ["first_seen"] * 15
    assert urls == ["https://southfultonga.portal.civicclerk.com/event/1747/files/attachment/9101"]


@BOTH_ENGINES
def test_outcome_change_and_stable_keys_across_two_crawls(tmp_path, db_url, engine):
    api = south_fulton_api()
    with served(api) as server:
        cfg = config(tmp_path, db_url, server)
        assert crawl(cfg).returncode == 0
        before = stored(engine)
        # the minutes of 05-26 are published (2026-O-012 adopted) and a meeting is added, with Public Comment
        api.agendas.update(south_fulton_api(alpr_adopted=True).agendas)
        api.events.append(
            {**api.events[-1], "id": 1760, "agendaId": 794, "eventName": "City Council Regular Meeting",
             "startDateTime": "2026-08-11T19:00:00Z", "eventDate": "2026-08-11T19:00:00Z"}
        )  # fmt: skip
        api.agendas[794] = regular(794, 1760)
        second = crawl(cfg)
        third = crawl(cfg)
    assert second.returncode == 0, second.stderr
    assert "15 bills seen, 0 new, 2 changed, 1 status changes" in second.stdout
    assert "15 bills seen, 0 new, 0 changed, 0 status changes" in third.stdout
    after = stored(engine)
    comment = item_key(None, PUBLIC_COMMENT, None)
    assert after[comment].id == before[comment].id
    assert [a[0] for a in actions(engine, comment)][-1] == "1760:79499"
    assert len(actions(engine, comment)) == 6
    assert [sid for sid in after if sid.startswith("item:")] == [
        sid for sid in before if sid.startswith("item:")
    ]
    with session_scope(engine) as s:
        (event,) = s.scalars(select(StatusChange).where(StatusChange.kind == "changed")).all()
        assert (event.bill.source_id, event.old_status, event.new_status, event.new_stage) == (
            "2026-O-012", "On agenda", "Adopt", "enacted"
        )  # fmt: skip
        assert (event.action.source_id, event.action.result, event.action.tally) == (
            "1752:78602",
            "Pass",
            "6-1-0",
        )
    assert after["2026-O-012"].title == f"{ALPR} - Second Reading"


@pytest.mark.parametrize(
    ("path", "answer", "reason"),
    [
        ("/v1/Events", (200, HTML_TYPE, ERROR_PAGE),
         "expected JSON, got an HTML page from {base}/v1/Events?"),
        ("/v1/Meetings/783", (200, JSON_TYPE, b'{"id": 783, "agendaItems": []}'),
         "expected an agenda object with an items list at {base}/v1/Meetings/783"),
    ],
    ids=["html200", "layout"],
)  # fmt: skip
def test_error_page_garbage_or_layout_change_fails_and_imports_nothing(
    tmp_path, db_url, engine, path, answer, reason
):
    api = south_fulton_api()
    api.faults[path] = answer
    with served(api) as server:
        result = crawl(config(tmp_path, db_url, server))
    assert result.returncode == 1
    (line,) = result.stdout.splitlines()
    assert line.startswith("south-fulton: failed (full) - 0 bills seen, 0 new")
    assert reason.format(base=server.base_url) in line
    assert "Traceback" not in result.stderr
    assert stored(engine) == {}
    with session_scope(engine) as s:
        assert s.scalars(select(CrawlRun.status)).all() == ["failed"]


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        ((200, HTML_TYPE, ERROR_PAGE),
         "expected JSON, got an HTML page from {url} (gave up after 2 attempts)"),
        ((200, JSON_TYPE, b'{"id": 783, "items": [{"id": 1, "isSec'),
         "invalid or truncated JSON (Unterminated string starting at) from {url} (gave up after 2 attempts)"),
        ((404, JSON_TYPE, b'{"error": {"message": "Not found"}}'), "HTTP 404 from {url}"),
    ],
    ids=["html200", "truncated", "404"],
)  # fmt: skip
def test_one_agenda_error_page_or_garbage_fails_only_itself(tmp_path, db_url, engine, answer, reason):
    """One agenda answering an error page, garbage or an error for good failed the whole city's crawl
    (until 2026-12-07); that meeting is now rejected by name and the bills seen after it are imported
    (tests/platforms/test_agenda_one_bad.py has the rest of the story)."""
    api = south_fulton_api()
    api.faults["/v1/Meetings/783"] = answer
    with served(api) as server:
        result = crawl(config(tmp_path, db_url, server))
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    (line,) = result.stdout.splitlines()
    assert line.startswith("south-fulton: partial (full) - 7 bills seen, 7 new, "), line
    url = f"{server.base_url}/v1/Meetings/783"
    first = "first: south-fulton: meeting 1749 not read: " + reason.format(url=url)
    assert line.endswith(f" - 1 records rejected, {first}"), line
    bills = stored(engine)
    assert "2026-R-050" not in bills and "2026-R-077" in bills  # 783's own, and one seen after it
    with session_scope(engine) as s:
        assert s.scalars(select(CrawlRun.status)).all() == ["partial"]


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_next_link_off_the_api_host_fails_the_crawl(tmp_path, db_url, engine):
    api = south_fulton_api()
    api.base_url = "https://evil.example"  # the API's nextLinks now point elsewhere
    with AppServer(api) as server:
        result = crawl(config(tmp_path, db_url, server))
    assert result.returncode == 1
    assert "@odata.nextLink leaves the API host: 'https://evil.example/v1/Events?" in result.stdout
    assert [p for p, _ in server.requests] == ["/v1/Events"]  # nothing else is read
    assert stored(engine) == {}


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_bad_record_is_rejected_by_name_and_the_rest_imported(tmp_path, db_url, engine):
    api = south_fulton_api()
    api.events[3] = {**api.events[3], "startDateTime": "2026-04-28 7:00 PM"}  # event 1747
    api.agendas[783] = regular(783, 1749, item(78302, "A Resolution", resolution="2026-R-050",
                                               votes=[("Approve", "yes", 1, 0, 0)]))  # fmt: skip
    with served(api) as server:
        result = crawl(config(tmp_path, db_url, server))
    assert result.returncode == 1
    (line,) = result.stdout.splitlines()
    assert line.startswith(
        "south-fulton: partial (full) - 11 bills seen, 11 new, 0 changed, 0 status changes, 0 vanished, "
        "2 errors"
    )
    first = "first: south-fulton: event 1747: startDateTime: malformed time '2026-04-28 7:00 PM'"
    assert f"2 records rejected, {first}" in line
    bills = stored(engine)
    assert "2026-R-050" not in bills and "2026-R-041" not in bills  # 781 (event 1747) is not read
    assert "2026-O-007" in bills  # still seen at the work session
