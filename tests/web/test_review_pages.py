"""The editors' review queue (/review): permissions, the queue and its filters, evidence marks, and each
decision (confirm, reject, correct, note) through the no-JS form post and through htmx, writing the
decision and its audit event with the logged-in editor as the actor. Both engines."""

from __future__ import annotations

import csv
import io
import re

import pytest
from sqlalchemy import select

from db.engine import session_scope
from db.models_review import ReviewEvent
from tests.factories import DETAINERS, ESCAPED_XSS, FLOCK, GANG, RINK, XSS, days_ago, make_bill, match_row

HTMX = {"HX-Request": "true"}


def audit(engine, bill_id):
    with session_scope(engine) as s:
        return [
            (e.kind, e.actor, e.note, e.categories, e.direction)
            for e in s.scalars(
                select(ReviewEvent).where(ReviewEvent.bill_id == bill_id).order_by(ReviewEvent.id)
            )
        ]


@pytest.fixture
def bills(engine):
    """Three pending bills in two cities (newest first: flock, detainers, gang) and one not relevant."""
    return {
        "gang": make_bill(engine, GANG, identifier="O2026-0053", first_seen_at=days_ago(30)),
        "detainers": make_bill(engine, DETAINERS, slug="lakeside", first_seen_at=days_ago(20)),
        "flock": make_bill(engine, FLOCK, first_seen_at=days_ago(10)),
        "rink": make_bill(engine, RINK, first_seen_at=days_ago(5)),
    }


def row_ids(html: str) -> list[int]:
    return [int(x) for x in re.findall(r'<article class="review-row[^"]*" id="bill-(\d+)"', html)]


# -- permissions -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/review", "/review.csv"])
def test_the_queue_needs_a_login_and_the_editor_role(client, login, bills, path):
    r = client.get(path)
    assert r.status_code == 303 and r.headers["location"].startswith("/login?next=/review")
    login(client, "staff")
    assert client.get(path).status_code == 403
    client.cookies.clear()
    login(client, "editor")
    assert client.get(path).status_code == 200


def test_staff_cannot_decide(client, login, engine, bills):
    login(client, "staff")
    for action in ("confirm", "reject", "correct", "note"):
        r = client.post(f"/review/{bills['gang']}/{action}", data={"csrf_token": client.csrf, "note": "x"})
        assert r.status_code == 403, action
    assert match_row(engine, bills["gang"]).review_state == "pending"
    assert audit(engine, bills["gang"]) == []


def test_a_post_without_the_csrf_token_is_refused(client, login, engine, bills):
    login(client, "editor")
    r = client.post(f"/review/{bills['gang']}/confirm", data={"note": "no token"})
    assert r.status_code == 403
    r = client.post(f"/review/{bills['gang']}/confirm", data={"csrf_token": "forged", "note": "bad token"})
    assert r.status_code == 403
    assert match_row(engine, bills["gang"]).review_state == "pending"
    assert audit(engine, bills["gang"]) == []


def test_unknown_bill_is_404(client, login):
    login(client, "editor")
    r = client.post("/review/99999/confirm", data={"csrf_token": client.csrf})
    assert r.status_code == 404


# -- the queue -------------------------------------------------------------------------------------------


def cli_queue_order(engine, **filters) -> list[int]:
    """The ids of the open queue in `tracker review list`'s order (tracker.review.list_reviews)."""
    from tracker.review import list_reviews

    with session_scope(engine) as s:
        return [r["id"] for r in list_reviews(s, states=["pending", "flagged"], **filters)]


def test_queue_lists_pending_matches_in_the_cli_order_with_evidence_marked(client, login, engine, bills):
    login(client, "editor")
    r = client.get("/review")
    assert r.status_code == 200
    assert sorted(row_ids(r.text)) == sorted([bills["flock"], bills["detainers"], bills["gang"]])  # no rink
    assert row_ids(r.text) == cli_queue_order(engine)  # the one order of the queue, web and CLI
    assert '<mark class="ev-term">gang database</mark>' in r.text
    assert '<mark class="ev-cue">abolishing</mark>' in r.text
    assert "/static/review.js" in r.text and "Keyboard shortcuts" in r.text


def test_queue_filters(client, login, engine, bills):
    login(client, "editor")
    assert row_ids(client.get("/review?jurisdiction=lakeside").text) == [bills["detainers"]]
    assert row_ids(client.get("/review?category=surveillance_technology").text) == [bills["flock"]]
    assert row_ids(client.get("/review?direction=restricts").text) == [bills["flock"]]
    assert row_ids(client.get("/review?direction=expands&jurisdiction=riverton").text) == [bills["gang"]]
    client.post(f"/review/{bills['gang']}/confirm", data={"csrf_token": client.csrf})
    assert bills["gang"] not in row_ids(client.get("/review").text)
    assert row_ids(client.get("/review?state=confirmed").text) == [bills["gang"]]
    r = client.get("/review?direction=sideways")
    assert r.status_code == 400
    assert "direction must be one of expands, restricts, neutral, not &#39;sideways&#39;" in r.text
    assert "Traceback" not in r.text


def test_queue_pages(client, login, engine):
    for i in range(53):
        make_bill(engine, f"{GANG} number {i}", first_seen_at=days_ago(60 - i), match=True)
    login(client, "editor")
    first, second = client.get("/review"), client.get("/review?page=2")
    assert len(row_ids(first.text)) == 50 and len(row_ids(second.text)) == 3
    assert not set(row_ids(first.text)) & set(row_ids(second.text))
    assert 'href="/review?page=2"' in first.text


def test_queue_csv(client, login, engine, bills):
    make_bill(engine, '=HYPERLINK("http://evil") ' + GANG, first_seen_at=days_ago(1))
    login(client, "editor")
    r = client.get("/review.csv?jurisdiction=riverton")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert [int(row["id"]) for row in rows] == cli_queue_order(engine, jurisdiction="riverton")
    assert {row["title"][:11] for row in rows} == {"'=HYPERLINK", FLOCK[:11], GANG[:11]}
    assert {row["review_state"] for row in rows} == {"pending"}


# -- decisions -------------------------------------------------------------------------------------------


def test_confirm_without_javascript_redirects_back(client, login, engine, bills):
    login(client, "editor", username="alice")
    r = client.post(
        f"/review/{bills['gang']}/confirm",
        data={"csrf_token": client.csrf, "note": "abolition", "next": "/review?jurisdiction=riverton"},
    )
    assert r.status_code == 303
    assert r.headers["location"] == f"/review?jurisdiction=riverton#bill-{bills['gang']}"
    m = match_row(engine, bills["gang"])
    assert (m.review_state, m.decided_by, m.note) == ("confirmed", "alice", "abolition")
    assert audit(engine, bills["gang"]) == [
        ("confirmed", "alice", "abolition", ["gang_databases"], "expands")
    ]
    page = client.get(r.headers["location"])
    assert "Confirmed riverton:O2026-0053 (gang_databases; expands) by alice." in page.text


def test_reject_with_htmx_answers_the_row(client, login, engine, bills):
    login(client, "editor", username="bob")
    r = client.post(
        f"/review/{bills['flock']}/reject",
        data={"csrf_token": client.csrf, "note": "a parking camera"},
        headers=HTMX,
    )
    assert r.status_code == 200
    assert "<html" not in r.text and row_ids(r.text) == [bills["flock"]]
    assert "Rejected by bob" in r.text and "a parking camera" in r.text
    assert match_row(engine, bills["flock"]).review_state == "rejected"
    assert audit(engine, bills["flock"]) == [("rejected", "bob", "a parking camera", None, None)]


def test_the_csrf_header_is_accepted(client, login, engine, bills):
    """htmx sends the token as X-CSRF-Token (base.html's hx-headers)."""
    login(client, "editor")
    r = client.post(f"/review/{bills['gang']}/confirm", headers={**HTMX, "X-CSRF-Token": client.csrf})
    assert r.status_code == 200
    assert match_row(engine, bills["gang"]).review_state == "confirmed"


def test_correct_category_and_direction(client, login, engine, bills):
    login(client, "editor", username="carol")
    data = {
        "csrf_token": client.csrf,
        "categories": ["police_accountability", "gang_databases"],
        "direction": "expands",
        "note": "oversight",
    }
    r = client.post(f"/review/{bills['flock']}/correct", data=data, headers=HTMX)
    assert r.status_code == 200
    m = match_row(engine, bills["flock"])
    assert (m.review_state, m.editor_categories, m.editor_direction) == (
        "confirmed",
        ["police_accountability", "gang_databases"],
        "expands",
    )
    assert m.categories == ["surveillance_technology"]  # the machine's own fields are kept apart
    assert audit(engine, bills["flock"]) == [
        ("confirmed", "carol", "oversight", ["police_accountability", "gang_databases"], "expands")
    ]
    # the correction now drives the filters
    assert row_ids(client.get("/review?state=confirmed&category=police_accountability").text) == [
        bills["flock"]
    ]
    assert row_ids(client.get("/review?state=confirmed&category=surveillance_technology").text) == []
    assert row_ids(client.get("/review?state=confirmed&direction=restricts").text) == []


def test_confirming_a_bill_without_categories_says_what_to_do_in_the_forms_words(
    client, login, engine, bills
):
    """A bill in the queue without categories (tracked by hand: the rink) answered Confirm with the command
    line's "give --category CODE" until 2026-12-07; the page now names the form to use. Nothing is written."""
    from sqlalchemy import update

    from db.models_review import BillMatch

    with session_scope(engine) as s:
        s.execute(update(BillMatch).where(BillMatch.bill_id == bills["rink"]).values(review_state="pending"))
    login(client, "editor")
    r = client.post(f"/review/{bills['rink']}/confirm", data={"csrf_token": client.csrf}, headers=HTMX)
    assert r.status_code == 400  # the row comes back with the error
    assert "has no categories yet: choose them under “Correct category and direction”" in r.text
    assert "--category" not in r.text
    assert match_row(engine, bills["rink"]).review_state == "pending"


def test_correct_refuses_bad_input_with_one_line(client, login, engine, bills):
    login(client, "editor")
    r = client.post(
        f"/review/{bills['gang']}/correct",
        data={"csrf_token": client.csrf, "categories": "gang_database", "direction": "expands"},
        headers=HTMX,
    )
    assert r.status_code == 400
    assert (
        "Error: unknown category code &#39;gang_database&#39; (did you mean &#39;gang_databases&#39;?)"
        in r.text
    )
    r = client.post(
        f"/review/{bills['gang']}/correct",
        data={"csrf_token": client.csrf, "categories": "gang_databases", "direction": "sideways"},
    )
    assert r.status_code == 303  # without JS: back to the queue with the error shown
    page = client.get(r.headers["location"])
    assert "Error: direction must be one of expands, restricts, neutral, not &#39;sideways&#39;" in page.text
    r = client.post(f"/review/{bills['gang']}/correct", data={"csrf_token": client.csrf}, headers=HTMX)
    assert r.status_code == 400 and "choose at least one category" in r.text
    assert match_row(engine, bills["gang"]).review_state == "pending"
    assert audit(engine, bills["gang"]) == []


def test_add_a_bill_the_matcher_missed(client, login, engine, bills):
    login(client, "editor", username="dana")
    r = client.post(
        f"/review/{bills['rink']}/correct",
        data={"csrf_token": client.csrf, "categories": "legal_defense", "next": f"/bills/{bills['rink']}"},
    )
    assert r.status_code == 303 and r.headers["location"] == f"/bills/{bills['rink']}"
    m = match_row(engine, bills["rink"])
    assert (m.review_state, m.source, m.editor_categories) == ("confirmed", "editor", ["legal_defense"])
    assert audit(engine, bills["rink"])[0][:2] == ("added", "dana")


def test_notes_on_decided_and_pending_bills(client, login, engine, bills):
    login(client, "editor", username="erin")
    gang = bills["gang"]
    client.post(
        f"/review/{gang}/correct", data={"csrf_token": client.csrf, "categories": "police_accountability"}
    )
    r = client.post(
        f"/review/{gang}/note", data={"csrf_token": client.csrf, "note": "see the hearing"}, headers=HTMX
    )
    assert r.status_code == 200 and "see the hearing" in r.text
    m = match_row(engine, gang)
    # a note without a decision: the correction stands, the trail records a "noted" event
    assert (m.review_state, m.editor_categories, m.note) == (
        "confirmed",
        ["police_accountability"],
        "see the hearing",
    )
    assert [e[:3] for e in audit(engine, gang)] == [
        ("confirmed", "erin", None),
        ("noted", "erin", "see the hearing"),
    ]
    # a pending bill takes a note too, and stays pending
    flock_note = {"csrf_token": client.csrf, "note": "ask the clerk"}
    r = client.post(f"/review/{bills['flock']}/note", data=flock_note, headers=HTMX)
    assert r.status_code == 200 and "ask the clerk" in r.text
    assert match_row(engine, bills["flock"]).review_state == "pending"
    assert [e[:3] for e in audit(engine, bills["flock"])] == [("noted", "erin", "ask the clerk")]
    # an empty note is refused, nothing written
    r = client.post(f"/review/{gang}/note", data={"csrf_token": client.csrf, "note": "  "}, headers=HTMX)
    assert r.status_code == 400 and "the note is empty" in r.text
    assert len(audit(engine, gang)) == 2


def test_redirect_stays_on_this_site(client, login, bills):
    login(client, "editor")
    for target in ("https://evil.example/", "//evil.example/x", "/\\evil.example"):
        r = client.post(f"/review/{bills['gang']}/confirm", data={"csrf_token": client.csrf, "next": target})
        assert r.status_code == 303 and r.headers["location"].startswith("/#bill-"), target


def test_scraped_text_is_escaped_in_the_queue(client, login, engine):
    b = make_bill(engine, f"{GANG} {XSS}", name=f"{XSS} name")
    login(client, "editor")
    client.post(f"/review/{b}/confirm", data={"csrf_token": client.csrf, "note": f"note {XSS}"})
    for page in (
        client.get("/review?state=confirmed"),
        client.post(f"/review/{b}/note", data={"csrf_token": client.csrf, "note": XSS}, headers=HTMX),
    ):
        assert XSS not in page.text
        assert ESCAPED_XSS in page.text


def _seen(html: str, bill_id: int) -> str:
    """The hidden ``seen`` of a bill's decision form on a page."""
    form = html[html.index(f'action="/review/{bill_id}/') :]
    return re.search(r'name="seen" value="([^"]*)"', form).group(1)


def test_a_decision_taken_since_the_page_was_loaded_is_not_replaced_unseen(app, client, login, engine, bills):
    """Two editors open the same bill; one confirms it; the other, still on the page that showed it
    undecided, rejects it: that is refused with one line naming the decision taken meanwhile, nothing is
    written, and after looking again the second editor can decide (with or without JavaScript)."""
    from starlette.testclient import TestClient

    gang = bills["gang"]
    login(client, "editor", username="alice")
    with TestClient(app, follow_redirects=False) as other:
        login(other, "editor", username="bob")
        alice_saw = _seen(client.get("/review").text, gang)
        bob_saw = _seen(other.get(f"/bills/{gang}").text, gang)
        assert alice_saw == bob_saw == "undecided"
        ok = client.post(f"/review/{gang}/confirm", data={"csrf_token": client.csrf, "seen": alice_saw})
        assert ok.status_code == 303

        stale = other.post(
            f"/review/{gang}/reject",
            data={"csrf_token": other.csrf, "seen": bob_saw, "note": "not ours", "next": f"/bills/{gang}"},
        )
        assert stale.status_code == 303
        page = other.get(stale.headers["location"]).text
        assert re.search(
            r"Error: riverton:O2026-0053 was confirmed by alice on \d{4}-\d\d-\d\d \d\d:\d\d UTC, after this "
            r"page was loaded: nothing was changed; look at it again before deciding",
            page,
        ), page
        with_htmx = other.post(
            f"/review/{gang}/correct",
            data={"csrf_token": other.csrf, "seen": bob_saw, "categories": "police_accountability"},
            headers=HTMX,
        )
        assert with_htmx.status_code == 400 and "after this page was loaded" in with_htmx.text
        m = match_row(engine, gang)
        assert (m.review_state, m.decided_by, m.note) == ("confirmed", "alice", None)
        assert [e[:2] for e in audit(engine, gang)] == [("confirmed", "alice")]

        # looked at again: the page shows alice's decision, and bob's decision replaces it knowingly
        bob_saw = _seen(page, gang)
        assert bob_saw == m.decided_at.isoformat()
        again = other.post(
            f"/review/{gang}/reject", data={"csrf_token": other.csrf, "seen": bob_saw, "note": "not ours"}
        )
        assert again.status_code == 303
        assert match_row(engine, gang).review_state == "rejected"
        assert [e[:2] for e in audit(engine, gang)] == [("confirmed", "alice"), ("rejected", "bob")]
