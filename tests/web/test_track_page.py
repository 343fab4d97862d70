"""The web app's paste box (/track): a logged-in staff member pastes a bill's public URL; the bill is fetched
from the (demo Legistar) portal on loopback, queued for review and shown; bad URLs get a one-line error on the
form; the form needs a session and a CSRF token (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from db.engine import session_scope
from db.models import Bill
from db.models_review import BillMatch
from tests.portal import portal_config
from tests.web.helpers import form_csrf
from tracker.config import load_config
from tracker.web.app import create_app

CLIENT = "riverton"


@pytest.fixture
def track_client(tmp_path, db_url, engine, portal, server):
    cfg = portal_config(tmp_path / "t.toml", server, portal, db_url, clients=[CLIENT])
    with TestClient(create_app(load_config(cfg), engine=engine), follow_redirects=False) as client:
        yield client


def _matter(portal) -> int:
    return min(
        r["MatterId"] for r in portal.client(CLIENT).matter_rows() if not r.get("MatterRestrictViewViaWeb")
    )


def test_staff_tracks_a_bill_by_pasting_its_link(track_client, engine, portal, server, login):
    login(track_client, "staff", username="sam")
    page = track_client.get("/track")
    assert page.status_code == 200 and 'name="url"' in page.text
    matter = _matter(portal)
    url = f"{server.base_url.rsplit('/v1', 1)[0]}/LegislationDetail.aspx?ID={matter}&GUID=X"
    done = track_client.post("/track", data={"url": url, "csrf_token": form_csrf(page.text)})
    assert done.status_code == 303, done.text
    with session_scope(engine) as s:
        bill = s.scalar(select(Bill).where(Bill.source_id == str(matter)))
        assert bill.tracked_by == "sam"
        assert s.get(BillMatch, bill.id).review_state == "pending"
        assert done.headers["location"] == f"/bills/{bill.id}"
    shown = track_client.get(done.headers["location"])
    assert shown.status_code == 200 and f"{CLIENT} " in shown.text and "tracked (bill" in shown.text


def test_a_link_it_cannot_map_is_a_one_line_error_on_the_form(track_client, engine, login):
    login(track_client, "staff", username="sam")
    page = track_client.get("/track")
    hostile = "https://evil.example/<script>alert(1)</script>"
    done = track_client.post("/track", data={"url": hostile, "csrf_token": form_csrf(page.text)})
    assert done.status_code == 400
    assert (
        "no configured jurisdiction has its portal on evil.example (add it to the config first)" in done.text
    )
    assert "<script>alert(1)</script>" not in done.text  # the pasted text comes back escaped
    with session_scope(engine) as s:
        assert s.scalars(select(Bill)).all() == []


def test_tracking_needs_a_session_and_a_csrf_token(track_client, login):
    assert track_client.get("/track").status_code == 303
    login(track_client, "staff", username="sam")
    refused = track_client.post("/track", data={"url": "https://example.org/"})
    assert refused.status_code == 403


def test_the_bill_page_track_button_follows_a_stored_bill(client, engine, login):
    from tests.factories import make_bill

    bill_id = make_bill(engine, "Agenda item: contract for inmate housing", match=False)
    login(client, "staff", username="sam")
    page = client.get(f"/bills/{bill_id}")
    done = client.post(f"/bills/{bill_id}/track", data={"csrf_token": form_csrf(page.text)})
    assert done.status_code == 303 and done.headers["location"] == f"/bills/{bill_id}"
    with session_scope(engine) as s:
        bill = s.get(Bill, bill_id)
        assert bill.tracked_by == "sam" and bill.tracked_at is not None
    missing = client.post("/bills/999999/track", data={"csrf_token": form_csrf(page.text)})
    assert missing.status_code == 303 and missing.headers["location"] == "/search"


def test_the_bill_page_shows_the_track_button_then_who_tracks_it(client, engine, login):
    from tests.factories import make_bill

    bill_id = make_bill(engine, "Ordinance on data sharing with ICE")
    login(client, "staff", username="sam")
    page = client.get(f"/bills/{bill_id}")
    assert f'action="/bills/{bill_id}/track"' in page.text
    client.post(f"/bills/{bill_id}/track", data={"csrf_token": form_csrf(page.text)})
    again = client.get(f"/bills/{bill_id}")
    assert f'action="/bills/{bill_id}/track"' not in again.text and "tracked by sam since" in again.text
