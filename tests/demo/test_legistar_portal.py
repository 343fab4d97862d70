"""The local Legistar portal: wire format, OData, clock, quirks, tokens, faults, determinism.

Every test talks HTTP to a real server on loopback, as the crawler will.
"""

from __future__ import annotations

import base64
import http.client
import json
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.error import HTTPError
from urllib.parse import quote, urlencode, urlsplit
from urllib.request import urlopen

import pytest

from tests.clock import wait_for
from tracker.demo import DEMO_NOW, DEMO_STEP_DAYS, LegistarPortalServer, Portal, bulk_portal, demo_portal
from tracker.demo.model import ClientData
from tracker.demo.odata import parse_wire_datetime
from tracker.demo.server import GARBAGE_DATE
from tracker.demo.wire import MATTER, MATTER_ATTACHMENT, MATTER_HISTORY, MATTER_SPONSOR, format_utc

REPO = Path(__file__).resolve().parents[2]
LOCAL_DATE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$")
UTC_STAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,3})?$")
GUID = re.compile(r"^[0-9A-F]{8}-[0-9A-F]{4}-4[0-9A-F]{3}-[89AB][0-9A-F]{3}-[0-9A-F]{12}$")

# python-legistar-scraper's incremental filter (legistar/bills.py `matters(since_datetime)`)
SCRAPER_DATE_FIELDS = (
    "MatterLastModifiedUtc",
    "MatterIntroDate",
    "MatterPassedDate",
    "MatterDate1",
    "MatterDate2",
    *(f"MatterEXDate{i}" for i in range(2, 11)),
    "MatterEnactmentDate",
    "MatterAgendaDate",
)


# --------------------------------------------------------------------------------------------- helpers


def fetch(url: str, timeout: float = 5.0) -> tuple[int, http.client.HTTPMessage, bytes]:
    """GET ``url`` with urllib; return status, headers and body, whatever the status."""
    try:
        with urlopen(url, timeout=timeout) as response:
            return response.status, response.headers, response.read()
    except HTTPError as error:
        with error:
            return error.code, error.headers, error.read()


def fetch_json(url: str) -> Any:
    status, headers, body = fetch(url)
    assert status == 200, (status, body[:300])
    assert headers["Content-Type"] == "application/json; charset=utf-8"
    return json.loads(body)


def q(**params: object) -> str:
    """A query string encoded the way python-legistar-scraper's requests encodes it (spaces as %20)."""
    return "?" + urlencode({k: str(v) for k, v in params.items()}, quote_via=quote)


def all_matters(server: LegistarPortalServer, client: str, **params: object) -> list[dict[str, Any]]:
    """Every page of ``/matters``, paging with $skip in steps of 1000 until a short page."""
    rows: list[dict[str, Any]] = []
    while True:
        page = fetch_json(server.url(client, "matters") + q(**params, **{"$top": 1000, "$skip": len(rows)}))
        rows += page
        if len(page) < 1000:
            return rows


def small_portal() -> Portal:
    """A bulk client of 300 matters plus a hand-built one: fast, for tests that mutate."""
    portal = bulk_portal(300, 900, client="smallville", seed=5, stale_fraction=0.0)
    return portal


# --------------------------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def demo_server() -> Iterator[LegistarPortalServer]:
    """The demo portal at its initial clock; tests using it must not mutate it."""
    with LegistarPortalServer(demo_portal(seed=0)) as server:
        yield server


@pytest.fixture
def server() -> Iterator[LegistarPortalServer]:
    """A fresh small portal, free to mutate."""
    with LegistarPortalServer(small_portal()) as server:
        yield server


@pytest.fixture(scope="module")
def big_server() -> Iterator[LegistarPortalServer]:
    with LegistarPortalServer(bulk_portal(2500, 5000, client="big", seed=1)) as server:
        yield server


# --------------------------------------------------------------------------------------------- wire format


def test_matter_objects_have_legistar_fields_and_formats(demo_server: LegistarPortalServer) -> None:
    status, headers, body = fetch(demo_server.url("riverton", "matters"))
    assert status == 200
    assert headers["Content-Type"] == "application/json; charset=utf-8"
    assert int(headers["Content-Length"]) == len(body)
    matters = json.loads(body)
    assert isinstance(matters, list) and len(matters) > 50
    for matter in matters:
        assert list(matter) == list(MATTER.fields)
        assert LOCAL_DATE.match(matter["MatterIntroDate"])
        assert matter["MatterIntroDate"].endswith("T00:00:00")
        assert UTC_STAMP.match(matter["MatterLastModifiedUtc"])
        assert len(base64.b64decode(matter["MatterRowVersion"])) == 8
        assert GUID.match(matter["MatterGuid"])
        assert matter["MatterStatusName"] and matter["MatterTypeName"] and matter["MatterFile"]
        assert matter["MatterReports"] == []
    stamps = {m["MatterLastModifiedUtc"] for m in matters}
    assert any("." not in s for s in stamps) or any(len(s.split(".")[1]) < 3 for s in stamps if "." in s)
    single = fetch_json(demo_server.url("riverton", "matters", matters[3]["MatterId"]))
    assert single == matters[3]


def test_utc_stamps_round_to_sql_datetime_ticks() -> None:
    epoch = datetime(2024, 12, 13, 1, 7, 23, tzinfo=UTC).timestamp()
    assert format_utc(epoch + 0.667) == "2024-12-13T01:07:23.667"
    assert format_utc(epoch + 0.03) == "2024-12-13T01:07:23.03"
    assert format_utc(epoch) == "2024-12-13T01:07:23"
    assert format_utc(epoch + 0.0049) == "2024-12-13T01:07:23.003"


def test_histories_sponsors_attachments(demo_server: LegistarPortalServer) -> None:
    matters = fetch_json(
        demo_server.url("portalder", "matters") + q(**{"$filter": "MatterTypeName eq 'Council Bill'"})
    )
    seen = {"histories": 0, "sponsors": 0, "attachments": 0}
    for matter in matters[:40]:
        mid = matter["MatterId"]
        histories = fetch_json(demo_server.url("portalder", "Matters", mid, "Histories"))
        for row in histories:
            assert list(row) == list(MATTER_HISTORY.fields)
            assert LOCAL_DATE.match(row["MatterHistoryActionDate"])
            assert UTC_STAMP.match(row["MatterHistoryLastModifiedUtc"])
            assert row["MatterHistoryVersion"] in ("1", "2")
            assert row["MatterHistoryPassedFlagName"] in (None, "Pass", "Fail")
        assert [r["MatterHistoryId"] for r in histories] == sorted(r["MatterHistoryId"] for r in histories)
        if histories and histories[-1]["MatterHistoryMatterStatusId"] is not None:
            last_status = [r for r in histories if r["MatterHistoryMatterStatusId"] is not None][-1]
            assert last_status["MatterHistoryMatterStatusId"] == matter["MatterStatusId"]
        sponsors = fetch_json(demo_server.url("portalder", "matters", mid, "sponsors"))
        for seq, row in enumerate(sponsors):
            assert list(row) == list(MATTER_SPONSOR.fields)
            assert row["MatterSponsorMatterId"] == mid and row["MatterSponsorSequence"] == seq
        attachments = fetch_json(demo_server.url("portalder", "matters", mid, "attachments"))
        for row in attachments:
            assert list(row) == list(MATTER_ATTACHMENT.fields)
            link = row["MatterAttachmentHyperlink"]
            assert re.match(
                r"^https://portalder\.legistar1\.com/portalder/attachments/[0-9a-f-]{36}\.pdf$", link
            )
            assert row["MatterAttachmentHyperlink"].endswith(row["MatterAttachmentFileName"])
        seen["histories"] += len(histories)
        seen["sponsors"] += len(sponsors)
        seen["attachments"] += len(attachments)
    assert all(seen.values()), seen
    assert fetch_json(demo_server.url("portalder", "matters", 999999999, "histories")) == []


def test_vocabulary_routes_and_case_insensitive_segments(demo_server: LegistarPortalServer) -> None:
    bodies = fetch_json(demo_server.base_url + "/RIVERTON/Bodies")
    assert any(b["BodyName"] == "City Council" for b in bodies)
    assert fetch_json(demo_server.base_url + f"/riverton/bodies/{bodies[0]['BodyId']}") == bodies[0]
    statuses = {s["MatterStatusName"] for s in fetch_json(demo_server.base_url + "/riverton/MatterStatuses")}
    county = {
        s["MatterStatusName"] for s in fetch_json(demo_server.base_url + "/lakesidecounty/matterstatuses")
    }
    assert "Signed by Mayor" in statuses and "Signed by Mayor" not in county
    assert "Received and Filed" in county
    assert fetch_json(demo_server.base_url + "/riverton/mattertypes")
    assert fetch_json(demo_server.base_url + "/riverton/persons")
    trailing = fetch_json(demo_server.base_url + "/riverton/matters/" + q(**{"$top": 3}))
    assert len(trailing) == 3


def test_unknown_client_and_route_answer_404_json(demo_server: LegistarPortalServer) -> None:
    for url in (
        demo_server.base_url + "/atlantis/matters",
        demo_server.base_url + "/riverton/nothing",
        demo_server.base_url + "/riverton/matters/abc",
        demo_server.base_url + "/riverton/matters/1/versions",
        demo_server.base_url.replace("/v1", "/v2") + "/riverton/matters",
    ):
        status, _headers, body = fetch(url)
        assert status == 404, url
        assert "Message" in json.loads(body)
    status, _, body = fetch(demo_server.url("riverton", "matters", 1))
    assert status == 404 and json.loads(body)["Message"]


# --------------------------------------------------------------------------------------------- paging


def test_page_cap_top_skip_and_orderby(big_server: LegistarPortalServer) -> None:
    assert len(fetch_json(big_server.url("big", "matters"))) == 1000
    assert len(fetch_json(big_server.url("big", "matters") + q(**{"$top": 5000}))) == 1000
    assert len(fetch_json(big_server.url("big", "matters") + q(**{"$top": 7}))) == 7
    assert len(fetch_json(big_server.url("big", "matters") + q(**{"$skip": 2000}))) == 500
    assert fetch_json(big_server.url("big", "matters") + q(**{"$skip": 9000})) == []

    rows = all_matters(big_server, "big")
    ids = [r["MatterId"] for r in rows]
    assert len(ids) == 2500 == len(set(ids)) and ids == sorted(ids)

    newest_first = all_matters(big_server, "big", **{"$orderby": "MatterLastModifiedUtc desc"})
    stamps = [parse_wire_datetime(r["MatterLastModifiedUtc"]) for r in newest_first]
    assert stamps == sorted(stamps, reverse=True)  # type: ignore[type-var]  # typed Optional, none is None
    assert {r["MatterId"] for r in newest_first} == set(ids)
    by_two = fetch_json(
        big_server.url("big", "matters") + q(**{"$orderby": "MatterTypeName,MatterId desc", "$top": 900})
    )
    keys = [(r["MatterTypeName"], -r["MatterId"]) for r in by_two]
    assert keys == sorted(keys)


def test_select_projects_fields(big_server: LegistarPortalServer) -> None:
    rows = fetch_json(
        big_server.url("big", "matters") + q(**{"$select": "MatterId,MatterStatusName", "$top": 3})
    )
    assert [list(r) for r in rows] == [["MatterId", "MatterStatusName"]] * 3


# --------------------------------------------------------------------------------------------- $filter


def _expected(rows: list[dict[str, Any]], predicate: Any) -> list[int]:
    return [r["MatterId"] for r in rows if predicate(r)]


def test_filter_semantics(demo_server: LegistarPortalServer) -> None:
    rows = fetch_json(demo_server.url("riverton", "matters"))
    cases: list[tuple[str, Any]] = [
        (
            "MatterIntroDate ge datetime'2026-01-01' and MatterIntroDate lt datetime'2026-04-01T00:00:00'",
            lambda r: "2026-01-01" <= r["MatterIntroDate"] < "2026-04-01",
        ),
        ("MatterStatusName eq 'PASSED'", lambda r: r["MatterStatusName"] == "Passed"),  # SQL Server collation
        ("MatterPassedDate eq null", lambda r: r["MatterPassedDate"] is None),
        ("MatterPassedDate ne null", lambda r: r["MatterPassedDate"] is not None),
        ("MatterPassedDate gt datetime'2000-01-01'", lambda r: r["MatterPassedDate"] is not None),
        ("not (MatterTypeName eq 'Ordinance')", lambda r: r["MatterTypeName"] != "Ordinance"),
        ("substringof('immigration', MatterTitle)", lambda r: "immigration" in r["MatterTitle"].lower()),
        (
            "(MatterId gt 41300 and MatterId le 41310) or MatterId eq 41205",
            lambda r: 41300 < r["MatterId"] <= 41310 or r["MatterId"] == 41205,
        ),
        ("MatterRestrictViewViaWeb eq false", lambda r: not r["MatterRestrictViewViaWeb"]),
        ("year(MatterIntroDate) eq 2025", lambda r: r["MatterIntroDate"].startswith("2025")),
        ("startswith(MatterFile, 'O2026')", lambda r: r["MatterFile"].startswith("O2026")),
    ]
    for expression, predicate in cases:
        got = [
            r["MatterId"]
            for r in fetch_json(demo_server.url("riverton", "matters") + q(**{"$filter": expression}))
        ]
        want = _expected(rows, predicate)
        assert got == want, expression
    # filters apply to sub-collections too
    mid = rows[-40]["MatterId"]
    histories = fetch_json(demo_server.url("riverton", "matters", mid, "histories"))
    passed = fetch_json(
        demo_server.url("riverton", "matters", mid, "histories")
        + q(**{"$filter": "MatterHistoryPassedFlag eq 1"})
    )
    assert passed == [h for h in histories if h["MatterHistoryPassedFlag"] == 1]


def test_or_over_many_date_fields_like_python_legistar_scraper(demo_server: LegistarPortalServer) -> None:
    since = "2026-10-01T00:00:00"
    expression = " or ".join(f"{name} gt datetime'{since}'" for name in SCRAPER_DATE_FIELDS)
    rows = fetch_json(demo_server.url("portalder", "matters"))
    cutoff = datetime.fromisoformat(since)

    def changed(row: dict[str, Any]) -> bool:
        return any(
            row[f] is not None and datetime.fromisoformat(row[f]) > cutoff for f in SCRAPER_DATE_FIELDS
        )

    want = _expected(rows, changed)
    assert 0 < len(want) < len(rows)
    # requests-style encoding (%20, %27) ...
    got = fetch_json(demo_server.url("portalder", "matters") + q(**{"$filter": expression}))
    assert [r["MatterId"] for r in got] == want
    # ... and form encoding with '+' for spaces, as cdp-scrapers sends it
    form = "?%24filter=" + expression.replace(" ", "+").replace("'", "%27")
    assert [r["MatterId"] for r in fetch_json(demo_server.url("portalder", "matters") + form)] == want
    # the stale-MatterLastModifiedUtc matters are only caught by the other date fields
    last_modified_only = {r["MatterId"] for r in rows if r["MatterLastModifiedUtc"] > since}
    assert last_modified_only < set(want)


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        ({"$filter": "MatterId eq"}, "expected"),
        ({"$filter": "MatterId eq 'x'"}, "incompatible types"),
        ({"$filter": "MatterIntroDate gt '2019-01-01'"}, "incompatible types"),
        ({"$filter": "MatterFoo eq 1"}, "Could not find a property named 'MatterFoo'"),
        ({"$filter": "matterid eq 1"}, "Could not find a property"),  # property names are case-sensitive
        ({"$filter": "MatterIntroDate gt datetime'2019-13-01'"}, "Unrecognized 'Edm.DateTime' literal"),
        ({"$filter": "MatterIntroDate gt datetime'2019-01-01T00:00:00Z'"}, "Unrecognized 'Edm.DateTime'"),
        ({"$filter": "(MatterId eq 1"}, "expected"),
        ({"$filter": "MatterTitle eq 'unterminated"}, "unterminated string literal"),
        ({"$filter": "MatterId eq 1 xor MatterId eq 2"}, "Syntax error"),
        ({"$filter": "MatterId"}, "single boolean value"),
        ({"$filter": "substringof(MatterId, MatterTitle)"}, "No function signature"),
        ({"$filter": "MatterId EQ 1"}, "Syntax error"),
        ({"$filter": " or ".join(f"MatterId eq {i}" for i in range(40))}, "node count limit of '100'"),
        ({"$top": "abc"}, "$top query option requires a non-negative integer"),
        ({"$skip": "-5"}, "$skip query option requires a non-negative integer"),
        ({"$orderby": "MatterNope desc"}, "Could not find a property"),
        ({"$format": "xml"}, "The query parameter '$format' is not supported."),
    ],
)
def test_malformed_queries_answer_400_with_message(
    demo_server: LegistarPortalServer, params: dict[str, str], fragment: str
) -> None:
    status, headers, body = fetch(demo_server.url("riverton", "matters") + q(**params))
    assert status == 400
    assert headers["Content-Type"] == "application/json; charset=utf-8"
    assert fragment in json.loads(body)["Message"]


def test_query_string_over_iis_limit_is_refused(demo_server: LegistarPortalServer) -> None:
    huge = " or ".join(f"MatterTitle eq 'title number {i} of a very long list'" for i in range(60))
    status, headers, body = fetch(demo_server.url("riverton", "matters") + q(**{"$filter": huge}))
    assert status == 404 and headers["Content-Type"].startswith("text/html") and b"404.15" in body


# --------------------------------------------------------------------------------------------- the clock


def _statuses(server: LegistarPortalServer, client: str) -> dict[int, dict[str, Any]]:
    return {r["MatterId"]: r for r in all_matters(server, client)}


def test_advancing_the_demo_clock_changes_statuses_and_adds_rows() -> None:
    portal = demo_portal(seed=0)
    assert portal.now == DEMO_NOW
    with LegistarPortalServer(portal) as server:
        before = {c.name: _statuses(server, c.name) for c in portal}
        histories_before = {
            mid: len(fetch_json(server.url("riverton", "matters", mid, "histories")))
            for mid in before["riverton"]
        }
        portal.advance(days=DEMO_STEP_DAYS)
        changed = new = sanctuary_changed = stale = 0
        for client in portal:
            after = _statuses(server, client.name)
            labels = client.labels()
            assert set(before[client.name]) <= set(after)  # nothing disappears by itself
            new += len(set(after) - set(before[client.name]))
            for mid, row in before[client.name].items():
                if after[mid]["MatterStatusName"] != row["MatterStatusName"]:
                    changed += 1
                    sanctuary_changed += ":" in labels.get(mid, "")
                    assert after[mid]["MatterRowVersion"] != row["MatterRowVersion"]
                    stale += after[mid]["MatterLastModifiedUtc"] == row["MatterLastModifiedUtc"]
        assert changed >= 25 and new >= 5 and sanctuary_changed >= 3, (changed, new, sanctuary_changed)
        assert 0 < stale < changed / 2  # the last-modified quirk shows up, for a minority
        grown = 0
        local_now = portal.client("riverton").local(portal.now_ts)
        for mid, count in histories_before.items():
            rows = fetch_json(server.url("riverton", "matters", mid, "histories"))
            grown += len(rows) > count
            assert all(datetime.fromisoformat(r["MatterHistoryActionDate"]) <= local_now for r in rows)
        assert grown >= 10
        portal.set_clock(DEMO_NOW)  # the state is a function of the clock
        assert _statuses(server, "riverton") == before["riverton"]


def test_nothing_is_visible_before_its_time(server: LegistarPortalServer) -> None:
    portal = server.portal
    everything = len(all_matters(server, "smallville"))
    portal.set_clock(portal.now - timedelta(days=365 * 3))
    some = all_matters(server, "smallville")
    assert 0 < len(some) < everything
    cutoff = portal.now.replace(tzinfo=None)
    assert all(datetime.fromisoformat(m["MatterIntroDate"]) <= cutoff for m in some)


def test_last_modified_quirk_and_rowversion(server: LegistarPortalServer) -> None:
    client = server.portal.client("smallville")
    mid = all_matters(server, "smallville")[10]["MatterId"]
    before = fetch_json(server.url("smallville", "matters", mid))
    stamp = before["MatterLastModifiedUtc"]
    since = q(**{"$filter": f"MatterLastModifiedUtc gt datetime'{stamp}'"})
    assert mid not in [r["MatterId"] for r in fetch_json(server.url("smallville", "matters") + since)]

    server.portal.advance(hours=2)
    client.set_status(mid, "Vetoed", bump_last_modified=False)
    quiet = fetch_json(server.url("smallville", "matters", mid))
    assert quiet["MatterStatusName"] == "Vetoed"
    assert quiet["MatterLastModifiedUtc"] == stamp  # Legistar's quirk
    assert quiet["MatterRowVersion"] != before["MatterRowVersion"]
    assert mid not in [r["MatterId"] for r in fetch_json(server.url("smallville", "matters") + since)]

    server.portal.advance(hours=2)
    client.set_status(mid, "Passed", action_name="Passed", passed=True)
    loud = fetch_json(server.url("smallville", "matters", mid))
    assert loud["MatterStatusName"] == "Passed" and loud["MatterLastModifiedUtc"] > stamp
    assert mid in [r["MatterId"] for r in fetch_json(server.url("smallville", "matters") + since)]
    last = fetch_json(server.url("smallville", "matters", mid, "histories"))[-1]
    assert last["MatterHistoryActionName"] == "Passed"
    assert last["MatterHistoryMatterStatusId"] == loud["MatterStatusId"]


def test_add_remove_and_edit_matters(server: LegistarPortalServer) -> None:
    client = server.portal.client("smallville")
    count = len(all_matters(server, "smallville"))
    mid = client.add_matter(
        "Ordinance limiting cooperation with civil immigration detainers",
        sponsors=["Ada Lovelace"],
        label="detainers_warrants:expands",
    )
    row = fetch_json(server.url("smallville", "matters", mid))
    assert row["MatterStatusName"] == "Introduced" and row["MatterTypeName"] == "Ordinance"
    assert (
        fetch_json(server.url("smallville", "matters", mid, "sponsors"))[0]["MatterSponsorName"]
        == "Ada Lovelace"
    )
    client.add_history(mid, "Referred", status_name="In Committee", body_name="Public Safety Committee")
    assert fetch_json(server.url("smallville", "matters", mid))["MatterStatusName"] == "In Committee"
    client.edit_matter(mid, MatterAgendaDate="2026-11-12T00:00:00")
    assert fetch_json(server.url("smallville", "matters", mid))["MatterAgendaDate"] == "2026-11-12T00:00:00"
    assert len(all_matters(server, "smallville")) == count + 1
    client.remove_matter(mid)
    assert len(all_matters(server, "smallville")) == count
    assert fetch(server.url("smallville", "matters", mid))[0] == 404
    client.restore_matter(mid)
    assert len(all_matters(server, "smallville")) == count + 1


def test_touch_fraction_for_incremental_benchmarks(server: LegistarPortalServer) -> None:
    client = server.portal.client("smallville")
    before = _statuses(server, "smallville")
    server.portal.advance(minutes=5)
    touched = client.touch_fraction(0.05, bump_last_modified=True)
    assert len(touched) == 15
    after = _statuses(server, "smallville")
    assert {m for m in after if after[m]["MatterStatusName"] != before[m]["MatterStatusName"]} == set(touched)
    stamp = max(r["MatterLastModifiedUtc"] for r in before.values())
    recent = fetch_json(
        server.url("smallville", "matters") + q(**{"$filter": f"MatterLastModifiedUtc gt datetime'{stamp}'"})
    )
    assert sorted(r["MatterId"] for r in recent) == touched


# --------------------------------------------------------------------------------------------- tokens


def test_token_is_required_where_configured() -> None:
    with LegistarPortalServer(small_portal(), tokens={"SmallVille": "s3cret"}) as server:
        url = server.url("smallville", "matters")
        status, _, body = fetch(url)
        assert status == 403 and json.loads(body)["Message"]
        assert fetch(url + "?token=wrong")[0] == 403
        assert fetch(url + "?token=s3cret")[0] == 200
        assert fetch(url + "?Token=s3cret&%24top=2")[0] == 200
        assert server.requests[-1].query == {"Token": "s3cret", "$top": "2"}


# --------------------------------------------------------------------------------------------- faults


def test_fault_500_then_recovery(server: LegistarPortalServer) -> None:
    server.add_fault(r"/matters$", "500", times=2)
    url = server.url("smallville", "matters")
    for _ in range(2):
        status, _headers, body = fetch(url)
        assert status == 500 and json.loads(body)["Message"] == "An error has occurred."
    assert fetch(url)[0] == 200


def test_fault_503_and_429_carry_retry_after(server: LegistarPortalServer) -> None:
    server.add_fault("matters", "503", retry_after=3)
    status, headers, body = fetch(server.url("smallville", "matters"))
    assert status == 503 and headers["Retry-After"] == "3" and b"Service Unavailable" in body
    server.add_fault("histories", "429", retry_after=2)
    status, headers, body = fetch(server.url("smallville", "matters", 100001, "histories"))
    assert status == 429 and headers["Retry-After"] == "2"


def test_fault_html_with_status_200(server: LegistarPortalServer) -> None:
    server.add_fault("matters", "html200")
    status, headers, body = fetch(server.url("smallville", "matters"))
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert b"Server Error in '/' Application." in body
    with pytest.raises(json.JSONDecodeError):
        json.loads(body)


def test_fault_truncated_json(server: LegistarPortalServer) -> None:
    server.add_fault("matters", "truncated")
    status, headers, body = fetch(server.url("smallville", "matters"))
    assert status == 200 and headers["Content-Type"] == "application/json; charset=utf-8"
    assert int(headers["Content-Length"]) == len(body) > 0
    with pytest.raises(json.JSONDecodeError):
        json.loads(body)


def test_fault_disconnect_mid_body(server: LegistarPortalServer) -> None:
    server.add_fault("matters", "disconnect")
    parts = urlsplit(server.url("smallville", "matters"))
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=5)
    try:
        connection.request("GET", parts.path)
        response = connection.getresponse()
        with pytest.raises(http.client.IncompleteRead):
            response.read()
    finally:
        connection.close()


def test_fault_hang_triggers_client_timeout(server: LegistarPortalServer) -> None:
    server.add_fault("histories", "hang", delay=1.0)
    parts = urlsplit(server.url("smallville", "matters", 100001, "histories"))
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=0.2)
    try:
        connection.request("GET", parts.path)
        with pytest.raises(TimeoutError):
            connection.getresponse()
    finally:
        connection.close()
    assert fetch(server.url("smallville", "matters", 100001, "histories"))[0] == 200


def test_fault_empty_and_garbage_date(server: LegistarPortalServer) -> None:
    server.add_fault("matters$", "empty")
    assert fetch_json(server.url("smallville", "matters")) == []
    server.add_fault(r"matters(/\d+)?$", "garbage-date", times=2)
    rows = fetch_json(server.url("smallville", "matters"))
    assert rows and all(r["MatterIntroDate"] == GARBAGE_DATE for r in rows)
    one = fetch_json(server.url("smallville", "matters", rows[0]["MatterId"]))
    assert one["MatterIntroDate"] == GARBAGE_DATE
    clean = fetch_json(server.url("smallville", "matters"))
    assert clean[0]["MatterIntroDate"] != GARBAGE_DATE  # the portal's own rows were not touched


def test_fault_forever_query_regex_and_clear(server: LegistarPortalServer) -> None:
    server.add_fault("matters$", "500", times=None, query_regex=r"\$skip=1000")
    url = server.url("smallville", "matters")
    assert fetch(url + q(**{"$skip": 0}))[0] == 200
    for _ in range(3):
        assert fetch(url + q(**{"$skip": 1000}))[0] == 500
    server.clear_faults()
    assert fetch(url + q(**{"$skip": 1000}))[0] == 200
    with pytest.raises(ValueError, match="unknown fault kind"):
        server.add_fault("x", "teapot")


# --------------------------------------------------------------------------------------------- server


def test_request_log_keep_alive_and_concurrency(server: LegistarPortalServer) -> None:
    server.reset_requests()
    parts = urlsplit(server.base_url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=5)
    try:
        for skip in (0, 100, 200):
            connection.request("GET", f"{parts.path}/smallville/matters?%24top=100&%24skip={skip}")
            response = connection.getresponse()
            assert response.version == 11 and not response.will_close
            assert len(json.loads(response.read())) == 100
        sock = connection.sock
        connection.request("GET", f"{parts.path}/smallville/matters/100001/sponsors")
        connection.getresponse().read()
        assert connection.sock is sock  # one connection for all four requests
    finally:
        connection.close()
    assert server.request_count == 4
    assert server.requests[1] == ("/v1/smallville/matters", {"$top": "100", "$skip": "100"})

    errors: list[BaseException] = []

    def worker() -> None:
        try:
            for _ in range(10):
                fetch_json(server.url("smallville", "matters", 100002, "histories"))
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=worker) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors and server.request_count == 4 + 160
    assert len(list(server.iter_requests("histories$"))) == 160


def test_latency_and_stop_wakes_hanging_requests() -> None:
    server = LegistarPortalServer(small_portal(), latency=0.1).start()
    port = server.port
    outcome: list[object] = []

    def hang() -> None:
        try:
            outcome.append(fetch(server.url("smallville", "matters"), timeout=10)[0])
        except (OSError, http.client.HTTPException) as error:  # the server went away mid-request
            outcome.append(error)  # refused, reset, or cut in the body it had begun (IncompleteRead)

    thread = threading.Thread(target=hang)
    try:
        started = time.monotonic()
        fetch(server.url("smallville", "matters") + q(**{"$top": 1}))
        assert time.monotonic() - started >= 0.1
        server.latency = 0.0
        server.add_fault("matters", "hang", delay=30)
        thread.start()
        wait_for(lambda: server.request_count >= 2, what="the hanging request to reach the server")
    finally:
        started = time.monotonic()
        server.stop()
    thread.join()
    assert time.monotonic() - started < 5 and outcome
    with pytest.raises(RuntimeError):
        _ = server.port
    with socket.socket() as probe:
        probe.settimeout(1)
        assert probe.connect_ex(("127.0.0.1", port)) != 0


# --------------------------------------------------------------------------------------------- generators


def _dump(portal: Portal) -> str:
    out: dict[str, Any] = {}
    for client in portal:
        rows = client.matter_rows()
        out[client.name] = {
            "matters": rows,
            "histories": [client.history_rows(r["MatterId"]) for r in rows[::7]],
            "attachments": [client.attachment_rows(r["MatterId"]) for r in rows[::7]],
            "sponsors": [client.sponsor_rows(r["MatterId"]) for r in rows[::7]],
        }
    return json.dumps(out, sort_keys=True)


def test_generators_are_deterministic() -> None:
    assert _dump(demo_portal(seed=7)) == _dump(demo_portal(seed=7))
    assert _dump(demo_portal(seed=7)) != _dump(demo_portal(seed=8))
    assert _dump(bulk_portal(400, 1200, seed=3)) == _dump(bulk_portal(400, 1200, seed=3))


def test_demo_composition() -> None:
    portal = demo_portal()
    clients: list[ClientData] = list(portal)
    assert 3 <= len(clients) <= 4
    visible = sum(len(c.matter_rows()) for c in clients)
    assert 250 <= visible <= 600
    relevant = negatives = 0
    for client in clients:
        labels = client.labels()
        visible_ids = {r["MatterId"] for r in client.matter_rows()}
        relevant += sum(1 for m, label in labels.items() if ":" in label and m in visible_ids)
        negatives += sum(1 for m, label in labels.items() if label.startswith("neg_") and m in visible_ids)
        types = {r["MatterTypeName"] for r in client.matter_rows()}
        assert len(types) >= 5
    assert 0.10 <= relevant / visible <= 0.16
    assert negatives >= 12
    titles = [r["MatterTitle"] for c in clients for r in c.matter_rows()]
    assert any("287(g)" in t for t in titles) and any("Ice Rink" in t for t in titles)
    assert any("Marine Sanctuary" in t for t in titles)
    vocabularies = [frozenset(s.name for s in c.statuses.values()) for c in clients]
    assert len(set(vocabularies)) == len(vocabularies)


def test_bulk_portal_sizes() -> None:
    started = time.monotonic()
    portal = bulk_portal(2000, 10000, client="bench", seed=2)
    client = portal.client("bench")
    assert len(client.matter_rows()) == 2000
    assert sum(len(client.history_rows(mid)) for mid in client.matters) == 10000
    assert time.monotonic() - started < 5
    stale = sum(m.stale_last_modified for m in client.matters.values())
    assert 100 < stale < 300  # ~10%


def test_command_line_serves_until_interrupted() -> None:
    command = [sys.executable, "-m", "tracker.demo.legistar_portal", "--bulk", "50", "--histories", "120"]
    with subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, text=True) as process:
        try:
            assert process.stdout is not None
            line = process.stdout.readline()
            match = re.search(r"(http://127\.0\.0\.1:\d+/v1)", line)
            assert match, line
            assert len(fetch_json(match.group(1) + "/bench/matters")) == 50
        finally:
            process.send_signal(signal.SIGINT)
            process.communicate(timeout=10)
    assert process.returncode == 0
