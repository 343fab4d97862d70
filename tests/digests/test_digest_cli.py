"""The `tracker subscriptions` and `tracker digest` commands, as a user runs them (SQLite; the logic
underneath runs on both engines in the other tests)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from db.engine import make_engine, session_scope, upgrade
from db.models_digest import Digest, Subscription
from tests import factories as f
from tests.conftest import run_tracker
from tests.digests import helpers as h
from tracker.digests.outbox import send_due

T0 = f.T0


@pytest.fixture
def setup(tmp_path, smtp):
    url = f"sqlite:///{tmp_path}/tracker.db"
    engine = make_engine(url)
    upgrade(engine)
    config = h.make_config(url, smtp.port)
    cfg = h.write_toml(tmp_path / "t.toml", config)
    yield engine, config, str(cfg)
    engine.dispose()


def tracker(cfg, *args, env=None):
    return run_tracker("--config", cfg, *args, env=env)


def test_subscriptions_add_list_pause_resume_remove(setup):
    _, _, cfg = setup
    r = tracker(
        cfg,
        "subscriptions",
        "add",
        "ana@example.org",
        "--jurisdiction",
        "riverton",
        "--category",
        "detainers_warrants",
        "--category",
        "legal_defense",
        "--direction",
        "expands",
        "--confirmed-only",
        "--no-status-changes",
        "--frequency",
        "weekly",
        "--weekday",
        "fri",
        "--at",
        "7:30",
        "--timezone",
        "America/Chicago",
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[0] == (
        "Subscription 1 added: ana@example.org, weekly fri 07:30 America/Chicago, Riverton City Council; "
        "Detainers and warrants, Legal defense; only measures that expand sanctuary; "
        "confirmed by an editor only; no status changes; channels: email, feed."
    )
    assert r.stdout.splitlines()[1].startswith("First digest: ")
    r = tracker(
        cfg,
        "subscriptions",
        "add",
        "ben@example.org",
        "--frequency",
        "immediate",
        "--webhook",
        "https://hooks.example.org/services/T000/B000/SECRET",
        "--slack",
        "--no-email",
    )
    assert r.returncode == 0, r.stderr
    assert "channels: slack https://hooks.example.org/…, feed" in r.stdout
    assert "SECRET" not in r.stdout
    # an immediate subscription has no "first digest" time: it is checked every few minutes
    assert r.stdout.splitlines()[1].startswith("Checked every 5 minutes (next at ")
    assert r.stdout.splitlines()[1].endswith(" UTC): a digest goes out as soon as something is new.")
    listed = tracker(cfg, "subscriptions", "list", "--format", "jsonl")
    rows = [json.loads(line) for line in listed.stdout.splitlines()]
    assert [(x["id"], x["email"], x["frequency"], x["state"]) for x in rows] == [
        (1, "ana@example.org", "weekly", "active"),
        (2, "ben@example.org", "immediate", "active"),
    ]
    assert (
        rows[0]["categories"] == ["detainers_warrants", "legal_defense"] and rows[0]["confirmed_only"] is True
    )
    assert (
        tracker(cfg, "subscriptions", "pause", "ana@example.org").stdout
        == "Subscription 1 (ana@example.org) paused.\n"
    )
    assert (
        tracker(cfg, "subscriptions", "remove", "2").stdout == "Subscription 2 (ben@example.org) removed.\n"
    )
    table = tracker(cfg, "subscriptions", "list", "--all").stdout
    assert "ana@example.org  [paused]" in table and "ben@example.org  [removed]" in table
    assert (
        tracker(cfg, "subscriptions", "resume", "1").stdout == "Subscription 1 (ana@example.org) resumed.\n"
    )


def test_a_subscription_is_found_by_its_address_in_any_case(db_url, tmp_path):
    """An address is the same in any case: `pause case@example.org` finds `Case@Example.ORG`'s
    subscription (lower() on both sides, on both engines); the stored address keeps its case."""
    cfg = str(h.write_toml(tmp_path / "t.toml", h.make_config(db_url)))
    r = tracker(cfg, "subscriptions", "add", "Case@Example.ORG", "--frequency", "daily")
    assert r.returncode == 0, r.stderr
    r = tracker(cfg, "subscriptions", "pause", "case@example.org")
    assert (r.returncode, r.stdout, r.stderr) == (0, "Subscription 1 (Case@Example.ORG) paused.\n", "")
    r = tracker(cfg, "subscriptions", "resume", "CASE@EXAMPLE.org")
    assert (r.returncode, r.stdout) == (0, "Subscription 1 (Case@Example.ORG) resumed.\n")
    assert tracker(cfg, "subscriptions", "add", "case@example.org", "--frequency", "weekly").returncode == 0
    r = tracker(cfg, "subscriptions", "pause", "case@EXAMPLE.org")  # two now, in either case: name one
    assert r.returncode == 1
    assert r.stderr == "Error: case@EXAMPLE.org has several subscriptions (1, 2): name one by its id\n"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"categories": ["ice_rinks"]}, "unknown category 'ice_rinks' (one of: sanctuary_declaration, "),
        ({"jurisdictions": ["gotham"]}, "no jurisdiction 'gotham' in test.toml (known: portalder, riverton)"),
        ({"at_time": "25:00"}, "--at must be a 24-hour time HH:MM, got '25:00'"),
        ({"direction": "sideways"}, "unknown direction 'sideways' (one of: expands, restricts, neutral)"),
        ({"timezone": "Mars/Olympus"}, "unknown timezone 'Mars/Olympus'"),
        ({"webhook_url": "ftp://example.org/x"}, "the webhook must be an http(s) URL"),
        ({"email": "not-an-address"}, "not an e-mail address: 'not-an-address'"),
    ],
)
def test_subscription_requests_are_validated(change, message):
    from tracker.digests.subscriptions import SubscriptionError, SubscriptionSpec, validate

    spec = SubscriptionSpec(**{"email": "ana@example.org", **change})
    with pytest.raises(SubscriptionError) as err:
        validate(spec, h.make_config("sqlite://"))
    assert str(err.value).startswith(message)


def test_subscription_errors_are_one_line(setup):
    _, _, cfg = setup
    r = tracker(cfg, "subscriptions", "add", "ana@example.org", "--category", "ice_rinks")
    assert r.returncode == 2  # a value the command cannot take: a usage error, as README says
    assert len(r.stderr.splitlines()) == 1
    assert r.stderr.startswith("Error: unknown category 'ice_rinks' (one of: sanctuary_declaration, ")
    r = tracker(cfg, "subscriptions", "pause", "nobody@example.org")
    assert r.stderr == "Error: no subscription for 'nobody@example.org' (see `tracker subscriptions list`)\n"
    assert r.returncode == 1  # nothing by that name: a run-time failure, like a bill that does not exist
    added = tracker(cfg, "subscriptions", "add", "gone@example.org")
    sub_id = added.stdout.split()[1]
    assert tracker(cfg, "subscriptions", "remove", sub_id).returncode == 0
    nothing = tracker(cfg, "subscriptions", "edit", "staff@example.org")
    assert nothing.returncode == 2 and "Error: nothing to change: name what to change" in nothing.stderr
    r = tracker(cfg, "subscriptions", "resume", sub_id)
    assert r.returncode == 1 and r.stderr == (
        f"Error: subscription {sub_id} (gone@example.org) was removed; add a new one to subscribe again\n"
    )
    for args, line in (
        (("--at", "25:99"), "Error: --at must be a 24-hour time HH:MM, got '25:99'"),
        (("--timezone", "Mars/Olympus"), "Error: unknown timezone 'Mars/Olympus'"),
        # longer than any zone (the operating system's "File name too long" was a traceback), the host's own
        # zone, and the database's internals
        (("--timezone", "x" * 300), "Error: unknown timezone 'xxxxxxxx"),
        (("--timezone", "localtime"), "Error: unknown timezone 'localtime'"),
        (("--timezone", "posixrules"), "Error: unknown timezone 'posixrules'"),
        (("--timezone", "posix/Europe/Paris"), "Error: unknown timezone 'posix/Europe/Paris'"),
    ):
        r = tracker(cfg, "subscriptions", "add", "ana@example.org", *args)
        assert r.returncode == 2 and r.stderr.startswith(line), r.stderr


def test_preview_send_dry_run_list_and_release(setup, smtp):
    engine, config, cfg = setup
    with session_scope(engine) as s:
        h.subscribe(s, config, starts_at=T0)
        f.match(
            s, f.bill(s, title="Ordinance <b>limiting</b> detainers", first_seen=T0 + timedelta(minutes=5))
        )
    at = ("--now", (T0 + timedelta(hours=1)).isoformat())
    text = tracker(cfg, "digest", "preview", "staff@example.org", *at)
    assert text.returncode == 0, text.stderr
    assert text.stdout.startswith("Subject: Sanctuary Tracker: 1 new measure (")
    assert "Ordinance <b>limiting</b> detainers" in text.stdout
    html = tracker(cfg, "digest", "preview", "1", "--format", "html", *at).stdout
    assert "Ordinance &lt;b&gt;limiting&lt;/b&gt; detainers" in html
    dry = tracker(cfg, "digest", "send", "--dry-run", *at)
    assert dry.returncode == 0, dry.stderr
    assert dry.stdout.startswith(
        "would record digest 2026-11-02T13:00Z for subscription 1 (staff@example.org)"
    )
    with session_scope(engine) as s:
        assert s.scalar(select(func.count()).select_from(Digest)) == 0
    assert smtp.messages == []
    smtp.mailbox.fail_next = ["drop"]
    sent = tracker(cfg, "digest", "send", *at)
    assert sent.returncode == 0, sent.stderr
    assert "HELD delivery 1" in sent.stdout
    listed = tracker(cfg, "digest", "list", "--status", "held").stdout
    assert listed.split()[:4] == ["1", "held", "email", "staff@example.org"]
    status = tracker(cfg, "status", "--check", *at)
    assert status.returncode == 1
    assert "1: HELD email to staff@example.org" in status.stdout
    assert (
        tracker(cfg, "digest", "release", "7").stderr == "Error: no delivery 7 (see `tracker digest list`)\n"
    )
    released = tracker(cfg, "digest", "release", "1")
    assert released.stdout == "Delivery 1 released: it will be sent by the next `tracker digest send`.\n"
    send_due(engine, config, T0 + timedelta(hours=2))
    assert len(smtp.messages) == 1
    nothing = tracker(cfg, "digest", "preview", "1")
    assert nothing.stdout == "Nothing new for subscription 1 (staff@example.org): no digest would be sent.\n"


def test_a_paused_subscription_gets_nothing_and_resumes_from_now(tmp_path):
    url = f"sqlite:///{tmp_path}/tracker.db"
    engine = make_engine(url)
    upgrade(engine)
    config = h.make_config(url)
    from tracker.digests import subscriptions as subs

    with session_scope(engine) as s:
        sub = h.subscribe(s, config, starts_at=T0, email_enabled=False)
        subs.pause(s, sub, T0 + timedelta(minutes=1))
        f.match(s, f.bill(s, title="While paused", first_seen=T0 + timedelta(minutes=2)))
    assert send_due(engine, config, T0 + timedelta(hours=1)).recorded == []
    with session_scope(engine) as s:
        subs.resume(s, s.get(Subscription, 1), T0 + timedelta(hours=2))
        f.match(s, f.bill(s, title="After resuming", first_seen=T0 + timedelta(hours=3)))
    send_due(engine, config, T0 + timedelta(hours=4))
    with session_scope(engine) as s:
        (digest,) = s.scalars(select(Digest)).all()
        assert [m["title"] for m in digest.content["cities"][0]["measures"]] == ["After resuming"]
    engine.dispose()
