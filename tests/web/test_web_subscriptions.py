"""/subscriptions (a user's own digest subscriptions) and /feeds/<token>.atom (their secret Atom feed)."""

from __future__ import annotations

import re
from datetime import timedelta
from xml.etree import ElementTree as ET

from fastapi.testclient import TestClient
from sqlalchemy import select

from db.engine import session_scope
from db.models_digest import Subscription
from db.models_web import User
from tests import factories as f
from tests.digests import helpers as h
from tracker.digests.outbox import send_due
from tracker.web import auth

ATOM = {"a": "http://www.w3.org/2005/Atom"}
XSS = "<script>alert(1)</script>"


def _subs(engine):
    with session_scope(engine) as s:
        return {(x.id, x.email, x.state) for x in s.scalars(select(Subscription))}


def _two_people(engine, config):
    with session_scope(engine) as s:
        mine = h.subscribe(s, config, "ana@example.org").id
        theirs = h.subscribe(s, config, "bob@example.org").id
    return mine, theirs


def test_staff_see_and_manage_only_their_own_subscriptions(client, login, engine, web_config):
    mine, theirs = _two_people(engine, web_config)
    login(client, "staff", username="ana", email="ana@example.org")
    page = client.get("/subscriptions")
    assert page.status_code == 200
    assert f'id="subscription-{mine}"' in page.text and "ana@example.org" in page.text
    assert f'id="subscription-{theirs}"' not in page.text and "bob@example.org" not in page.text
    for action in ("pause", "resume", "remove"):
        r = client.post(f"/subscriptions/{theirs}/{action}", data={"csrf_token": client.csrf})
        assert r.status_code == 404
    r = client.post(f"/subscriptions/{mine}/pause", data={"csrf_token": client.csrf})
    assert r.status_code == 303
    assert f"Subscription {mine} (ana@example.org) paused." in client.get("/subscriptions").text
    client.post(f"/subscriptions/{mine}/resume", data={"csrf_token": client.csrf})
    client.post(f"/subscriptions/{mine}/remove", data={"csrf_token": client.csrf})
    assert _subs(engine) == {(mine, "ana@example.org", "removed"), (theirs, "bob@example.org", "active")}


def test_a_users_subscriptions_are_those_of_their_address_in_any_case(client, login, engine, web_config):
    """`ST2@Example.org`'s account owns st2@example.org's subscriptions: it sees and pauses them, and a
    bill one of them follows shows as followed (no second subscription)."""
    mine, theirs = _two_people(engine, web_config)
    bill = f.make_bill(engine, "Parking meter rates", identifier="O2026-0100")
    with session_scope(engine) as s:
        followed = h.subscribe(s, web_config, "Ana@example.org", bill_id=bill).id
    login(client, "staff", username="ana", email="ANA@Example.org")
    page = client.get("/subscriptions").text
    assert f'id="subscription-{mine}"' in page and f'id="subscription-{followed}"' in page
    assert f'id="subscription-{theirs}"' not in page
    r = client.post(f"/subscriptions/{mine}/pause", data={"csrf_token": client.csrf})
    assert r.status_code == 303
    assert "you follow this bill" in client.get(f"/bills/{bill}").text
    r = client.post(f"/bills/{bill}/follow", data={"csrf_token": client.csrf})
    assert r.status_code == 303
    assert f"You already follow this bill (subscription {followed})." in client.get(f"/bills/{bill}").text
    assert _subs(engine) == {
        (mine, "ana@example.org", "paused"),
        (theirs, "bob@example.org", "active"),
        (followed, "Ana@example.org", "active"),
    }


def test_admins_see_every_subscription(client, login, engine, web_config):
    mine, theirs = _two_people(engine, web_config)
    login(client, "admin", email="root@example.org")
    page = client.get("/subscriptions").text
    assert f'id="subscription-{mine}"' in page and f'id="subscription-{theirs}"' in page
    r = client.post(f"/subscriptions/{theirs}/pause", data={"csrf_token": client.csrf})
    assert r.status_code == 303


def test_a_staff_user_subscribes_with_their_own_address(client, login, engine):
    login(client, "staff", username="ana", email="ana@example.org")
    form = {
        "csrf_token": client.csrf,
        "email": "bob@example.org",  # not an admin: ignored
        "jurisdictions": ["riverton", "portalder"],
        "categories": ["detainers_warrants"],
        "direction": "expands",
        "frequency": "weekly",
        "at_time": "7:30",
        "weekday": "fri",
        "timezone": "America/Chicago",
        "status_changes": "true",
        "email_enabled": "true",
    }
    r = client.post("/subscriptions", data=form)
    assert r.status_code == 303
    with session_scope(engine) as s:
        (sub,) = s.scalars(select(Subscription))
        assert (sub.email, sub.jurisdictions, sub.categories, sub.direction) == (
            "ana@example.org",
            ["portalder", "riverton"],
            ["detainers_warrants"],
            "expands",
        )
        assert (sub.frequency, sub.at_time, sub.weekday, sub.timezone) == (
            "weekly",
            "07:30",
            4,
            "America/Chicago",
        )
        assert sub.status_changes and sub.email_enabled and not sub.confirmed_only


def test_a_bad_subscription_is_one_line_on_the_page(client, login, engine):
    login(client, "staff", email="ana@example.org")
    for field, value, message in (
        ("jurisdictions", "atlantis", "no jurisdiction 'atlantis'"),
        ("timezone", "Mars/Olympus", "unknown timezone 'Mars/Olympus'"),
        ("timezone", "x" * 300, "unknown timezone 'xxxx"),  # was a 500 (the OS's "File name too long")
        ("timezone", "localtime", "unknown timezone 'localtime'"),
        ("slack", "on", "a Slack webhook needs its URL"),  # the command line refused it; the form took it
        ("search_text", "\ufffd\ufffd", "the search is not valid text"),  # what %FF%FE decodes to
        ("at_time", "25:00", "25:00"),
        ("webhook_url", "file:///etc/passwd", "webhook"),
        ("webhook_url", "https://hooks.example.org/" + "a" * 200_000, "longer than 2,000 characters"),
    ):
        error, _ = _form_error(client, field, value)
        assert message in error, (field, error)
    assert _subs(engine) == set()


def _form_error(client, field: str, value: str) -> tuple[str, str]:
    """The one error line the subscription form shows for ``field=value`` (a 400), and the whole page."""
    r = client.post("/subscriptions", data={"csrf_token": client.csrf, field: value})
    assert r.status_code == 400, field
    (error,) = re.findall(r'<p class="error" role="alert">(.*?)</p>', r.text)
    return error.replace("&#39;", "'"), r.text


def test_form_errors_use_the_forms_words_and_name_no_server_path(engine, web_config, login):
    """The command line's wording names its options (``--at``) and the configuration file; the web form's
    names neither: a visitor must not learn where the server keeps its files."""
    from tracker.web.app import create_app

    private = "/srv/private-path/tracker.toml"
    app = create_app(web_config.model_copy(update={"source": private}), engine=engine)
    with TestClient(app, follow_redirects=False) as client:
        login(client, "staff", email="ana@example.org")
        for field, value, expected in (
            ("jurisdictions", "nope", "no jurisdiction 'nope' (known: portalder, riverton)."),
            ("at_time", "25:00", "the time must be HH:MM, 24-hour, not '25:00'."),
            ("weekday", "funday", "the weekday must be one of mon, tue, wed, thu, fri, sat, sun, not 'fun"),
        ):
            error, page = _form_error(client, field, value)
            assert error.startswith(expected), (field, error)
            assert private not in page and "--" not in error
    assert _subs(engine) == set()


def test_a_user_without_an_address_is_told_so(client, login, engine):
    login(client, "staff")
    r = client.post("/subscriptions", data={"csrf_token": client.csrf})
    assert r.status_code == 400
    assert "Your account has no e-mail address: ask an admin to set one (tracker users set staff " in r.text
    assert _subs(engine) == set()


def _feed_url(client) -> str:
    page = client.post("/subscriptions/feed-token", data={"csrf_token": client.csrf})
    assert page.status_code == 200
    (url,) = re.findall(
        r'<code class="token" id="feed-url">(http://testserver/feeds/[^<]+\.atom)</code>', page.text
    )
    return url


def test_the_feed_link_works_without_a_session_and_can_be_replaced(app, client, login, engine, web_config):
    login(client, "staff", username="ana", email="ana@example.org")
    with session_scope(engine) as s:  # one digest for ana, one for bob
        h.subscribe(s, web_config, "ana@example.org", starts_at=f.T0, categories=["detainers_warrants"])
        h.subscribe(s, web_config, "bob@example.org", starts_at=f.T0, categories=["gang_databases"])
        bill = f.bill(
            s, title=f"Ordinance on immigration detainers {XSS}", first_seen=f.T0 + timedelta(minutes=5)
        )
        f.match(s, bill)
        gang = f.bill(
            s, title="Ordinance abolishing the gang database", first_seen=f.T0 + timedelta(minutes=5)
        )
        f.match(s, gang, categories=("gang_databases",))
    send_due(engine, web_config, f.T0 + timedelta(hours=1))

    url = _feed_url(client)
    token = url.rsplit("/", 1)[1].removesuffix(".atom")
    with session_scope(engine) as s:  # only the hash is stored
        user = s.scalar(select(User).where(User.username == "ana"))
        assert user.feed_token_hash == auth.hash_token(token) and token not in user.feed_token_hash
    later = client.get("/subscriptions").text
    assert "You have a feed link." in later and token not in later  # shown once

    with TestClient(app) as reader:  # a feed reader: no cookie
        r = reader.get(url)
        assert r.status_code == 200 and r.headers["content-type"].startswith("application/atom+xml")
        assert b"<script>" not in r.content
        root = ET.fromstring(r.content)
        assert root.findtext("a:title", namespaces=ATOM) == "Sanctuary Tracker digests for ana@example.org"
        (entry,) = root.findall("a:entry", ATOM)  # ana's digest only, not bob's
        content = entry.findtext("a:content", namespaces=ATOM)
        assert (
            "Ordinance on immigration detainers &lt;script&gt;" in content and "gang database" not in content
        )
        assert (
            reader.get(url.replace(token, token[:-1] + ("A" if token[-1] != "A" else "B"))).status_code == 404
        )
        assert reader.get("/feeds/.atom").status_code == 404

        new_url = _feed_url(client)
        assert new_url != url
        assert reader.get(url).status_code == 404  # the old link stops working
        assert reader.get(new_url).status_code == 200
