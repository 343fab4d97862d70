"""Search and lists (/search, /search.csv), the dashboard (/ and its CSV lists): logins, the text search
(title, name, identifier, action texts; `%`, `_` and quotes literal), every filter, paging, the CSV export
(its rows, and no formulas), escaping of scraped text, one-line errors, and a bounded number of queries per
page. Both engines."""

from __future__ import annotations

import csv
import io
import re
from datetime import date
from urllib.parse import parse_qsl

import pytest
from sqlalchemy import event, select

from db.engine import session_scope
from db.models_review import BillMatch
from tests.factories import (
    DETAINERS,
    ESCAPED_XSS,
    FLOCK,
    GANG,
    PARKING,
    RINK,
    XSS,
    days_ago,
    make_bill,
    set_first_seen,
    status_change,
)
from tracker.read_model import has_category, like_pattern
from tracker.web.queries.filters import Filters


def found(html: str) -> list[int]:
    """Bill ids in the order the result table lists them."""
    ids = re.findall(r'<a class="file" href="/bills/(\d+)">', html)
    return [int(i) for i in ids]


def csv_rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/search",
        "/search?q=x",
        "/search.csv",
        "/dashboard/new-matches.csv",
        "/dashboard/status-changes.csv",
        "/living-list",
        "/living-list.csv",
        "/living-list.md",
        "/bills/1",
    ],
)
def test_pages_need_a_login_and_staff_may_read_them(client, login, engine, path):
    make_bill(engine, GANG)
    r = client.get(path)
    assert r.status_code == 303 and r.headers["location"].startswith("/login?next=")
    login(client, "staff")
    assert client.get(path).status_code == 200


# -- text search -----------------------------------------------------------------------------------------


def test_search_by_title_name_identifier_and_action_text(client, login, engine):
    gang = make_bill(engine, GANG, introduced=date(2026, 11, 1))
    named = make_bill(engine, "An ordinance", name="Welcoming City Ordinance", introduced=date(2026, 10, 1))
    acted = make_bill(
        engine,
        "Resolution 12",
        actions=[(date(2026, 9, 1), "Introduced", None), (date(2026, 9, 2), "Hearing", "the ICE contract")],
        introduced=date(2026, 9, 1),
    )
    described = make_bill(engine, "Resolution 13", actions=[(None, "Tabled by Council", None)])
    ident = make_bill(engine, RINK, identifier="CB-120987")
    login(client, "staff")
    assert found(client.get("/search?q=GANG database").text) == [gang]  # case-insensitive, every word
    assert found(client.get("/search?q=gang+contract").text) == []  # every word must appear
    assert found(client.get("/search?q=welcoming").text) == [named]
    assert found(client.get("/search?q=ice contract").text) == [acted]
    assert found(client.get("/search?q=tabled").text) == []  # an action's name is not its text
    assert found(client.get("/search?q=cb-120987").text) == [ident]
    # no text: every bill, newest introduced first, bills without a date last
    assert found(client.get("/search").text) == [gang, named, acted, ident, described]


def test_search_takes_percent_underscore_and_quotes_literally(client, login, engine):
    percent = make_bill(engine, "Budget 100% funded")
    plain = make_bill(engine, "Budget 100 funded")
    underscore = make_bill(engine, "Field a_b")
    ab = make_bill(engine, "Field axb")
    quoted = make_bill(engine, "O'Brien's \"sanctuary\" motion; DROP TABLE bills; --")
    bang = make_bill(engine, "Resolution !important")
    login(client, "staff")
    assert found(client.get("/search", params={"q": "100%"}).text) == [percent]
    assert found(client.get("/search", params={"q": "%"}).text) == [percent]
    assert found(client.get("/search", params={"q": "a_b"}).text) == [underscore]
    assert found(client.get("/search", params={"q": "_"}).text) == [underscore]
    assert found(client.get("/search", params={"q": "O'Brien's"}).text) == [quoted]
    assert found(client.get("/search", params={"q": '"sanctuary"'}).text) == [quoted]
    assert found(client.get("/search", params={"q": "bills; --"}).text) == [quoted]
    assert found(client.get("/search", params={"q": "!important"}).text) == [bang]
    assert found(client.get("/search", params={"q": "'"}).text) == [quoted]
    assert plain and ab  # present, never found by the wildcard characters


def test_like_pattern_escapes_wildcards():
    assert like_pattern("a%b_c!d") == "%a!%b!_c!!d%"


# -- filters ---------------------------------------------------------------------------------------------


@pytest.fixture
def mixed(engine):
    ids = {
        "gang": make_bill(engine, GANG, stage="enacted", status="Adopted", introduced=date(2026, 3, 1)),
        "flock": make_bill(engine, FLOCK, introduced=date(2026, 6, 1)),
        "detainers": make_bill(engine, DETAINERS, slug="lakeside", introduced=date(2026, 9, 1)),
        "parking": make_bill(engine, PARKING, introduced=date(2026, 10, 1)),
    }
    return ids


def test_filters_narrow_the_results(client, login, engine, mixed):
    login(client, "editor")
    assert found(client.get("/search?jurisdiction=lakeside").text) == [mixed["detainers"]]
    assert found(client.get("/search?stage=enacted").text) == [mixed["gang"]]
    assert found(client.get("/search?category=surveillance_technology").text) == [mixed["flock"]]
    assert found(client.get("/search?direction=expands").text) == [mixed["detainers"], mixed["gang"]]
    assert found(client.get("/search?state=none").text) == [mixed["parking"]]
    assert found(client.get("/search?from=2026-05-01&to=2026-09-30").text) == [
        mixed["detainers"],
        mixed["flock"],
    ]
    assert found(client.get("/search?from=2026-09-01&jurisdiction=riverton").text) == [mixed["parking"]]
    # the editor's decision and corrections are what the filters see
    client.post(f"/review/{mixed['gang']}/reject", data={"csrf_token": client.csrf})
    client.post(
        f"/review/{mixed['flock']}/correct",
        data={"csrf_token": client.csrf, "categories": "data_privacy_status", "direction": "expands"},
    )
    assert found(client.get("/search?state=rejected").text) == [mixed["gang"]]
    assert found(client.get("/search?direction=expands").text) == [mixed["detainers"], mixed["flock"]]
    assert found(client.get("/search?category=gang_databases").text) == []
    assert found(client.get("/search?category=data_privacy_status&state=confirmed").text) == [mixed["flock"]]
    assert found(client.get("/search?category=surveillance_technology").text) == []


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("stage=nowhere", "stage must be one of introduced"),
        ("from=yesterday", "from must be a date like 2026-11-25, not &#39;yesterday&#39;"),
        ("from=2026-02-01&to=2026-01-01", "the date range is empty"),
        ("page=0", "page must be a number from 1 to 9999999"),
        ("page=abc", "page must be a number from 1 to 9999999"),
        ("page=2147483647", "page must be a number from 1 to 9999999, not &#39;2147483647&#39;"),
        ("category=gangs", "category must be one of"),
        ("jurisdiction=atlantis", "no jurisdiction &#39;atlantis&#39; in the database"),
        ("state=maybe", "state must be one of"),
    ],
)
def test_bad_filters_are_one_line_errors(client, login, engine, query, message):
    make_bill(engine, GANG)
    login(client, "staff")
    r = client.get(f"/search?{query}")
    assert r.status_code == 400 and message in r.text and "Traceback" not in r.text
    r = client.get(f"/search.csv?{query}")
    assert r.status_code == 400 and r.text.startswith("Error: ") and r.text.count("\n") == 1


def test_paging_keeps_the_filters(client, login, engine):
    ids = [make_bill(engine, f"Budget line {i}", introduced=date(2026, 1, 1 + i)) for i in range(27)]
    ids += [
        make_bill(engine, f"Budget line {i}", introduced=date(2026, 2, 1 + i), slug="lakeside")
        for i in range(27)
    ]
    login(client, "staff")
    first = client.get("/search?q=budget")
    assert len(found(first.text)) == 50 and "1\N{EN DASH}50 of 54" in first.text
    assert 'href="/search?q=budget&amp;page=2"' in first.text
    second = client.get("/search?q=budget&page=2")
    assert len(found(second.text)) == 4 and set(found(first.text) + found(second.text)) == set(ids)
    # a page past the last one (a link kept from a longer list) says so and links the last page; it said
    # "No bills match" over "page 9 of 2" until 2026-12-07
    past = client.get("/search?q=budget&page=9")
    assert past.status_code == 200 and found(past.text) == [] and "No bills match" not in past.text
    assert "page 9 is past the last page of 54 results" in past.text
    assert 'href="/search?q=budget&amp;page=2">go to page 2</a>' in past.text
    lakeside = client.get("/search?q=budget&jurisdiction=lakeside")
    assert len(found(lakeside.text)) == 27 and "page=2" not in lakeside.text


def test_filters_round_trip_through_their_query_string():
    f = Filters.parse({"q": " a  b ", "stage": "passed", "from": "2026-01-02", "page": "3", "state": ""})
    assert f.query_string() == "?q=a+b&stage=passed&from=2026-01-02&page=3"
    again = Filters.parse(dict(parse_qsl(f.query_string(page=1)[1:])))
    assert again == Filters(q="a b", stage="passed", date_from=date(2026, 1, 2))


# -- CSV -------------------------------------------------------------------------------------------------


def test_search_csv_has_every_row_and_no_formulas(client, login, engine):
    formula = make_bill(
        engine, '=HYPERLINK("http://evil.example","click") gang database', introduced=date(2026, 5, 1)
    )
    others = [
        make_bill(engine, "+SUM(A1:A9) budget", introduced=date(2026, 4, 1)),
        make_bill(engine, "-2+3 budget", name="@cmd name", introduced=date(2026, 3, 1)),
        make_bill(engine, "\tTab budget", introduced=date(2026, 2, 1)),
    ]
    many = [make_bill(engine, f"Budget {i}", introduced=date(2025, 1, 1)) for i in range(55)]
    login(client, "staff")
    r = client.get("/search.csv?q=budget")
    assert r.status_code == 200 and "attachment" in r.headers["content-disposition"]
    rows = csv_rows(r.text)
    assert len(rows) == 58  # every row, not one page
    assert [int(row["id"]) for row in rows[:3]] == others
    assert {int(row["id"]) for row in rows[3:]} == set(many)
    assert [row["title"] for row in rows[:3]] == ["'+SUM(A1:A9) budget", "'-2+3 budget", "'\tTab budget"]
    rows = csv_rows(client.get("/search.csv?q=gang").text)
    assert [(int(r["id"]), r["title"][:11], r["categories"], r["review_state"]) for r in rows] == [
        (formula, "'=HYPERLINK", "gang_databases", "pending")
    ]
    for row in csv_rows(client.get("/search.csv").text):
        for value in row.values():
            assert not value.startswith(("=", "+", "-", "@", "\t")), value


# -- dashboard -------------------------------------------------------------------------------------------


def test_dashboard_shows_this_weeks_matches_and_status_changes(client, login, engine):
    new = make_bill(engine, GANG, first_seen_at=days_ago(2))
    old = make_bill(engine, DETAINERS, first_seen_at=days_ago(40))
    old_confirmed = make_bill(engine, FLOCK, first_seen_at=days_ago(40))
    unrelated = make_bill(engine, PARKING, first_seen_at=days_ago(1))
    status_change(engine, old, "Introduced", "Referred to Public Safety", observed_at=days_ago(1))
    status_change(engine, old, "Filed", "Introduced", observed_at=days_ago(20))
    status_change(engine, unrelated, "Introduced", "Passed", new_stage="passed", observed_at=days_ago(1))
    status_change(engine, new, "-", "Introduced", kind="first_seen", observed_at=days_ago(2))
    login(client, "editor")
    client.post(f"/review/{old_confirmed}/confirm", data={"csrf_token": client.csrf})
    page = client.get("/")
    assert page.status_code == 200
    assert "New matches (2)" in page.text and "Status changes (1)" in page.text
    assert "Referred to Public Safety" in page.text and "Passed" not in page.text
    assert "2 bills to review" in page.text  # the gang database and the detainers bill
    matches = csv_rows(client.get("/dashboard/new-matches.csv").text)
    assert [int(r["id"]) for r in matches] == [new, old_confirmed]
    changes = csv_rows(client.get("/dashboard/status-changes.csv").text)
    assert [(int(r["id"]), r["new_status"]) for r in changes] == [(old, "Referred to Public Safety")]
    set_first_seen(engine, new, days_ago(9))
    assert "New matches (1)" in client.get("/").text


# -- escaping and queries --------------------------------------------------------------------------------


def test_scraped_text_is_escaped_on_the_lists(client, login, engine):
    b = make_bill(engine, f"{GANG} {XSS}", name=f"{XSS}", status=XSS, first_seen_at=days_ago(1))
    status_change(engine, b, XSS, f"Referred {XSS}", observed_at=days_ago(1))
    login(client, "staff")
    for path in ("/search", "/search?q=script", "/"):
        r = client.get(path)
        assert XSS not in r.text and ESCAPED_XSS in r.text, path
    r = client.get("/search", params={"q": XSS})
    assert XSS not in r.text and ESCAPED_XSS in r.text


def _count_queries(engine):
    counter = {"n": 0}

    def before(*_args, **_kwargs):
        counter["n"] += 1

    event.listen(engine, "before_cursor_execute", before)
    return counter, lambda: event.remove(engine, "before_cursor_execute", before)


def test_a_list_page_costs_the_same_queries_for_5_or_50_rows(client, login, engine):
    """No query per row (N+1): the page of 50 bills runs as many queries as the page of 5."""
    for i in range(5):
        make_bill(engine, f"{GANG} {i}", actions=[(None, "Introduced", None)], first_seen_at=days_ago(1))
    login(client, "editor")

    def counts() -> list[int]:
        queries = []
        for path in ("/search", "/review", "/"):
            counter, stop = _count_queries(engine)
            try:
                assert client.get(path).status_code == 200
            finally:
                stop()
            queries.append(counter["n"])
        return queries

    five = counts()
    for i in range(45):
        b = make_bill(
            engine, f"{GANG} more {i}", actions=[(None, "Introduced", None)], first_seen_at=days_ago(1)
        )
        status_change(engine, b, "Introduced", "Referred", observed_at=days_ago(1))
    assert counts() == five


def test_the_effective_match_is_the_same_rule_in_sql_and_in_python(engine):
    """BillMatch's effective_* hybrids: the SQL expressions (filters, the queue, the digests, the API)
    agree with the Python properties (rows, records) on every reachable state (a confirmation always
    records at least one category and a direction)."""
    combos = [
        (state, relevant, (None, None))
        for state in (None, "pending", "rejected")
        for relevant in (True, False)
    ] + [
        ("confirmed", relevant, editor)
        for relevant in (True, False)
        for editor in ((["legal_defense"], "neutral"), (["legal_defense", "gang_databases"], None))
    ]
    ids = []
    for i, (state, relevant, (editor_categories, editor_direction)) in enumerate(combos):
        bill_id = make_bill(engine, f"{GANG} {i}" if relevant else f"{PARKING} {i}")
        with session_scope(engine) as s:
            m = s.get(BillMatch, bill_id)
            m.review_state, m.relevant = state, relevant
            m.categories = ["gang_databases"] if relevant else []
            m.direction = "expands" if relevant else None
            m.editor_categories, m.editor_direction = editor_categories, editor_direction
        ids.append(bill_id)
    with session_scope(engine) as s:
        dialect = s.get_bind().dialect.name
        for bill_id in ids:
            m = s.get(BillMatch, bill_id)
            in_sql = s.execute(
                select(
                    BillMatch.effective_relevant,
                    BillMatch.effective_direction,
                    *(has_category(code, dialect) for code in ("gang_databases", "legal_defense")),
                ).where(BillMatch.bill_id == bill_id)
            ).one()
            assert bool(in_sql[0]) is m.effective_relevant
            assert in_sql[1] == m.effective_direction
            assert [bool(x) for x in in_sql[2:]] == [
                code in m.effective_categories for code in ("gang_databases", "legal_defense")
            ]
