"""One bill's page (/bills/<id>): what it shows, its links (http(s) only), 404s, escaping, the review
buttons for editors only, and a fixed number of queries whatever the bill's history. Both engines."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import event

from tests.factories import ESCAPED_XSS, GANG, RINK, XSS, make_bill, status_change


@pytest.fixture
def gang(engine):
    b = make_bill(
        engine,
        GANG,
        identifier="O2026-0053",
        city="Riverton City Council",
        status="Referred to Public Safety",
        stage="in_committee",
        introduced=date(2026, 11, 2),
        sponsors=["Ana Ortiz", "Bo Chen"],
        actions=[
            (date(2026, 11, 2), "Introduced", None),
            (date(2026, 11, 9), "Referred to committee", "Referred to the Public Safety Committee"),
        ],
        attachments=[
            ("Ordinance text", "https://riverton.legistar.com/View.ashx?M=F&ID=1"),
            ("Fiscal note", "javascript:alert(document.cookie)"),
            ("Memo", "data:text/html,<b>x</b>"),
        ],
    )
    status_change(engine, b, None, "Introduced", kind="first_seen", new_stage="introduced",
                  observed_at=datetime(2026, 11, 2, 15, tzinfo=UTC))  # fmt: skip
    status_change(engine, b, "Introduced", "Referred to Public Safety",
                  observed_at=datetime(2026, 11, 10, 6, tzinfo=UTC), action_sequence=1)  # fmt: skip
    return b


def test_the_bill_page_shows_the_bill_its_history_and_links(client, login, gang):
    login(client, "staff")
    r = client.get(f"/bills/{gang}")
    assert r.status_code == 200
    text = r.text
    for expected in (
        "Riverton City Council",
        "O2026-0053",
        "Ana Ortiz (primary), Bo Chen",
        "in committee",
        "Referred to Public Safety",
        "first seen: Introduced",
        "Introduced → Referred to Public Safety",
        "2026-11-09 Referred to committee (City Council)",  # the action that explains the change
        "Referred to the Public Safety Committee",  # action text
        "2026-11-10 06:00 UTC",
        "Gang databases; expands sanctuary",
        "No decisions yet.",
    ):
        assert expected in text, expected
    assert '<mark class="ev-term">gang database</mark>' in text
    # links: the council's page and the http(s) documents only
    assert re.search(r'<a href="https://riverton\.legistar\.com/LegislationDetail\.aspx\?ID=\d+"', text)
    assert '<a href="https://riverton.legistar.com/View.ashx?M=F&amp;ID=1"' in text
    assert 'href="javascript:' not in text and 'href="data:' not in text
    assert "Fiscal note" in text and "Memo" in text


def test_unknown_bill_is_a_404_page(client, login, engine):
    login(client, "staff")
    r = client.get("/bills/99999", headers={"Accept": "text/html"})
    assert r.status_code == 404
    assert "No bill with id 99999." in r.text and "<html" in r.text and "Traceback" not in r.text


def test_bill_id_that_is_not_a_number_is_a_400_page(client, login, engine):
    """Like /members/<id> and /api/bills/<id>: text, a fraction or an id past the INTEGER column is bad
    input (400), not an unknown bill (404)."""
    login(client, "staff")
    for path in (
        "/bills/abc",
        "/bills/1e3",
        "/bills/1.5",
        "/bills/-1",
        "/bills/99999999999999999999999",
        "/bills/%3Cscript%3Ealert(1)",
    ):
        r = client.get(path, headers={"Accept": "text/html"})
        assert r.status_code == 400, (path, r.status_code)
        assert "bill_id" in r.text and "<html" in r.text and "Traceback" not in r.text
        assert "<script>" not in r.text and "No bill with id" not in r.text
    r = client.get("/bills/%3Cscript%3Ealert(1)%3C%2Fscript%3E", headers={"Accept": "text/html"})
    assert r.status_code == 404 and XSS not in r.text  # the decoded / makes it no bill page's path


def test_review_history_and_buttons(client, login, engine, gang):
    login(client, "editor", username="alice")
    page = client.get(f"/bills/{gang}").text
    assert f'action="/review/{gang}/confirm"' in page and "hx-post" not in page  # plain forms here
    r = client.post(
        f"/review/{gang}/correct",
        data={
            "csrf_token": client.csrf,
            "categories": "police_accountability",
            "direction": "expands",
            "note": "oversight",
            "next": f"/bills/{gang}",
        },
    )
    assert r.status_code == 303 and r.headers["location"] == f"/bills/{gang}"
    page = client.get(r.headers["location"]).text
    assert "confirmed</strong> by alice" in page and "“oversight”" in page
    assert "Police accountability; expands sanctuary" in page
    client.cookies.clear()
    login(client, "staff")
    page = client.get(f"/bills/{gang}").text
    assert "confirmed</strong> by alice" in page
    assert "/review/" not in page  # no buttons for staff


def test_scraped_text_is_escaped_on_the_bill_page(client, login, engine):
    b = make_bill(
        engine,
        f"{GANG} {XSS}",
        name=f"Name {XSS}",
        status=XSS,
        identifier=XSS,
        sponsors=[XSS],
        actions=[(None, XSS, XSS)],
        attachments=[(XSS, 'https://example.org/"><script>alert(1)</script>')],
        public_url='https://example.org/" onmouseover="alert(1)',
    )
    login(client, "editor")
    client.post(f"/review/{b}/confirm", data={"csrf_token": client.csrf, "note": XSS})
    r = client.get(f"/bills/{b}")
    assert r.status_code == 200
    assert XSS not in r.text and ESCAPED_XSS in r.text
    assert 'onmouseover="alert(1)' not in r.text


def test_the_bill_page_costs_a_fixed_number_of_queries(client, login, engine):
    small = make_bill(engine, RINK, actions=[(None, "Introduced", None)], sponsors=["A"])
    big = make_bill(
        engine,
        RINK,
        actions=[(None, f"Action {i}", None) for i in range(40)],
        sponsors=[f"Sponsor {i}" for i in range(10)],
        attachments=[(f"Doc {i}", f"https://x.example/{i}") for i in range(10)],
    )
    for i in range(10):
        status_change(engine, big, f"S{i}", f"S{i + 1}", action_sequence=i)
    login(client, "staff")
    counts = []
    for b in (small, big):
        n = {"queries": 0}

        def count(*_args, n=n, **_kwargs):
            n["queries"] += 1

        event.listen(engine, "before_cursor_execute", count)
        try:
            assert client.get(f"/bills/{b}").status_code == 200
        finally:
            event.remove(engine, "before_cursor_execute", count)
        counts.append(n["queries"])
    assert counts[0] == counts[1]


def test_a_bill_whose_sponsors_wait_for_the_sweep_says_so(client, login, engine):
    """A backfill leaves some bills' sponsors to the next sweep ([crawl] sponsors_by_title): their page and
    the API say the sponsors are not read yet, not that there are none."""
    from sqlalchemy import update

    from db.engine import session_scope
    from db.models import Bill

    waiting = make_bill(engine, RINK)
    none = make_bill(engine, RINK)
    with session_scope(engine) as s:
        s.execute(update(Bill).where(Bill.id == waiting).values(sponsors_fetched_at=None))
    login(client, "staff")
    page = client.get(f"/bills/{waiting}").text
    assert "not read yet (the next sweep of the portal reads them)" in page and "none listed" not in page
    page = client.get(f"/bills/{none}").text
    assert "none listed" in page and "not read yet" not in page
    assert client.get(f"/api/bills/{waiting}").json()["sponsors_pending"] is True
    assert client.get(f"/api/bills/{none}").json()["sponsors_pending"] is False
