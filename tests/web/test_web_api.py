"""The read-only JSON API: /api/bills (filters, paging), /api/bills/<id>, /api/changes, /api/matches."""

from __future__ import annotations

from datetime import timedelta

import pytest

from db.engine import session_scope
from tests import factories as f

XSS = "<script>alert(1)</script>"


@pytest.fixture
def bills(engine):
    """Five bills: two relevant detainer bills (one confirmed as gang_databases by an editor), one rejected,
    one not relevant, one in another city; a status change on the first."""
    with session_scope(engine) as s:
        a = f.bill(s, "riverton", title=f"Detainers ordinance {XSS}", identifier="O-1")
        f.match(s, a)
        f.change(s, a, new_status="Passed", new_stage="passed", observed_at=f.T0 + timedelta(days=1))
        b = f.bill(s, "riverton", title="Gang database repeal", identifier="O-2")
        f.match(
            s,
            b,
            review_state="confirmed",
            decided_at=f.T0,
            editor_categories=["gang_databases"],
            direction="expands",
        )
        c = f.bill(s, "riverton", title="Detainers resolution, rejected", identifier="R-3")
        f.match(s, c, review_state="rejected", decided_at=f.T0)
        d = f.bill(s, "riverton", title="Parking zone", identifier="O-4")
        f.match(s, d, relevant=False, categories=(), direction=None, review_state=None)
        e = f.bill(
            s,
            "portalder",
            title="Port Alder detainers",
            identifier="P-5",
            first_seen=f.T0 + timedelta(days=2),
        )
        f.match(s, e, direction="restricts")
        return {"a": a.id, "b": b.id, "c": c.id, "d": d.id, "e": e.id}


def _ids(response) -> list[int]:
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


def test_bills_filters(client, login, bills):
    login(client, "staff")
    ids = bills
    assert _ids(client.get("/api/bills")) == sorted(ids.values())
    assert _ids(client.get("/api/bills?jurisdiction=portalder")) == [ids["e"]]
    assert _ids(client.get("/api/bills?relevant=true")) == [ids["a"], ids["b"], ids["e"]]
    assert _ids(client.get("/api/bills?relevant=false")) == [ids["c"], ids["d"]]
    assert _ids(client.get("/api/bills?category=gang_databases")) == [ids["b"]]  # the editor's categories win
    assert _ids(client.get("/api/bills?category=detainers_warrants")) == [ids["a"], ids["e"]]
    assert _ids(client.get("/api/bills?direction=restricts")) == [ids["e"]]
    assert _ids(client.get("/api/bills?review_state=confirmed")) == [ids["b"]]
    assert _ids(client.get("/api/bills?review_state=none")) == [ids["d"]]
    assert _ids(client.get("/api/bills?stage=passed")) == [ids["a"]]
    assert _ids(client.get("/api/bills?q=DETAINERS")) == [ids["a"], ids["c"], ids["e"]]
    assert _ids(client.get("/api/bills?q=100%25")) == []  # % is a character, not a wildcard
    assert _ids(client.get("/api/bills?updated_since=2026-11-03T00:00:00Z")) == [ids["e"]]
    first = client.get(f"/api/bills?q={XSS}").json()
    assert first["total"] == 1 and first["items"][0]["title"] == f"Detainers ordinance {XSS}"  # JSON, as is


def test_bills_paging(client, login, bills):
    login(client, "staff")
    r = client.get("/api/bills?limit=2").json()
    assert (r["total"], r["limit"], r["offset"], len(r["items"])) == (5, 2, 0, 2)
    seen = [i["id"] for i in r["items"]]
    while r["next"]:
        r = client.get(r["next"]).json()
        seen += [i["id"] for i in r["items"]]
    assert seen == sorted(bills.values())
    assert r["offset"] == 4 and r["next"] is None


def test_one_bill(client, login, bills):
    login(client, "staff")
    r = client.get(f"/api/bills/{bills['a']}")
    assert r.status_code == 200
    bill = r.json()
    assert (bill["jurisdiction"], bill["identifier"], bill["stage"], bill["status"]) == (
        "riverton",
        "O-1",
        "passed",
        "Passed",
    )
    assert [(x["kind"], x["status"]) for x in bill["status_history"]] == [
        ("first_seen", "Introduced"),
        ("changed", "Passed"),
    ]
    assert bill["match"]["relevant"] and bill["match"]["categories"] == ["detainers_warrants"]
    assert bill["match"]["evidence"][0]["phrase"] == "immigration detainers"
    confirmed = client.get(f"/api/bills/{bills['b']}").json()["match"]
    assert confirmed["categories"] == ["gang_databases"] and confirmed["machine"]["categories"] == [
        "detainers_warrants"
    ]
    missing = client.get("/api/bills/999999")
    assert missing.status_code == 404 and missing.json() == {"error": "no bill 999999"}


def test_changes(client, login, bills):
    login(client, "staff")
    r = client.get("/api/changes").json()
    assert r["total"] == 1
    (change,) = r["items"]
    assert (change["bill_id"], change["old_status"], change["new_status"], change["new_stage"]) == (
        bills["a"],
        "Introduced",
        "Passed",
        "passed",
    )
    all_ = client.get("/api/changes?include_first_seen=true").json()
    assert all_["total"] == 6
    assert client.get("/api/changes?since=2026-11-04T00:00:00%2B00:00").json()["total"] == 0
    assert client.get("/api/changes?jurisdiction=portalder&include_first_seen=1").json()["total"] == 1


def test_matches(client, login, bills):
    login(client, "staff")
    r = client.get("/api/matches").json()
    assert {i["id"] for i in r["items"]} == {bills["a"], bills["b"], bills["e"]}
    assert all(i["match"]["relevant"] for i in r["items"])
    assert _ids(client.get("/api/matches?relevant=false")) == [bills["c"], bills["d"]]  # best score first
    assert _ids(client.get("/api/matches?jurisdiction=riverton&category=gang_databases")) == [bills["b"]]


@pytest.mark.parametrize(
    "url, message",
    [
        ("/api/bills?limit=0", "limit"),
        ("/api/bills?limit=100000", "limit"),
        ("/api/bills?offset=-1", "offset"),
        ("/api/bills?category=nonsense", "category"),
        ("/api/bills?relevant=maybe", "relevant"),
        ("/api/bills?updated_since=yesterday", "updated_since"),
        ("/api/bills?updated_since=2026-11-01T00:00:00", "time zone"),
        ("/api/changes?since=2026-13-01", "since"),
        # valid times that leave the years 1 to 9999 once in UTC
        ("/api/changes?since=0001-01-01T00:00:00%2B14:00", "out of range"),
        ("/api/changes?since=9999-12-31T23:59:59-12:00", "out of range"),
        ("/api/bills?updated_since=9999-12-31T23:59:59-12:00", "out of range"),
        ("/api/bills?updated_since=0001-01-01T00:00:00%2B14:00", "out of range"),
        ("/api/bills?stage=bogus", "stage"),
        ("/api/bills/abc", "bill_id"),
        ("/api/matches?review_state=maybe", "review_state"),
    ],
)
def test_bad_parameters_are_one_line_400s(client, login, url, message):
    login(client, "staff")
    r = client.get(url)
    assert r.status_code == 400, url
    error = r.json()["error"]
    assert message in error and "\n" not in error


def test_unknown_jurisdiction_is_404(client, login):
    login(client, "staff")
    r = client.get("/api/bills?jurisdiction=atlantis")
    assert r.status_code == 404 and r.json() == {"error": "no jurisdiction 'atlantis'"}
