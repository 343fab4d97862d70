"""The scheduler's jobs, driven with a controllable clock (explicit times), never by sleeping."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import select

from db.engine import session_scope
from db.models import CrawlRun
from db.models_digest import Digest, DigestDelivery, Subscription
from scheduler import MISFIRE_GRACE_SECONDS, Jobs, build_scheduler, crawl_job
from tests import factories as f
from tests.digests import helpers as h

T0 = f.T0  # Monday 2026-11-02 12:00 UTC = 07:00 in New York (EST)


@pytest.fixture
def paused():
    """A real APScheduler, started paused: jobs get their defaults and triggers, nothing ever runs."""
    scheduler = BackgroundScheduler(timezone="UTC")
    yield scheduler
    if scheduler.running:
        scheduler.shutdown(wait=False)


def _jobs(scheduler):
    return {job.id: job for job in scheduler.get_jobs()}


def test_jobs_triggers_and_explicit_misfire_policy(engine, db_url, paused):
    jurisdictions = [dict(h.JURISDICTIONS[0], crawl_cron="5 3 * * *"), h.JURISDICTIONS[1]]
    config = h.make_config(db_url, jurisdictions=jurisdictions, digests={"misfire_grace_hours": 6})
    with session_scope(engine) as s:
        h.subscribe(
            s, config, "ny@example.org", frequency="daily", at_time="08:00", timezone="America/New_York"
        )
        h.subscribe(
            s,
            config,
            "chi@example.org",
            frequency="weekly",
            weekday="fri",
            at_time="07:30",
            timezone="America/Chicago",
        )
        h.subscribe(s, config, "now@example.org", frequency="immediate")
    build_scheduler(config, "t.toml", paused, engine=engine, now=T0, catch_up=False)
    paused.start(paused=True)
    jobs = _jobs(paused)
    assert set(jobs) == {
        "crawl:riverton",
        "crawl:portalder",
        "digest:1",
        "digest:2",
        "digests:immediate",
        "outbox",
        "health",
        "subscriptions:sync",
        "matcher:retrain",
        "lock:check",  # listed by `tracker schedule --list` too
    }
    assert jobs["lock:check"].trigger.interval == timedelta(seconds=5)
    for job in jobs.values():
        assert job.coalesce is True and job.max_instances == 1
        assert job.executor == ("crawls" if job.id.startswith("crawl:") else "default")
    assert jobs["crawl:riverton"].misfire_grace_time == MISFIRE_GRACE_SECONDS
    assert jobs["digest:1"].misfire_grace_time == 6 * 3600
    # crawl crons: per jurisdiction, else the [schedule] default (UTC)
    assert jobs["crawl:riverton"].trigger.get_next_fire_time(None, T0) == datetime(
        2026, 11, 3, 3, 5, tzinfo=UTC
    )
    assert jobs["crawl:portalder"].trigger.get_next_fire_time(None, T0) == datetime(
        2026, 11, 2, 12, 17, tzinfo=UTC
    )
    # digests at the subscriber's local time, daylight saving time included
    daily = jobs["digest:1"].trigger
    assert daily.get_next_fire_time(None, T0) == datetime(2026, 11, 2, 13, 0, tzinfo=UTC)  # 08:00 EST
    assert daily.get_next_fire_time(None, datetime(2026, 7, 1, tzinfo=UTC)) == datetime(
        2026, 7, 1, 12, 0, tzinfo=UTC
    )
    weekly = jobs["digest:2"].trigger
    assert weekly.get_next_fire_time(None, T0) == datetime(
        2026, 11, 6, 13, 30, tzinfo=UTC
    )  # Friday 07:30 CST
    assert jobs["digests:immediate"].trigger.interval == timedelta(minutes=5)


def test_jurisdictions_that_share_a_schedule_are_crawled_by_one_child(engine, db_url, paused):
    config = h.make_config(db_url)  # both on the [schedule] default
    build_scheduler(config, "t.toml", paused, engine=engine, now=T0, catch_up=False)
    crawls = [j for j in paused.get_jobs() if j.id.startswith("crawl:")]
    assert [(j.id, j.args) for j in crawls] == [("crawl:riverton,portalder", (["riverton", "portalder"],))]


def test_a_daily_digest_goes_out_at_the_subscribers_local_time(engine, db_url, smtp):
    config = h.make_config(db_url, smtp.port)
    with session_scope(engine) as s:
        sub_id = h.subscribe(
            s, config, frequency="daily", at_time="08:00", timezone="America/New_York", starts_at=T0
        ).id
        f.match(s, f.bill(s, title="Detainer ordinance", first_seen=T0 + timedelta(minutes=30)))
    jobs = Jobs(config, None, engine)
    jobs.digest(sub_id, now=datetime(2026, 11, 2, 12, 59, tzinfo=UTC))  # 07:59 in New York
    assert smtp.messages == []
    jobs.digest(sub_id, now=datetime(2026, 11, 2, 13, 0, tzinfo=UTC))  # 08:00
    jobs.digest(sub_id, now=datetime(2026, 11, 2, 13, 0, 30, tzinfo=UTC))  # a doubled tick changes nothing
    (msg,) = smtp.messages
    assert "(Monday 2 November 2026)" in msg["Subject"]
    jobs.digest(sub_id, now=datetime(2026, 11, 3, 13, 0, tzinfo=UTC))  # nothing new the next day
    assert len(smtp.messages) == 1
    with session_scope(engine) as s:
        assert [d.period for d in s.scalars(select(Digest))] == ["2026-11-02"]


def test_a_digest_missed_while_the_scheduler_was_down_is_caught_up_within_the_grace(
    engine, db_url, smtp, paused
):
    config = h.make_config(db_url, smtp.port, digests={"misfire_grace_hours": 6})
    with session_scope(engine) as s:
        h.subscribe(
            s,
            config,
            frequency="daily",
            at_time="08:00",
            timezone="America/New_York",
            starts_at=T0 - timedelta(days=1),
        )
        f.match(s, f.bill(s, title="Detainer ordinance", first_seen=T0 + timedelta(minutes=30)))
    # The scheduler starts at 16:00 UTC: the 13:00 digest is three hours late, inside the grace.
    build_scheduler(config, None, paused, engine=engine, now=T0 + timedelta(hours=4))
    assert len(smtp.messages) == 1
    with session_scope(engine) as s:
        assert [d.period for d in s.scalars(select(Digest))] == ["2026-11-02"]


def test_beyond_the_grace_the_digest_waits_for_its_next_time(engine, db_url, smtp, paused):
    config = h.make_config(db_url, smtp.port, digests={"misfire_grace_hours": 6})
    with session_scope(engine) as s:
        sub_id = h.subscribe(
            s,
            config,
            frequency="daily",
            at_time="08:00",
            timezone="America/New_York",
            starts_at=T0 - timedelta(days=1),
        ).id
        f.match(s, f.bill(s, title="Detainer ordinance", first_seen=T0 + timedelta(minutes=30)))
    build_scheduler(config, None, paused, engine=engine, now=T0 + timedelta(hours=11))  # 10 h late
    assert smtp.messages == []
    Jobs(config, None, engine).digest(sub_id, now=datetime(2026, 11, 3, 13, 0, tzinfo=UTC))
    (msg,) = smtp.messages  # nothing lost: the next digest has it
    assert "Detainer ordinance" in msg.get_body(preferencelist=("plain",)).get_content()


def test_digest_jobs_follow_the_subscriptions(engine, db_url, paused):
    config = h.make_config(db_url)
    build_scheduler(config, None, paused, engine=engine, now=T0, catch_up=False)
    jobs = paused.jobs
    paused.start(paused=True)
    assert not any(j.id.startswith("digest:") and j.id != "digests:immediate" for j in paused.get_jobs())
    with session_scope(engine) as s:
        sub_id = h.subscribe(s, config, frequency="daily", at_time="08:00", timezone="UTC").id
    assert jobs.sync(paused, now=T0, catch_up=False) == [sub_id]
    assert _jobs(paused)[f"digest:{sub_id}"].trigger.get_next_fire_time(None, T0) == datetime(
        2026, 11, 3, 8, 0, tzinfo=UTC
    )
    with session_scope(engine) as s:
        s.get(Subscription, sub_id).at_time = "18:30"
    assert jobs.sync(paused, now=T0, catch_up=False) == [sub_id]  # rescheduled
    assert _jobs(paused)[f"digest:{sub_id}"].trigger.get_next_fire_time(None, T0) == datetime(
        2026, 11, 2, 18, 30, tzinfo=UTC
    )
    assert jobs.sync(paused, now=T0, catch_up=False) == []  # unchanged: left alone
    with session_scope(engine) as s:
        s.get(Subscription, sub_id).state = "paused"
    jobs.sync(paused, now=T0, catch_up=False)
    assert f"digest:{sub_id}" not in _jobs(paused)


def test_the_outbox_job_retries_when_the_backoff_is_over(engine, db_url, smtp):
    config = h.make_config(db_url, smtp.port, digests={"retry_base_seconds": 120})
    with session_scope(engine) as s:
        h.subscribe(s, config, starts_at=T0)
        f.match(s, f.bill(s, title="Detainer ordinance", first_seen=T0 + timedelta(minutes=1)))
    jobs = Jobs(config, None, engine)
    smtp.mailbox.fail_next = ["421 4.3.2 Service not available"]
    jobs.immediate(now=T0 + timedelta(minutes=5))
    assert smtp.messages == []
    jobs.outbox(now=T0 + timedelta(minutes=6))  # 60 s later: still backing off
    assert smtp.messages == []
    jobs.outbox(now=T0 + timedelta(minutes=7, seconds=1))
    assert len(smtp.messages) == 1
    with session_scope(engine) as s:
        assert s.scalar(select(DigestDelivery.status)) == "sent"


def test_a_lasting_digest_configuration_problem_is_logged_once_an_hour(engine, db_url, caplog):
    """No [email] table, e-mail subscribers waiting: the outbox job runs every minute, and logged the same
    ERROR every minute (the demo's own config did) until 2026-12-07."""
    config = h.make_config(db_url)  # no [email]
    with session_scope(engine) as s:
        h.subscribe(s, config, starts_at=T0)
        f.match(s, f.bill(s, title="Detainer ordinance", first_seen=T0 + timedelta(minutes=1)))
    jobs = Jobs(config, None, engine)
    caplog.set_level("DEBUG", logger="scheduler")
    jobs.immediate(now=T0 + timedelta(minutes=5))  # records the digest; its e-mail cannot go
    for minutes in (6, 7, 30, 64, 65, 66):  # the outbox job, every minute in a real scheduler
        jobs.outbox(now=T0 + timedelta(minutes=minutes))
    errors = [r for r in caplog.records if r.levelname == "ERROR" and "no [email] table" in r.getMessage()]
    assert len(errors) == 2, [r.getMessage() for r in caplog.records]  # at 12:05 and 13:05
    with session_scope(engine) as s:
        assert s.scalar(select(DigestDelivery.status)) == "pending"  # it waits, as the line says
    # a dry run lists it (with why it waits) instead of stopping at the missing table
    from tracker.digests.outbox import send_due

    dry = send_due(engine, config, T0 + timedelta(minutes=70), dry_run=True)
    assert dry.errors == [] and len(dry.sent) == 1 and "which waits: " in dry.sent[0], dry


def test_a_crawl_killed_at_its_time_limit_is_recorded_as_failed(engine, db_url, tmp_path):
    config = h.make_config(db_url)
    cfg = h.write_toml(tmp_path / "t.toml", config)
    code = crawl_job(str(cfg), "riverton", time_limit=0.2, engine=engine, config=config)
    assert code == 124
    with session_scope(engine) as s:
        (run,) = s.scalars(select(CrawlRun)).all()
        assert (run.status, run.message) == ("failed", "crawl killed after its time limit (0 s)")


def test_a_failed_crawl_child_is_recorded_once(sqlite_db, tmp_path):
    db_url, engine = sqlite_db
    port = h.free_port()  # nothing listens: the portal is down
    jurisdictions = [dict(h.JURISDICTIONS[0], api_base=f"http://127.0.0.1:{port}/v1")]
    config = h.make_config(db_url, jurisdictions=jurisdictions, crawl={"retries": 0, "download_timeout": 2})
    cfg = h.write_toml(tmp_path / "t.toml", config)
    code = crawl_job(str(cfg), "riverton", time_limit=120, engine=engine, config=config)
    assert code == 1
    with session_scope(engine) as s:
        (run,) = s.scalars(select(CrawlRun)).all()  # the child's own record; not a second one
        assert run.status == "failed" and run.mode == "full"
