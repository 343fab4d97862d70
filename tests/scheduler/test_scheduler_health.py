"""Crawl health: alerts for a jurisdiction that stopped crawling, keeps failing or suddenly lists nothing;
`tracker status` and `--check`; the operator's alert mail, deduplicated."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from db.engine import session_scope
from db.models_digest import Alert
from tests import factories as f
from tests.conftest import run_tracker
from tests.digests import helpers as h
from tracker.cli.status import format_status
from tracker.health import check_and_notify, evaluate

T0 = f.T0


def _kinds(engine, config, now):
    return sorted((a.kind, a.jurisdiction) for a in evaluate(engine, config, now).alerts)


def test_stale_failing_and_suspect_alerts(engine, db_url):
    jurisdictions = [h.JURISDICTIONS[0], dict(h.JURISDICTIONS[1], stale_after_hours=100)]
    config = h.make_config(
        db_url, jurisdictions=jurisdictions, alerts={"stale_after_hours": 48, "failures_in_a_row": 3}
    )
    with session_scope(engine) as s:
        for slug in ("riverton", "portalder"):
            f.crawl_run(s, slug, "succeeded", T0 - timedelta(hours=60))
    # 60 h without success: riverton's threshold is the default 48 h, portalder's its own 100 h
    assert _kinds(engine, config, T0) == [("stale", "riverton")]
    with session_scope(engine) as s:
        f.crawl_run(s, "riverton", "succeeded", T0)
        f.crawl_run(s, "portalder", "failed", T0 + timedelta(hours=1), "portalder: HTTP 500 from the portal")
        f.crawl_run(s, "portalder", "failed", T0 + timedelta(hours=2), "portalder: HTTP 500 from the portal")
    assert _kinds(engine, config, T0 + timedelta(hours=3)) == []  # two failures: visible, not yet an alert
    with session_scope(engine) as s:
        f.crawl_run(
            s,
            "portalder",
            "suspect",
            T0 + timedelta(hours=3),
            "suspect listing: the portal listed 0 matters where 400 are stored; nothing was changed",
        )
    report = evaluate(engine, config, T0 + timedelta(hours=4))
    assert sorted((a.kind, a.jurisdiction) for a in report.alerts) == [
        ("failing", "portalder"),
        ("suspect", "portalder"),
    ]
    text = format_status(report)
    assert "portalder: last crawl 2026-11-02 15:00 suspect (incremental)" in text
    assert "3 failed, suspect or interrupted in a row" in text
    assert "ALERTS (2):" in text and "suddenly returned (almost) nothing" in text
    with session_scope(engine) as s:
        f.crawl_run(s, "portalder", "succeeded", T0 + timedelta(hours=5))
    assert _kinds(engine, config, T0 + timedelta(hours=6)) == []


def test_a_jurisdiction_that_never_succeeded_alerts_after_its_threshold(engine, db_url):
    config = h.make_config(db_url, jurisdictions=[h.JURISDICTIONS[0]], alerts={"stale_after_hours": 24})
    with session_scope(engine) as s:
        f.crawl_run(s, "riverton", "failed", T0, "riverton: environment variable X (token_env) is not set")
    assert _kinds(engine, config, T0 + timedelta(hours=23)) == []
    (alert,) = evaluate(engine, config, T0 + timedelta(hours=25)).alerts
    assert alert.message.startswith("riverton: no successful crawl since the first attempt")
    assert "token_env) is not set" in alert.message


def test_operator_mail_is_sent_once_reminded_and_cleared(engine, db_url, smtp):
    config = h.make_config(
        db_url,
        smtp.port,
        jurisdictions=[h.JURISDICTIONS[0]],
        alerts={"operator_email": "ops@example.org", "stale_after_hours": 48, "remind_every_hours": 24},
    )
    with session_scope(engine) as s:
        f.crawl_run(s, "riverton", "succeeded", T0 - timedelta(hours=50))
    check_and_notify(engine, config, T0)
    (first,) = smtp.messages
    assert first["To"] == "ops@example.org" and first["Subject"] == "Sanctuary Tracker: 1 open alert"
    assert "riverton: no successful crawl for 2.1 days (threshold 48 h)" in first.get_content()
    for minutes in (15, 30, 60 * 12):  # the scheduler checks every 15 minutes: no repeated mail
        check_and_notify(engine, config, T0 + timedelta(minutes=minutes))
    assert len(smtp.messages) == 1
    check_and_notify(engine, config, T0 + timedelta(hours=24))  # still open after a day: one reminder
    assert len(smtp.messages) == 2
    with session_scope(engine) as s:
        f.crawl_run(s, "riverton", "succeeded", T0 + timedelta(hours=25))
    check_and_notify(engine, config, T0 + timedelta(hours=26))
    assert len(smtp.messages) == 3
    assert smtp.messages[2]["Subject"] == "Sanctuary Tracker: alerts cleared"
    check_and_notify(engine, config, T0 + timedelta(hours=27))
    assert len(smtp.messages) == 3
    with session_scope(engine) as s:
        (alert,) = s.scalars(select(Alert)).all()
        assert alert.resolved_at == T0 + timedelta(hours=26)


def test_an_alert_mail_that_fails_is_tried_again(engine, db_url, smtp):
    config = h.make_config(
        db_url, smtp.port, jurisdictions=[h.JURISDICTIONS[0]], alerts={"operator_email": "ops@example.org"}
    )
    with session_scope(engine) as s:
        f.crawl_run(s, "riverton", "suspect", T0, "suspect listing")
    smtp.mailbox.fail_next = ["451 try later"]
    check_and_notify(engine, config, T0)
    assert smtp.messages == []
    check_and_notify(engine, config, T0 + timedelta(minutes=15))
    assert len(smtp.messages) == 1


def test_status_and_check_exit_code(sqlite_db, tmp_path):
    db_url, engine = sqlite_db
    config = h.make_config(db_url, jurisdictions=[h.JURISDICTIONS[0]])
    cfg = str(h.write_toml(tmp_path / "t.toml", config))
    with session_scope(engine) as s:
        f.crawl_run(s, "riverton", "succeeded", T0)
        h.subscribe(s, config, frequency="daily", at_time="08:00", timezone="America/New_York")
    at = ("--now", (T0 + timedelta(hours=1, minutes=30)).isoformat())
    ok = run_tracker("--config", cfg, "status", "--check", *at)
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.splitlines()[:2] == ["Status at 2026-11-02 13:30 UTC", "Scheduler: not running"]
    assert "  riverton: last crawl 2026-11-02 12:00 succeeded (incremental): 10 seen, 0 new" in ok.stdout
    # no scheduler runs: the next slot is only the schedule's (read as if a crawl would come until 2026-12-07)
    assert (
        "last success 2026-11-02 12:00; next crawl 2026-11-02 18:17 (once `tracker schedule` runs)"
        in ok.stdout
    )
    assert (
        "subscription 1 staff@example.org (daily 08:00 America/New_York): next 2026-11-03 13:00" in ok.stdout
    )
    assert ok.stdout.rstrip().endswith("No alerts.")
    late = run_tracker(
        "--config",
        cfg,
        "status",
        "--check",
        "--format",
        "json",
        "--now",
        (T0 + timedelta(days=3)).isoformat(),
    )
    assert late.returncode == 1
    import json

    doc = json.loads(late.stdout)
    assert [a["kind"] for a in doc["alerts"]] == ["stale"]
    assert doc["jurisdictions"][0]["last_run"]["status"] == "succeeded"
