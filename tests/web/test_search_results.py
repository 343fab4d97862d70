"""The text search answers the same bills, in the same order, with the same totals, whatever plan the database
picks: /search, /search.csv and /api/bills (with paging) against the words counted in Python over the bills'
titles, names, identifiers, action texts and read documents, and the search query with and without
:func:`tracker.read_model.plan_text_search` (PostgreSQL's lower random-page cost for the rest of the
transaction, which lets a common word's search take the trigram indexes; nothing on SQLite). Both engines."""

from __future__ import annotations

import csv
import io
import itertools
import re
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select, text

from db.engine import session_scope
from db.models import Bill
from db.models_documents import Document
from tests import factories as f
from tests.factories import make_bill
from tracker.read_model import TEXT_SEARCH_RANDOM_PAGE_COST, plan_text_search, text_condition
from tracker.web.queries.filters import PER_PAGE

STREETS = ["Main Street", "Harbor Way", "Elm Avenue"]


@pytest.fixture
def corpus(engine) -> dict[int, tuple[date | None, str]]:
    """Bills whose words sit in different places (title, name, identifier, an action's text, a document, a
    failed document), with equal and missing introduction dates: id -> (introduced, every searched text)."""
    bills: dict[int, tuple[date | None, str]] = {}
    for n in range(PER_PAGE + 14):  # more than a page of the common word
        kind = n % 7
        title = f"AN ORDINANCE amending {STREETS[n % 3]} parking, No. {n}" if kind < 4 else f"Resolution {n}"
        name = "Sanctuary name" if kind == 4 else None
        identifier = f"ORDINANCE-{n}" if kind == 5 else f"R-{n}"
        action = "Referred with the Ordinance attached" if kind == 6 else "Referred"
        introduced = None if n % 9 == 0 else date(2026, 1 + n % 5, 1)  # ties and nulls
        bill_id = make_bill(
            engine,
            title,
            slug="portalder" if n % 5 == 0 else "riverton",
            name=name,
            identifier=identifier,
            introduced=introduced,
            actions=[(date(2026, 2, 1), "Referred", action)],
            match=False,
        )
        searched = " ".join([title, name or "", identifier, action])
        if n % 10 == 3:
            searched += " " + _document(engine, bill_id, "A detainer ordinance, 100% literal_text", "ok")
        if n % 10 == 4:
            _document(engine, bill_id, "failed ordinance detainer", "failed")  # never searched
        bills[bill_id] = (introduced, searched)
    return bills


def _document(engine, bill_id: int, body: str, status: str) -> str:
    with session_scope(engine) as s:
        s.add(
            Document(
                bill_id=bill_id,
                url=f"https://example.legistar.com/View.ashx?ID={bill_id}",
                url_hash=f"{bill_id:064d}",
                name="Attachment",
                status=status,
                text=body,
                checked_at=datetime(2026, 11, 20, tzinfo=UTC),
            )
        )
    return body


def expected(corpus: dict[int, tuple[date | None, str]], q: str) -> list[int]:
    """The bills containing every word of ``q`` (case-insensitively), newest introduced first (no date
    last), then the highest id first: the search page's order."""
    words = [w.lower() for w in q.split()]
    hits = [i for i, (_, body) in corpus.items() if all(w in body.lower() for w in words)]
    return sorted(hits, key=lambda i: (corpus[i][0] is None, -(corpus[i][0] or date.min).toordinal(), -i))


WORDS = ["ordinance", "ORDINANCE street", "sanctuary", "detainer", "100%", "literal_text", "zzz", "r-1"]


@pytest.mark.parametrize("q", WORDS)
def test_search_pages_api_and_csv_answer_every_bill_with_the_words(client, login, corpus, q):
    want = expected(corpus, q)
    assert q in ("zzz",) or want  # every other word is somewhere
    login(client, "staff")
    page_ids: list[int] = []
    for number in range(1, 4):
        html = client.get("/search", params={"q": q, "page": number}).text
        page_ids += [int(i) for i in re.findall(r'<a class="file" href="/bills/(\d+)">', html)]
        if number == 1 and want:
            assert f"of {len(want)}</span>" in html  # the total the pager shows
    assert page_ids == want
    rows = list(csv.DictReader(io.StringIO(client.get("/search.csv", params={"q": q}).text)))
    assert [int(r["id"]) for r in rows] == want
    api_ids: list[int] = []
    for offset in range(0, PER_PAGE + 20, 25):
        body = client.get("/api/bills", params={"q": q, "limit": 25, "offset": offset}).json()
        assert body["total"] == len(want)
        api_ids += [b["id"] for b in body["items"]]
    assert api_ids == sorted(want)  # the API: oldest id first


def test_api_search_under_match_filters_counts_the_bills_it_lists(client, login, engine, corpus):
    """/api/bills?q= under every match filter and a city: the same bills as the filter without words, less
    those without the words, and its total (counted on a narrower query) is their number."""
    with session_scope(engine) as s:
        for n, bill_id in enumerate(sorted(corpus)[:40]):
            b = s.get(Bill, bill_id)
            assert b is not None
            if n % 4 == 0:
                f.match(s, b)
            elif n % 4 == 1:
                f.match(s, b, review_state="confirmed", decided_at=f.T0)
            elif n % 4 == 2:
                f.match(s, b, relevant=False, categories=(), direction=None, review_state=None)
    login(client, "staff")
    words = set(expected(corpus, "ordinance"))
    seen = set()
    for relevant, state, city in itertools.product(
        ["", "true", "false"], ["", "pending", "confirmed", "none"], ["", "riverton", "portalder"]
    ):
        params = {"relevant": relevant, "review_state": state, "jurisdiction": city, "limit": 500}
        params = {k: v for k, v in params.items() if v}
        everything = client.get("/api/bills", params=params).json()
        searched = client.get("/api/bills", params={**params, "q": "ordinance"}).json()
        want = [b["id"] for b in everything["items"] if b["id"] in words]
        assert [b["id"] for b in searched["items"]] == want, params
        assert searched["total"] == len(want), params
        seen.add(len(want))
    assert 0 in seen and len(seen) > 4  # the filters select different bills
    past = client.get("/api/bills", params={"q": "ordinance", "offset": 400}).json()
    assert (past["items"], past["total"], past["next"]) == ([], len(words), None)  # past the last page


@pytest.mark.parametrize("q", WORDS)
def test_the_planner_setting_changes_no_row(engine, corpus, q):
    query = (
        select(Bill.id, func.count().over())
        .where(text_condition(q, engine.dialect.name))
        .order_by(Bill.introduced.desc().nulls_last(), Bill.id.desc())
    )
    with session_scope(engine) as s:
        default = s.execute(query).all()
    with session_scope(engine) as s:
        plan_text_search(s)
        planned = s.execute(query).all()
    assert planned == default
    assert [i for i, _ in planned] == expected(corpus, q)


def test_the_planner_setting_lasts_only_the_transaction(engine):
    with session_scope(engine) as s:
        plan_text_search(s)  # on SQLite: nothing, and no error
        if engine.dialect.name == "postgresql":
            assert float(s.scalar(text("SHOW random_page_cost"))) == TEXT_SEARCH_RANDOM_PAGE_COST
    if engine.dialect.name == "postgresql":
        with session_scope(engine) as s:
            assert float(s.scalar(text("SHOW random_page_cost"))) != TEXT_SEARCH_RANDOM_PAGE_COST


def test_every_list_filtered_by_words_gets_the_planner_setting(engine):
    """The review queue and every list built from the shared filters (tracker/web/queries/sql.py) plan a
    search like /search does."""
    from tracker.web.queries.filters import Filters
    from tracker.web.queries.sql import conditions

    with session_scope(engine) as s:
        conditions(s, Filters(q="ordinance"))
        if engine.dialect.name == "postgresql":
            assert float(s.scalar(text("SHOW random_page_cost"))) == TEXT_SEARCH_RANDOM_PAGE_COST
    with session_scope(engine) as s:
        conditions(s, Filters())
        if engine.dialect.name == "postgresql":
            assert float(s.scalar(text("SHOW random_page_cost"))) != TEXT_SEARCH_RANDOM_PAGE_COST
