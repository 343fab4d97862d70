"""/admin: crawl health per jurisdiction, held digest deliveries and their release; admins only."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from db.engine import session_scope
from db.models_digest import DigestDelivery
from tests import factories as f
from tests.digests import helpers as h
from tests.web.helpers import csrf_token, log_in
from tracker.digests.outbox import record_due

XSS = "<script>alert(1)</script>"


def test_only_admins_see_the_admin_page(client, make_user, engine):
    make_user("ed", "editor")
    make_user("st", "staff")
    for name in ("ed", "st"):
        client.cookies.clear()
        log_in(client, name)
        assert client.get("/admin").status_code == 403
        data = {"csrf_token": csrf_token(client, engine)}
        assert client.post("/admin/deliveries/1/release", data=data).status_code == 403
        assert 'href="/admin"' not in client.get("/subscriptions").text  # not in their menu


def test_crawl_health_per_jurisdiction(client, login, engine):
    with session_scope(engine) as s:
        f.crawl_run(s, "riverton", "succeeded", f.T0)
        f.crawl_run(
            s, "riverton", "failed", f.T0 + timedelta(hours=6), message=f"HTTP 500 from the portal {XSS}"
        )
        f.bill(s, "riverton")
        f.bill(s, "riverton")
        f.jurisdiction(s, "oldtown", name=f"Old Town {XSS}")  # in the database, no longer configured
        f.bill(s, "oldtown")
    login(client, "admin")
    page = client.get("/admin")
    assert page.status_code == 200
    text = page.text
    riverton = text.split('id="jurisdiction-riverton"')[1].split("</tr>")[0]
    assert '<td data-label="Bills">2</td>' in riverton  # bills
    assert "2026-11-02 18:00 UTC" in riverton and "failed" in riverton  # last crawl, and its error
    assert "2026-11-02 12:00 UTC" in riverton  # last success
    assert "HTTP 500 from the portal &lt;script&gt;alert(1)&lt;/script&gt;" in riverton
    portalder = text.split('id="jurisdiction-portalder"')[1].split("</tr>")[0]
    assert '<td data-label="Bills">0</td>' in portalder and "never" in portalder  # configured, not crawled
    oldtown = text.split('id="jurisdiction-oldtown"')[1].split("</tr>")[0]
    assert (
        "Old Town &lt;script&gt;" in oldtown
        and "not in the configuration" in oldtown
        and '<td data-label="Bills">1</td>' in oldtown
    )
    assert XSS not in text


def _held_delivery(engine, config) -> int:
    with session_scope(engine) as s:
        h.subscribe(
            s,
            config,
            "ana@example.org",
            starts_at=f.T0,
            email_enabled=False,
            webhook_url="https://hooks.example.org/x",
        )
        f.match(s, f.bill(s, first_seen=f.T0 + timedelta(minutes=5)))
    record_due(engine, config, f.T0 + timedelta(hours=1))  # recorded, not sent: then held, as after a crash
    with session_scope(engine) as s:
        delivery = s.scalars(select(DigestDelivery)).one()
        s.execute(
            update(DigestDelivery)
            .where(DigestDelivery.id == delivery.id)
            .values(status="held", held_at=f.T0 + timedelta(hours=1), last_error=f"connection lost {XSS}")
        )
        return delivery.id


def _status(engine, delivery_id):
    with session_scope(engine) as s:
        return s.get(DigestDelivery, delivery_id).status


def test_held_deliveries_are_listed_and_released(client, login, engine, web_config):
    delivery_id = _held_delivery(engine, web_config)
    login(client, "admin")
    page = client.get("/admin").text
    row = page.split(f'id="delivery-{delivery_id}"')[1].split("</tr>")[0]
    assert "held" in row and "connection lost &lt;script&gt;" in row
    assert "hooks.example.org" in row and "/x<" not in row  # the webhook URL is redacted
    assert client.post(f"/admin/deliveries/{delivery_id}/release").status_code == 403  # no CSRF token
    r = client.post(f"/admin/deliveries/{delivery_id}/release", data={"csrf_token": client.csrf})
    assert r.status_code == 303
    assert _status(engine, delivery_id) == "pending"
    assert f"Delivery {delivery_id} released" in client.get("/admin").text
    client.post(f"/admin/deliveries/{delivery_id}/release", data={"csrf_token": client.csrf})
    assert "only held or failed deliveries can be released" in client.get("/admin").text  # one line, no crash


def test_a_held_delivery_can_be_marked_sent(client, login, engine, web_config):
    delivery_id = _held_delivery(engine, web_config)
    login(client, "admin")
    data = {"csrf_token": client.csrf, "mark_sent": "true"}
    assert client.post(f"/admin/deliveries/{delivery_id}/release", data=data).status_code == 303
    assert _status(engine, delivery_id) == "sent"
