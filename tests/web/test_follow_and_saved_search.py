""" "Notify me" on a bill page (one personal subscription per user and bill) and "Save this search as an
alert" on the search page (the subscription form pre-filled with the words and filters). Both engines."""

from __future__ import annotations

import html

from sqlalchemy import select

from db.engine import session_scope
from db.models_digest import Subscription
from tests.factories import make_bill


def _subs(engine) -> list[tuple[str, int | None, str]]:
    with session_scope(engine) as s:
        rows = s.scalars(select(Subscription).order_by(Subscription.id))
        return [(x.email, x.bill_id, x.state) for x in rows]


def test_notify_me_creates_one_subscription_and_a_second_press_does_not_duplicate(client, login, engine):
    bill = make_bill(engine, "Parking meter rates", identifier="O2026-0100")
    login(client, "staff", username="ana", email="ana@example.org")
    page = client.get(f"/bills/{bill}")
    assert f'action="/bills/{bill}/follow"' in page.text and "Notify me" in page.text
    assert client.post(f"/bills/{bill}/follow", data={}).status_code == 403  # no CSRF token: refused
    assert _subs(engine) == []
    r = client.post(f"/bills/{bill}/follow", data={"csrf_token": client.csrf})
    assert r.status_code == 303 and r.headers["location"] == f"/bills/{bill}"
    assert _subs(engine) == [("ana@example.org", bill, "active")]
    page = client.get(f"/bills/{bill}")
    assert "you follow this bill" in page.text and f'action="/bills/{bill}/unfollow"' in page.text
    r = client.post(f"/bills/{bill}/follow", data={"csrf_token": client.csrf})
    assert r.status_code == 303
    assert "You already follow this bill" in html.unescape(client.get(f"/bills/{bill}").text)
    assert _subs(engine) == [("ana@example.org", bill, "active")]
    r = client.post(f"/bills/{bill}/unfollow", data={"csrf_token": client.csrf})
    assert r.status_code == 303
    assert _subs(engine) == [("ana@example.org", bill, "removed")]
    assert f'action="/bills/{bill}/follow"' in client.get(f"/bills/{bill}").text
    assert client.post("/bills/99999/follow", data={"csrf_token": client.csrf}).status_code == 404
    # an id that is not a number is a 400, as on GET /bills/abc (it was a 404 here until 2026-12-07)
    for path in ("/bills/abc/follow", "/bills/abc/unfollow", "/bills/99999999999999999999/follow"):
        r = client.post(path, data={"csrf_token": client.csrf})
        assert r.status_code == 400 and "Traceback" not in r.text, (path, r.status_code)


def test_save_this_search_pre_fills_the_subscription_form(client, login, engine):
    make_bill(engine, "Contract with Flock Safety")
    login(client, "staff", username="ana", email="ana@example.org")
    page = client.get("/search", params={"q": "Flock  <b>", "jurisdiction": "riverton"})
    assert page.status_code == 200
    link = html.unescape(page.text.split('class="save-search" href="')[1].split('"')[0])
    assert link.startswith("/subscriptions?") and "q=Flock+%3Cb%3E" in link
    form = client.get(link)
    assert form.status_code == 200
    assert 'name="search_text" maxlength="200" value="Flock &lt;b&gt;"' in form.text
    assert '<option value="riverton" selected>' in form.text
    r = client.post("/subscriptions", data={
        "csrf_token": client.csrf, "search_text": "Flock <b>", "jurisdictions": ["riverton"],
        "status_changes": "true", "email_enabled": "true",
    })  # fmt: skip
    assert r.status_code == 303
    with session_scope(engine) as s:
        (sub,) = s.scalars(select(Subscription))
        assert (sub.search_text, sub.jurisdictions, sub.bill_id) == ("Flock <b>", ["riverton"], None)
    assert "save-search" not in client.get("/search").text  # no words, nothing to save
