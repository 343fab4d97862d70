"""The learned layer on the web: the "uncertain" badge (with its plain-words tooltip) and the "uncertain
first" order of the review queue, and the model's evidence (probability, similar labelled titles, why this
direction), escaped, on the review card and the bill page. Both engines; the rows' uncertain and learned
fields are written directly (the learned layer has its own tests)."""

from __future__ import annotations

import csv
import io
import re

from sqlalchemy import select, update

from db.engine import session_scope
from db.models_review import BillMatch
from tests.factories import DETAINERS, ESCAPED_XSS, FLOCK, GANG, XSS, days_ago, make_bill

LEARNED = {
    "model": "db-2",
    "probability": 0.5123,
    "uncertain": True,
    "similar": [
        {"title": f"Gang database {XSS}", "label": "relevant: gang_databases", "source": "riverton",
         "similarity": 0.9},
        {"title": "Ending the gang registry", "label": "relevant: gang_databases, restricts",
         "source": "labels/oakdale.csv", "similarity": 0.85},
    ],
    "direction_reason": f"learned from labelled titles like it {XSS}",
    "category_probability": 0.7,
}  # fmt: skip


def _bills(engine):
    ids = {
        "gang": make_bill(engine, GANG, first_seen_at=days_ago(30)),  # the oldest: last by default
        "detainers": make_bill(engine, DETAINERS, first_seen_at=days_ago(20)),
        "flock": make_bill(engine, FLOCK, first_seen_at=days_ago(10)),
    }
    with session_scope(engine) as s:
        s.execute(update(BillMatch).where(BillMatch.bill_id.in_(ids.values())).values(
            review_state="pending", uncertain=False, learned=None))  # fmt: skip
        s.execute(update(BillMatch).where(BillMatch.bill_id == ids["gang"]).values(
            uncertain=True, learned=LEARNED))  # fmt: skip
    return ids


def _order(html: str) -> list[int]:
    return [int(x) for x in re.findall(r'<article class="review-row[^"]*" id="bill-(\d+)"', html)]


def test_queue_badges_uncertain_and_orders_them_first(client, login, engine):
    ids = _bills(engine)
    login(client, "editor")
    html = client.get("/review").text
    with session_scope(engine) as s:
        scores = dict(s.execute(select(BillMatch.bill_id, BillMatch.score)).all())
    by_score = sorted(ids.values(), key=lambda b: (-scores[b], b))  # the queue's order: best score first
    assert _order(html) == by_score
    assert html.count('class="state state-uncertain"') == 1
    assert 'title="Uncertain: the model&#39;s probability is near its decision boundary' in html
    first = client.get("/review?order=uncertain")
    assert first.status_code == 200
    assert _order(first.text) == [ids["gang"], *[b for b in by_score if b != ids["gang"]]]
    assert '<option value="uncertain" selected>uncertain first</option>' in first.text
    assert client.get("/review?order=sideways").status_code == 400


def test_review_card_and_bill_page_show_the_evidence_escaped(client, login, engine):
    ids = _bills(engine)
    login(client, "editor")
    for html in (client.get("/review").text, client.get(f"/bills/{ids['gang']}").text):
        assert "Model: probability 0.51 (uncertain)" in html
        like = "Like: Ending the gang registry — relevant: gang_databases, restricts (labels/oakdale.csv)"
        assert like in html
        assert f"Like: Gang database {ESCAPED_XSS}" in html and XSS not in html
        reason = f"learned from labelled titles like it {ESCAPED_XSS}"
        assert f"Why this direction: {reason}" in html or f'<td class="why">{reason}</td>' in html
    page = client.get(f"/bills/{ids['flock']}").text
    assert "Model: probability" not in page and "state-uncertain" not in page


def test_a_near_miss_is_badged_says_what_confirming_adds_and_confirming_adds_it(client, login, engine):
    """A near miss (pending, not relevant, uncertain: tracker/matcher/apply.py) is badged on the queue and
    the bill page, says what confirming it adds (the stored suggestion, escaped), preselects it in the
    correction form, and the Confirm button adds it so."""
    ids = _bills(engine)
    suggested = {"categories": ["gang_databases"], "direction": "expands", "reason": f"abolishing {XSS}"}
    with session_scope(engine) as s:
        s.execute(update(BillMatch).where(BillMatch.bill_id == ids["flock"]).values(
            relevant=False, categories=[], direction=None, uncertain=True,
            learned={**LEARNED, "probability": 0.15, "suggested": suggested}))  # fmt: skip
    login(client, "editor")
    for html in (client.get("/review").text, client.get(f"/bills/{ids['flock']}").text):
        assert html.count('class="state state-near-miss"') == 1
        assert "Near miss: not on the list. Confirming adds it as Gang databases; expands sanctuary" in html
        assert f"(abolishing {ESCAPED_XSS})" in html and XSS not in html
    card = client.get("/review").text.split(f'id="bill-{ids["flock"]}"')[1].split("</article>")[0]
    assert '<option value="gang_databases" selected>' in card
    assert '<option value="expands" selected>' in card
    assert "state-near-miss" not in client.get(f"/bills/{ids['gang']}").text  # relevant: not a near miss

    r = client.post(f"/review/{ids['flock']}/confirm", data={"csrf_token": client.csrf})
    assert r.status_code in (200, 303), r.text
    with session_scope(engine) as s:
        match = s.get(BillMatch, ids["flock"])
        decided = (match.review_state, match.editor_categories, match.editor_direction)
    assert decided == ("confirmed", ["gang_databases"], "expands")
    assert "state-near-miss" not in client.get(f"/bills/{ids['flock']}").text


def test_the_queue_filter_and_csv_know_near_misses_and_a_tracked_bill_is_not_one(client, login, engine):
    ids = _bills(engine)
    suggested = {"categories": ["gang_databases"], "direction": "expands", "reason": "abolishing"}
    with session_scope(engine) as s:
        s.execute(update(BillMatch).where(BillMatch.bill_id == ids["flock"]).values(
            relevant=False, categories=[], direction=None, uncertain=True,
            learned={**LEARNED, "probability": 0.15, "suggested": suggested}))  # fmt: skip
        s.execute(
            update(BillMatch)
            .where(BillMatch.bill_id == ids["detainers"])
            .values(relevant=False, categories=[], direction=None, uncertain=False, learned=None)
        )  # tracked by hand
    login(client, "editor")
    assert set(_order(client.get("/review?category=gang_databases").text)) == {ids["gang"], ids["flock"]}
    html = client.get("/review").text
    assert html.count('class="state state-near-miss"') == 1  # the tracked bill is plain pending
    rows = {r["id"]: r for r in csv.DictReader(io.StringIO(client.get("/review.csv").text))}
    flock, detainers = rows[str(ids["flock"])], rows[str(ids["detainers"])]
    assert (flock["uncertain"], flock["near_miss"]) == ("true", "true")
    assert (flock["suggested_categories"], flock["suggested_direction"]) == ("gang_databases", "expands")
    assert (detainers["near_miss"], detainers["suggested_categories"]) == ("false", "")
