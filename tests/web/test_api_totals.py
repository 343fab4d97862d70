"""/api/bills counts its total with only the joins its filters need (an inner join with the matches unless
the filters also select bills never matched): the total is the number of bills the filters select, for every
combination of the match filters, with and without a city, and with bills never matched."""

from __future__ import annotations

import itertools

import pytest

from db.engine import session_scope
from tests import factories as f


@pytest.fixture
def bills(engine):
    with session_scope(engine) as s:
        f.match(s, f.bill(s, "riverton", title="Detainers ordinance", identifier="O-1"))
        f.match(s, f.bill(s, "riverton", identifier="O-2"), review_state="confirmed", decided_at=f.T0,
                editor_categories=["gang_databases"], direction="expands")  # fmt: skip
        f.match(s, f.bill(s, "riverton", identifier="R-3"), review_state="rejected", decided_at=f.T0)
        f.match(s, f.bill(s, "riverton", identifier="O-4"), relevant=False, categories=(), direction=None,
                review_state=None)  # fmt: skip
        flagged = f.match(s, f.bill(s, "portalder", identifier="P-5"), direction="restricts")
        flagged.needs_review = True
        f.bill(s, "riverton", identifier="N-6")  # never matched
        f.bill(s, "portalder", identifier="N-7")


def test_totals_are_the_bills_selected(client, login, bills):
    login(client, "staff")
    filters = itertools.product(
        ["", "true", "false"],
        ["", "pending", "confirmed", "rejected", "flagged", "none"],
        ["", "detainers_warrants"],
        ["", "riverton"],
    )
    seen = set()
    for relevant, state, category, city in filters:
        params = {"relevant": relevant, "review_state": state, "category": category, "jurisdiction": city}
        query = "&".join(f"{k}={v}" for k, v in params.items() if v)
        body = client.get(f"/api/bills?limit=500&{query}").json()
        assert body["total"] == len(body["items"]), query
        seen.add(body["total"])
    assert {0, 7} <= seen and len(seen) > 4  # the filters select different bills, all of them with none


def test_matches_of_a_review_state_include_the_rejected_ones(client, login, bills):
    """An editor's rejection makes a bill not relevant, so ``/api/matches?review_state=rejected`` under the
    default ``relevant=true`` was always empty; it lists the rejected bills (``relevant=true`` given still
    selects none of them)."""
    login(client, "staff")
    rejected = client.get("/api/matches?review_state=rejected").json()
    assert [i["identifier"] for i in rejected["items"]] == ["R-3"] and rejected["total"] == 1
    assert client.get("/api/matches?review_state=rejected&relevant=true").json()["total"] == 0
    assert client.get("/api/matches?review_state=rejected&relevant=false").json()["total"] == 1
    confirmed = client.get("/api/matches?review_state=confirmed").json()
    assert [i["identifier"] for i in confirmed["items"]] == ["O-2"]
    assert {i["identifier"] for i in client.get("/api/matches").json()["items"]} == {"O-1", "O-2", "P-5"}
