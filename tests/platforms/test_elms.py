"""The Chicago eLMS platform: the list envelope of the recorded answer, track-by-link URLs, and real crawls
(the `tracker` command in a child process) of the loopback eLMS server (tests/platforms/elms_server.py) on
SQLite and PostgreSQL: full crawls, paging past the offset limit, incremental crawls and sweeps, failures."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, timedelta
from urllib.request import urlopen
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from crawler.spiders.elms import incremental_filter
from db.engine import session_scope
from db.models import Action, Attachment, Bill, BillSource, CrawlRun, Sponsor, StatusChange
from tests.clock import utc_now
from tests.conftest import run_tracker, write_config
from tests.platforms.conftest import BOTH_ENGINES
from tests.platforms.elms_server import CRAWL, ElmsServer, elms_entry
from tests.portal import store_fingerprint
from tracker.config import load_config
from tracker.errors import ConfigError, PortalError
from tracker.platforms import LinkTarget
from tracker.platforms import parse_url as any_platform
from tracker.platforms.elms import parse_envelope, parse_url, parse_when

O2024 = "3A1F6C2E-9B4D-EE11-8F6A-001DD8098532"  # O2024-0008841, In Committee
R2024 = "D4E8B9A0-2C5E-EE11-8F6A-001DD8098532"  # R2024-0009120, Adopted, with votes
OR2024 = "71C3D2E5-6F8A-EE11-8F6A-001DD8098532"  # Or2024-0010033, Passed
O2022 = "E2B7C8D9-1A3B-ED11-82E3-001DD80698CB"  # O2022-1001, carried over from Legistar
R2022 = "A9F0E1D2-4C5B-ED11-82E3-001DD80698CB"  # R2022-1002
O2023 = "5D6E7F80-91A2-EE11-8F6A-001DD8098532"  # O2023-0000412, legacyRecordNumber O2022-1003
CHICAGO = ZoneInfo("America/Chicago")


@pytest.fixture
def server():
    with ElmsServer() as s:
        yield s


def crawl(cfg, *args):
    return run_tracker("--config", str(cfg), "crawl", *args)


def config(tmp_path, server, db_url, name="t.toml", crawl_settings=None, **extra):
    return write_config(
        tmp_path / name,
        [elms_entry(server, **extra)],
        database_url=db_url,
        crawl={**CRAWL, **(crawl_settings or {})},
    )


def line_of(result) -> str:
    (line,) = [x for x in result.stdout.splitlines() if x.startswith("chicago:")]
    return line


def runs(engine) -> list[CrawlRun]:
    with session_scope(engine) as s:
        return list(s.scalars(select(CrawlRun).order_by(CrawlRun.id)))


# -- the recorded answer and the parsers ------------------------------------------------------------


def test_envelope_of_the_recorded_meeting_list(server):
    with urlopen(f"{server.base_url}/meeting", timeout=5) as answer:
        doc = json.load(answer)
    page = parse_envelope(doc)
    assert (len(page.rows), page.skip, page.top, page.count, page.pages) == (99, 0, 100, 2809, 29)
    assert [f["name"] for f in page.facets] == ["status", "body"]
    assert len({row["meetingId"] for row in page.rows}) == 99
    first = page.rows[0]
    assert first["meetingId"] == "05889499-4C56-EE11-BE6E-001DD8098532"
    # a 10:00 Chicago committee meeting, written in UTC with an offset
    assert parse_when(first["date"], "meeting date", CHICAGO) == (
        date(2023, 10, 12),
        datetime(2023, 10, 12, 15, 0, tzinfo=UTC),
    )


@pytest.mark.parametrize(
    ("doc", "problem"),
    [
        ([], "expected the list envelope, got list"),
        ({"data": []}, "the list envelope has no 'meta'"),
        ({"items": [], "total": 0}, "the list envelope has no 'data' or 'meta'"),
        ({"data": {}, "meta": {}}, "'data' is not a list of objects"),
        ({"data": [1], "meta": {}}, "'data' is not a list of objects"),
        ({"data": [], "meta": {"skip": 0, "top": 100, "count": "12", "pages": 1}}, "meta.count is '12'"),
        ({"data": [], "meta": {"skip": 0, "top": 100, "count": True, "pages": 1}}, "meta.count is True"),
        (
            {"data": [{}, {}], "meta": {"skip": 0, "top": 1, "count": 2, "pages": 2}},
            "2 rows on a page of top 1",
        ),
        ({"facets": {}, "data": [], "meta": {}}, "'facets' is not a list of {name, values}"),
    ],
)
def test_envelope_that_changed_is_an_error(doc, problem):
    with pytest.raises(PortalError) as err:
        parse_envelope(doc)
    assert str(err.value).startswith(problem)


def test_parse_url_reads_public_matter_pages():
    real = "https://chicityclerkelms.chicago.gov/Matter/?matterId=9C4E9A49-E10D-ED11-82E3-001DD80698CB"
    assert parse_url(real) == LinkTarget(
        "elms", "chicityclerkelms.chicago.gov", "9C4E9A49-E10D-ED11-82E3-001DD80698CB", real
    )
    assert any_platform(real) == [parse_url(real)]
    lower = "https://ChiCityClerkElms.chicago.gov/matter?matterId=9c4e9a49-e10d-ed11-82e3-001dd80698cb"
    assert parse_url(lower).source_id == "9C4E9A49-E10D-ED11-82E3-001DD80698CB"
    assert parse_url(lower).host == "chicityclerkelms.chicago.gov"
    for other in (
        "https://chicityclerkelms.chicago.gov/Meeting/?meetingId=05889499-4C56-EE11-BE6E-001DD8098532",
        "https://chicityclerkelms.chicago.gov/Matter/?matterId=",
        "https://chicityclerkelms.chicago.gov/Matter/?matterId=a&matterId=b",
        "https://chicityclerkelms.chicago.gov/Matter/?matterId=..%2F..%2Fperson",
        "ftp://chicityclerkelms.chicago.gov/Matter/?matterId=9C4E9A49-E10D-ED11-82E3-001DD80698CB",
        "https://chicago.legistar.com/LegislationDetail.aspx?ID=38769",
    ):
        assert parse_url(other) is None, other


def test_settings_are_checked_in_one_line(tmp_path):
    entry = {"slug": "chicago", "name": "Chicago", "platform": "elms"}
    cases = [
        (
            {"page_size": 0},
            "jurisdictions[0] (slug 'chicago').page_size: Input should be greater than or equal to 1",
        ),
        (
            {"max_offset": 0},
            "jurisdictions[0] (slug 'chicago').max_offset: Input should be greater than or equal",
        ),
        ({"client": "chicago"}, "jurisdictions[0] (slug 'chicago'): unknown key 'client'"),
        ({"api_base": "ftp://x"}, "jurisdictions[0] (slug 'chicago').api_base: must be an http(s) URL"),
    ]
    for extra, message in cases:
        path = write_config(tmp_path / "t.toml", [{**entry, **extra}])
        with pytest.raises(ConfigError) as err:
            load_config(path)
        assert str(err.value).startswith(f"{path}: {message}"), str(err.value)
    defaults = load_config(write_config(tmp_path / "ok.toml", [entry])).jurisdiction("chicago")
    assert (defaults.api_base, defaults.web_base, defaults.page_size, defaults.max_offset) == (
        "https://api.chicityclerkelms.chicago.gov",
        "https://chicityclerkelms.chicago.gov",
        100,
        100_000,
    )
    assert defaults.source_key == "elms:api.chicityclerkelms.chicago.gov"


# -- crawls ------------------------------------------------------------------------------------------


def test_full_crawl_stores_matters_with_actions_sponsors_and_attachments(tmp_path, db_url, engine, server):
    cfg = config(tmp_path, server, db_url, page_size=2)
    result = crawl(cfg)
    assert result.returncode == 0, result.stderr
    assert line_of(result) == (
        "chicago: succeeded (full) - 6 bills seen, 6 new, 0 changed, 0 status changes, 0 vanished, "
        "0 errors, 10 requests"
    )
    # three pages of two by meta.count, then one detail per matter, nothing twice (and the meetings listing)
    assert server.list_requests() == [
        {"sort": ["recordCreateDate asc"], "top": ["2"], "skip": [str(skip)]} for skip in (0, 2, 4)
    ]
    assert sorted(server.detail_requests()) == sorted([O2024, R2024, OR2024, O2022, R2022, O2023])
    with session_scope(engine) as s:
        assert s.scalar(select(func.count()).select_from(Bill)) == 6
        assert s.scalar(select(func.count()).select_from(Action)) == 16  # workflow steps left out
        assert s.scalar(select(func.count()).select_from(Sponsor)) == 9
        assert s.scalar(select(func.count()).select_from(Attachment)) == 4
        bills = {b.source_id: b for b in s.scalars(select(Bill))}
        assert {b.identifier: (b.status, b.stage) for b in bills.values()} == {
            "O2024-0008841": ("In Committee", "in_committee"),
            "R2024-0009120": ("Adopted", "enacted"),
            "Or2024-0010033": ("Passed", "passed"),
            "O2022-1001": ("Passed", "passed"),
            "R2022-1002": ("Adopted", "enacted"),  # the record number's trailing space is not kept
            "O2023-0000412": ("In Committee", "in_committee"),
        }

        r = bills[R2024]
        assert (r.type_name, r.body_name, r.introduced) == (
            "Resolution",
            "Committee on Public Safety",
            date(2024, 3, 13),
        )
        assert r.title.startswith("Call for hearing(s) on Chicago Police Department sharing of gang database")
        assert r.public_url == f"https://chicityclerkelms.chicago.gov/Matter/?matterId={R2024}"
        assert r.source_url == f"{server.base_url}/matter/{R2024}"
        assert r.portal_row_version == "2024-04-17T22:41:03.5+00:00"
        assert r.portal_modified_at == datetime(2024, 4, 17, 22, 41, 3, 500000, tzinfo=UTC)
        assert r.attachments_fetched_at is not None
        assert [
            (a.description, a.body_name, a.action_date, a.acted_at, a.tally, a.classification)
            for a in r.actions
        ] == [
            (
                "Introduced",
                "City Council",
                date(2024, 3, 13),
                datetime(2024, 3, 13, 15, tzinfo=UTC),
                None,
                "introduction",
            ),
            (
                "Referred",
                "City Council",
                date(2024, 3, 13),
                datetime(2024, 3, 13, 15, tzinfo=UTC),
                None,
                "referral",
            ),
            (
                "Recommended to Pass",
                "Committee on Public Safety",
                date(2024, 4, 9),
                datetime(2024, 4, 9, 15, tzinfo=UTC),
                "Yea 3, Nay 1",
                "committee_passage",
            ),
            (
                "Adopted",
                "City Council",
                date(2024, 4, 17),
                datetime(2024, 4, 17, 15, tzinfo=UTC),
                "Yea 5, Nay 2, Absent 1",
                "adoption",
            ),
        ]
        assert r.actions[1].text == "Referred to Committee on Public Safety"
        assert r.actions[3].event_source_id == "C07A5E11-04F7-EE11-A85E-001DD8098532"  # the meeting
        assert [v["voterName"] for v in r.actions[3].raw["votes"] if v["vote"] == "Nay"] == [
            "Kowalski, Peter",
            "Murphy, Sean",
        ]
        assert [(sp.name, sp.is_primary) for sp in r.sponsors] == [
            ("Reyes, Jr., Luis", True),
            ("Washington, Denise", False),
        ]
        assert [(a.name, a.url.rsplit("/", 1)[1]) for a in r.attachments] == [
            ("R2024-0009120.pdf", "0a9d3c44-7e21-4b8f-b5d2-91c7e3f4a5b6.pdf"),
            ("Committee Report R2024-0009120.pdf", "5e7f8a90-1b2c-4d3e-8f9a-0b1c2d3e4f50.pdf"),
        ]
        (event,) = r.status_changes
        assert (event.seq, event.kind, event.new_status, event.action.description) == (
            1,
            "first_seen",
            "Adopted",
            "Adopted",
        )

        o = bills[O2024]
        assert [a.description for a in o.actions] == ["Introduced", "Referred"]  # not Create, Post to Public
        assert [(sp.name, sp.is_primary) for sp in o.sponsors] == [
            ("Alvarez, Marisol", True),  # the Filing Sponsor
            ("Okafor, Daniela", False),  # CoSponsor
            ("Brennan, Kathleen", False),  # sponsorType ""
        ]
        assert bills[O2023].raw["legacyRecordNumber"] == "O2022-1003"
        assert bills[O2022].introduced == date(2022, 6, 22)
        assert s.scalar(select(func.count()).select_from(StatusChange)) == 6
        sources = s.execute(select(BillSource.source_key, BillSource.source_id, BillSource.public_url)).all()
        assert sorted(sources) == sorted(
            ("elms:127.0.0.1", mid, f"https://chicityclerkelms.chicago.gov/Matter/?matterId={mid}")
            for mid in bills
        )


def test_paging_past_the_offset_limit_restarts_from_a_cursor(tmp_path, db_url, engine):
    with ElmsServer(max_offset=2) as server:  # the server refuses skip > 2, as the API refuses > 100000
        cfg = config(tmp_path, server, db_url, page_size=2, max_offset=2)
        result = crawl(cfg)
        assert result.returncode == 0, result.stderr
        assert line_of(result).startswith("chicago: succeeded (full) - 6 bills seen, 6 new, 0 changed")
        stamp = "2024-03-08T16:22:41.447+00:00"  # recordCreateDate of the last row before the limit
        after = f"recordCreateDate gt {stamp} or recordCreateDate eq {stamp}"
        base = {"sort": ["recordCreateDate asc"], "top": ["2"]}
        assert server.list_requests() == [
            {**base, "skip": ["0"]},
            {**base, "skip": ["2"]},
            {"filter": [after], **base, "skip": ["0"]},  # the boundary row is listed again, not fetched again
            {"filter": [after], **base, "skip": ["2"]},
        ]
        assert sorted(server.detail_requests()) == sorted([O2024, R2024, OR2024, O2022, R2022, O2023])
        with session_scope(engine) as s:
            assert s.scalar(select(func.count()).select_from(Bill)) == 6

        # More matters than the offset limit share one sort value: the crawl cannot page past them, says so.
        fingerprint = store_fingerprint(engine)
        for mid in list(server.matters):
            server.update(mid, recordCreateDate="2024-01-01T00:00:00+00:00")
        stuck = crawl(cfg, "--full")
        assert stuck.returncode == 1
        assert re.fullmatch(
            r"chicago: failed \(full\) - 0 bills seen, 0 new, 0 changed, 0 status changes, 0 vanished, "
            r"1 errors, "
            r"\d+ requests - chicago: more than 2 matters share recordCreateDate 2024-01-01T00:00:00\+00:00; "
            r"cannot page past them \(http://127\.0\.0\.1:\d+/matter\?filter=.*&skip=2\)",
            line_of(stuck),
        ), line_of(stuck)
        assert store_fingerprint(engine) == fingerprint


@BOTH_ENGINES
def test_incremental_crawl_and_sweep_record_each_change_once(tmp_path, db_url, engine, server):
    cfg = config(tmp_path, server, db_url)
    first = crawl(cfg)
    assert first.returncode == 0, first.stderr
    assert line_of(first).endswith(", 0 errors, 8 requests")  # one page of 100, six details, the meetings

    # Track a quiet matter by its public link (lower case, as people paste it): fetched now, and by every
    # incremental crawl from then on, whatever its dates.
    link = f"https://chicityclerkelms.chicago.gov/Matter/?matterId={O2022.lower()}"
    tracked = run_tracker("--config", str(cfg), "track", link, "--by", "ana")
    assert tracked.returncode == 0, tracked.stderr
    assert tracked.stdout.startswith("chicago O2022-1001: tracked (bill ")
    assert server.detail_requests()[-1] == O2022

    # The committee recommends O2024-0008841 and the council passes it, in the last hour.
    acted = utc_now() - timedelta(hours=1)
    server.add_action(
        O2024,
        {
            "actionDate": acted.isoformat(),
            "actionName": "Passed",
            "actionByName": "City Council",
            "actionText": "Passed",
            "sort": 40,
            "meetingId": None,
            "votes": [
                {"vote": "Yea", "voterName": "Alvarez, Marisol"},
                {"vote": "Yea", "voterName": "Brennan, Kathleen"},
            ],
        },
    )
    server.update(O2024, status="Passed", subStatus=None, lastPublicationDate=acted.isoformat())
    before = len(server.requests)

    second = crawl(cfg)
    assert second.returncode == 0, second.stderr
    assert line_of(second) == (
        "chicago: succeeded (incremental) - 2 bills seen, 0 new, 1 changed, 1 status changes, 0 vanished, "
        "0 errors, 4 requests"
    )
    incremental = runs(engine)[-1]
    (listing,) = [q for p, q in server.requests[before:] if p == "/matter"]
    assert listing == {
        "filter": [incremental_filter(incremental.since)],
        "sort": ["recordCreateDate asc"],
        "top": ["100"],
        "skip": ["0"],
    }
    assert listing["filter"][0].startswith("actions/any(a: a/actionDate gt ")
    assert sorted(p for p, _ in server.requests[before:] if p not in ("/matter", "/meeting")) == sorted(
        [f"/matter/{O2024}", f"/matter/{O2022}"]  # the changed matter and the tracked one
    )
    with session_scope(engine) as s:
        bill = s.scalar(select(Bill).where(Bill.source_id == O2024))
        assert (bill.status, bill.stage) == ("Passed", "passed")
        assert [a.description for a in bill.actions] == ["Introduced", "Referred", "Passed"]
        (change,) = s.scalars(select(StatusChange).where(StatusChange.kind == "changed")).all()
        assert (change.bill_id, change.seq, change.old_status, change.new_status) == (
            bill.id,
            2,
            "In Committee",
            "Passed",
        )
        assert (change.old_stage, change.new_stage, change.crawl_run_id) == (
            "in_committee",
            "passed",
            incremental.id,
        )
        assert (change.action.description, change.action.tally) == ("Passed", "Yea 2")
        assert change.action.action_date == acted.astimezone(CHICAGO).date()

    # The tracked matter moves too: listed by the filter and fetched as tracked, it is staged once.
    server.add_action(
        O2022,
        {
            "actionDate": acted.isoformat(),
            "actionName": "Repealed",
            "actionByName": "City Council",
            "sort": 50,
        },
    )
    server.update(O2022, status="Repealed", lastPublicationDate=acted.isoformat())
    both = crawl(cfg)
    assert both.returncode == 0, both.stderr
    assert re.fullmatch(
        # O2024-0008841 again (its action is still inside the overlap), O2022-1001 once: three requests when
        # the tracked answer comes first and the page then skips it, four when both were asked (and the
        # meetings listing)
        r"chicago: succeeded \(incremental\) - 2 bills seen, 0 new, 1 changed, 1 status changes, 0 vanished, "
        r"0 errors, [45] requests",
        line_of(both),
    ), line_of(both)
    with session_scope(engine) as s:
        repealed = s.scalar(select(Bill).where(Bill.source_id == O2022))
        assert [(e.seq, e.new_status) for e in repealed.status_changes] == [(1, "Passed"), (2, "Repealed")]

    # A status that moves without any date (incremental crawls cannot see it) and a matter that leaves the
    # portal: the sweep lists everything and fetches only what differs from the store.
    server.update(O2023, status="Placed on File")
    del server.matters[OR2024]
    sweep_cfg = config(
        tmp_path, server, db_url, name="sweep.toml", crawl_settings={"reconcile_every_hours": 0}
    )
    before = len(server.requests)
    third = crawl(sweep_cfg)
    assert third.returncode == 0, third.stderr
    assert line_of(third) == (
        "chicago: succeeded (sweep) - 1 bills seen, 0 new, 1 changed, 1 status changes, 1 vanished, "
        "0 errors, 3 requests"
    )
    assert sorted(p for p, _ in server.requests[before:]) == ["/matter", f"/matter/{O2023}", "/meeting"]
    with session_scope(engine) as s:
        assert s.scalar(select(Bill.vanished_at).where(Bill.source_id == OR2024)) is not None
        changes = s.execute(
            select(Bill.identifier, StatusChange.seq, StatusChange.old_status, StatusChange.new_status)
            .join(StatusChange)
            .where(StatusChange.kind == "changed")
            .order_by(StatusChange.id)
        ).all()
        assert changes == [
            ("O2024-0008841", 2, "In Committee", "Passed"),
            ("O2022-1001", 2, "Passed", "Repealed"),
            ("O2023-0000412", 2, "In Committee", "Placed on File"),
        ]

    fingerprint = store_fingerprint(engine)
    again = crawl(sweep_cfg)
    assert again.returncode == 0, again.stderr
    assert ", 0 new, 0 changed, 0 status changes, 0 vanished, 0 errors, 2 requests" in line_of(again)
    assert store_fingerprint(engine) == fingerprint


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # the failing crawls store nothing: one engine
def test_failures_are_one_line_and_import_nothing(tmp_path, db_url, engine, server):
    cfg = config(tmp_path, server, db_url)
    assert crawl(cfg).returncode == 0
    server.update(R2022, status="Repealed", lastPublicationDate=utc_now(seconds=False).isoformat())
    server.add_action(
        R2022,
        {
            "actionDate": utc_now(seconds=False).isoformat(),
            "actionName": "Repealed",
            "actionByName": "City Council",
        },
    )
    fingerprint = store_fingerprint(engine)
    url = r"http://127\.0\.0\.1:\d+"
    listing = (
        url
        + r"/matter\?filter=actions/any\(a:%20a/actionDate%20gt%20.*"
        + r"&sort=recordCreateDate%20asc&top=100&skip=0"
    )
    faults = [
        ("^/matter$", "500", rf"HTTP 500 from {listing} \(gave up after 2 attempts\)", 2),
        (
            "^/matter$",
            "html",
            rf"expected JSON, got an HTML page from {listing} \(gave up after 2 attempts\)",
            2,
        ),
        (
            f"^/matter/{R2022}$",
            "garbage",
            rf"invalid or truncated JSON \(.+\) from {url}/matter/{R2022} \(gave up after 2 attempts\)",
            3,
        ),
        (
            "^/matter$",
            "envelope",
            rf"the eLMS list answer from {listing} is not as expected: "
            r"the list envelope has no 'data' or 'meta'",
            1,
        ),
    ]
    for path, kind, reason, matter_requests in faults:
        requests = matter_requests + 1  # and the meetings listing
        server.faults.clear()
        server.fail(path, kind)
        result = crawl(cfg)
        assert result.returncode == 1, kind
        assert re.fullmatch(
            r"chicago: failed \(incremental\) - 0 bills seen, 0 new, 0 changed, 0 status changes, "
            r"0 vanished, "
            rf"1 errors, {requests} requests - chicago: {reason}",
            line_of(result),
        ), (kind, line_of(result))
        assert result.stderr.strip().splitlines()[-1] == "Error: crawl did not succeed for chicago"
        assert "Traceback" not in result.stderr
        assert store_fingerprint(engine) == fingerprint, kind
    assert [r.status for r in runs(engine)] == ["succeeded"] + ["failed"] * len(faults)
    assert len({r.since for r in runs(engine)[1:]}) == 1  # the watermark did not move

    server.faults.clear()
    recovered = crawl(cfg)
    assert recovered.returncode == 0, recovered.stderr
    assert ", 1 changed, 1 status changes, " in line_of(recovered)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_malformed_matter_is_skipped_and_named(tmp_path, db_url, engine, server):
    server.update(O2022, introductionDate="last Tuesday")
    result = crawl(config(tmp_path, server, db_url))
    assert result.returncode == 1
    assert line_of(result) == (
        "chicago: partial (full) - 5 bills seen, 5 new, 0 changed, 0 status changes, 0 vanished, 1 errors, "
        f"8 requests - 1 records rejected, first: chicago matter {O2022}: introductionDate: malformed date "
        "'last Tuesday'"
    )
    with session_scope(engine) as s:
        assert O2022 not in set(s.scalars(select(Bill.source_id)))


def test_one_matter_whose_detail_fails_for_good_fails_only_itself(tmp_path, db_url, engine, server):
    """A listed matter whose detail answered 500 (or garbage) for good failed the whole city's crawl (until
    2026-12-07); it is now kept as stored and named, the others are imported, the crawl is partial and the
    next one asks again."""
    cfg = config(tmp_path, server, db_url)
    server.fail(f"^/matter/{R2022}$", "500")
    result = crawl(cfg, "--full")
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    line = line_of(result)
    assert (
        line.startswith("chicago: partial (full)")
        and f"first: chicago: matter {R2022} not read: HTTP 500" in line
    )
    with session_scope(engine) as s:
        stored = set(s.scalars(select(Bill.source_id)))
    assert R2022 not in stored and {O2024, O2022, O2023} <= stored
    server.faults.clear()
    assert crawl(cfg, "--full").returncode == 0
    with session_scope(engine) as s:
        assert R2022 in set(s.scalars(select(Bill.source_id)))
