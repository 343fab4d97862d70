"""Helpers of the browser tests (imported by the tests; fixtures are in conftest.py)."""

from __future__ import annotations

import csv
import re
import uuid
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.engine import Engine

from db.engine import session_scope
from db.models import Bill
from tests.clock import utc_now
from tests.conftest import REPO
from tests.factories import make_bill, normalized_meeting, status_change, store_meetings
from tracker import review

# Real council titles, the longest of them fill the pages that must not scroll sideways.
LABELS = REPO / "tracker/matcher/labels/dallas-tx.csv"

# The pages the width tests (phone width, 200% zoom) load, besides a bill's own page.
ROUTES = [
    "/",
    "/review",
    "/review?order=uncertain",
    "/search?q=police",
    "/living-list",
    "/track",
    "/subscriptions",
    "/admin",
    "/members",
    "/hearings",
]


def unique_slug(prefix: str = "b") -> str:
    """A jurisdiction slug of one test's own (make_bill creates it), for lists filtered to that test."""
    return f"{prefix}{uuid.uuid4().hex[:10]}"


def label(text: str) -> re.Pattern[str]:
    """A form control by the start of its label: a <select> inside a <label> is named by the label's text
    and then its options' ("City any Riverton..."), so an exact or substring match would not do."""
    return re.compile(rf"^{re.escape(text)}\b")


def longest_real_titles(n: int) -> list[str]:
    with LABELS.open(newline="", encoding="utf-8") as fh:
        titles = [row["title"] for row in csv.DictReader(fh)]
    return sorted(titles, key=len, reverse=True)[:n]


# Not a real title: "prohibiting sharing <token> with ICE" makes the direction's reason quote the token (a
# pending match shows the matcher's reason: on the search results, the review queue and /hearings).
HOSTILE_REASON_TITLE = (
    "An ordinance prohibiting sharing " + "Longword" * 9 + " with ICE and prohibiting compliance with"
    " immigration detainer requests by police"
)


def long_bills(engine: Engine) -> list[int]:
    """Three enacted bills of a new jurisdiction with the longest real titles, a long identifier, sponsor name
    and public URL, and a bill whose direction's reason holds a long token: the data that would push a page
    wider than its window."""
    slug = unique_slug()
    long_url = "https://example.legistar.com/LegislationDetail.aspx?ID=" + "1234567890" * 12
    ids = []
    for title in longest_real_titles(3):
        bill_id = make_bill(
            engine, title, slug=slug, identifier="ORD-" + "2026" * 10, public_url=long_url,
            sponsors=["Councilmember " + "Longname" * 6],
            actions=[(None, "Referred to committee", title[:400])],
        )  # fmt: skip
        status_change(engine, bill_id, "Introduced", "Adopted", new_stage="enacted")
        ids.append(bill_id)
    # the three confirmed as measures (the dashboard, the living list and the search show their categories
    # and direction), and a pending match whose direction's reason quotes one long token of its title (the
    # reason may wrap anywhere); an upcoming hearing of the four, with a long location, on /hearings
    with session_scope(engine) as s:
        for bill_id in ids:
            review.confirm(s, str(bill_id), categories=["police_accountability"], by="width")
    ids.append(make_bill(engine, HOSTILE_REASON_TITLE, slug=slug, identifier="ORD-" + "7" * 40))
    with session_scope(engine) as s:
        bills = list(s.scalars(select(Bill).where(Bill.id.in_(ids)).order_by(Bill.id)))
        meeting = normalized_meeting(
            f"E-{slug}", utc_now() + timedelta(days=5), bills, location="Council Chambers " + "Annex" * 20
        )
        store_meetings(s, [meeting], observed_at=utc_now(), slug=slug)
    return ids
