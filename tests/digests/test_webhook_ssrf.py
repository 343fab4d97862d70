"""Webhooks by the outbound policy (tracker/outbound.py): a staff member cannot make the tracker POST to
an internal address, in any form, neither when the subscription is added nor when a digest is sent (DNS
rebinding, or a URL stored before the check); a URL with a space or CR/LF is refused at input and fails
cleanly (not sent, never "in doubt") at delivery. A real webhook receiver on loopback must receive NOTHING
from a refused URL. Both engines where the database is involved."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from db.engine import session_scope
from db.models_digest import DigestDelivery, Subscription
from tests import factories as f
from tests.conftest import run_tracker
from tests.digests import helpers as h
from tracker.digests.channels import DeliveryError, WebhookChannel, check_webhook_url
from tracker.digests.outbox import send_due
from tracker.digests.subscriptions import SubscriptionError

T0 = f.T0

# Every way of writing a non-public address (the loopback ones reach the test's receiver if let through).
FORMS = [
    "127.0.0.1",
    "2130706433",  # decimal
    "0177.0.0.1",  # octal
    "0x7f000001",  # hex
    "0x7f.1",
    "127.1",  # short
    "localhost",
    "LocalHost.",
    "api.localhost",
    "0.0.0.0",
    "0",
    "[::1]",
    "[::ffff:127.0.0.1]",  # IPv4-mapped IPv6
    "[::ffff:7f00:1]",
    "[::]",
    "169.254.169.254",  # cloud metadata
    "10.0.0.1",
    "192.168.1.1",
    "172.16.0.1",
    "100.64.0.1",  # carrier-grade NAT
    "[fe80::1]",
    "[fc00::1]",
]


def _url(host: str, port: int) -> str:
    return f"http://{host}:{port}/internal-admin/hooks"


def _strict(db_url: str):
    """The configuration of a real deployment: no private webhook host allowed."""
    return h.make_config(db_url, digests={"webhook_private_hosts": []})


@pytest.mark.parametrize("host", FORMS)
def test_every_form_of_an_internal_address_is_refused_when_added(host, webhook):
    with pytest.raises(ValueError, match="non-public address"):
        check_webhook_url(_url(host, webhook.server.server_address[1]))


@pytest.mark.parametrize(
    "url",
    [
        "http://hooks.example.org/a b",
        "http://hooks.example.org/a\r\nX-Injected: 1",
        "http://hooks.example.org/a\nb",
        "http://hooks.example.org/a\tb",
        "http://hooks.example.org/\x00",
        "http://hooks.example.org/\x1b[2J",
        "http://user:secret@hooks.example.org/x",
        "ftp://hooks.example.org/x",
        "javascript:alert(1)",
    ],
)
def test_a_malformed_webhook_url_is_refused_at_input(url):
    with pytest.raises(ValueError) as refused:
        check_webhook_url(url)
    assert "\n" not in str(refused.value) and "secret" not in str(refused.value)


def test_the_command_refuses_internal_and_malformed_webhooks(tmp_path, sqlite_db, webhook):
    url, _engine = sqlite_db
    cfg = h.write_toml(tmp_path / "t.toml", _strict(url))
    port = webhook.server.server_address[1]
    for bad, why in (
        (_url("2130706433", port), "non-public address (127.0.0.1)"),
        ("http://hooks.example.org/a\r\nb", "contains a space or a control character"),
        ("http://hooks.example.org/a b", "contains a space or a control character"),
    ):
        r = run_tracker("--config", str(cfg), "subscriptions", "add", "ana@example.org", "--webhook", bad)
        assert r.returncode != 0 and r.stdout == ""
        assert r.stderr.startswith("Error: ") and why in r.stderr and r.stderr.count("\n") == 1, r.stderr
        assert "Traceback" not in r.stderr
    assert webhook.receiver.requests == []


def test_an_allowed_private_host_is_accepted():
    assert check_webhook_url("http://chat.internal:8065/hooks/x", ["chat.internal:8065"])
    assert check_webhook_url("http://127.0.0.1:8065/hooks/x", ["127.0.0.1"])
    with pytest.raises(ValueError, match="webhook_private_hosts"):
        check_webhook_url("http://127.0.0.1:8065/hooks/x", ["127.0.0.1:9999"])  # another port only


def _stored(engine, config, bad_url: str) -> int:
    """A subscription whose stored webhook URL is ``bad_url`` (stored before the check existed, or by
    hand), and a new measure for it."""
    allowed = h.make_config(config.database.url)  # the receiver's host allowed, to store anything first
    with session_scope(engine) as s:
        sub = h.subscribe(s, allowed, starts_at=T0, email_enabled=False, webhook_url="http://127.0.0.1:9/x")
        s.execute(update(Subscription).where(Subscription.id == sub.id).values(webhook_url=bad_url))
        b = f.bill(
            s, title="Ordinance limiting civil immigration detainers", first_seen=T0 + timedelta(minutes=30)
        )
        f.match(s, b)
        return sub.id


def _deliveries(engine):
    with session_scope(engine) as s:
        return [
            (d.status, d.last_error) for d in s.scalars(select(DigestDelivery).order_by(DigestDelivery.id))
        ]


@pytest.mark.parametrize("host", ["127.0.0.1", "2130706433", "0177.0.0.1", "localhost", "[::ffff:127.0.0.1]"])
def test_a_stored_internal_webhook_is_refused_at_delivery_and_nothing_is_sent(engine, db_url, webhook, host):
    config = _strict(db_url)
    _stored(engine, config, _url(host, webhook.server.server_address[1]))
    report = send_due(engine, config, T0 + timedelta(hours=1))
    assert webhook.receiver.requests == []
    ((status, error),) = _deliveries(engine)
    assert status == "failed" and "non-public address" in error  # failed for good: never retried
    assert not report.held


@pytest.mark.parametrize("bad", ["http://hooks.example.org/a b", "http://hooks.example.org/a\r\nX: y"])
def test_a_stored_webhook_with_a_space_or_crlf_fails_cleanly_not_in_doubt(engine, db_url, bad):
    config = _strict(db_url)
    _stored(engine, config, bad)
    report = send_due(engine, config, T0 + timedelta(hours=1))
    ((status, error),) = _deliveries(engine)
    assert status == "failed" and "space or a control character" in error
    assert not report.held and "\n" not in error


def test_dns_rebinding_a_public_name_that_resolves_to_loopback_is_refused(webhook):
    """The name is checked by what it resolves to when the digest is sent, and the connection goes to
    the address that was checked (no second lookup)."""
    port = webhook.server.server_address[1]
    url = f"http://hooks.example.org:{port}/x"
    assert check_webhook_url(url) == url  # a public-looking name: accepted on add (no lookup then)
    asked: list[str] = []

    def rebinding_dns(host: str, _port: int) -> list[str]:
        asked.append(host)
        return ["93.184.215.14", "127.0.0.1"]  # one public answer, one internal

    channel = WebhookChannel(timeout=5, resolver=rebinding_dns)
    sent: list[bool] = []
    with pytest.raises(DeliveryError, match=r"resolves to a non-public address \(127\.0\.0\.1\)") as refused:
        channel.send(url, {"x": 1}, "evt", lambda: sent.append(True))
    assert refused.value.permanent and not refused.value.in_doubt
    assert asked == ["hooks.example.org"] and sent == [] and webhook.receiver.requests == []

    # the operator allows that host: then the checked (private) address is used, with the name as Host
    allowed = WebhookChannel(
        timeout=5, private_hosts=["hooks.example.org"], resolver=lambda *_: ["127.0.0.1"]
    )
    assert allowed.send(url, {"x": 1}, "evt", lambda: sent.append(True)) == "HTTP 200"
    (hook,) = webhook.receiver.requests
    assert hook.headers["Host"] == f"hooks.example.org:{port}" and sent == [True]


def test_the_web_of_subscriptions_refuses_internal_webhooks_on_add(engine, db_url, webhook):
    config = _strict(db_url)
    with session_scope(engine) as s, pytest.raises(SubscriptionError, match="non-public address"):
        h.subscribe(s, config, webhook_url=_url("0x7f.0.0.1", webhook.server.server_address[1]))
    assert webhook.receiver.requests == []
