"""`tracker doctor` against real components on loopback: a healthy setup (the demo portal, an SMTP server, a
running scheduler), a stopped portal, an unmigrated database, an unreachable SMTP server, a dead scheduler."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import timedelta

from db.engine import make_engine, session_scope, upgrade
from db.models import SchedulerLease
from tests.clock import utc_now
from tests.conftest import REPO, run_tracker
from tests.digests.helpers import free_port, wait_for
from tests.portal import portal_config
from tracker.doctor import run_checks

NEVER = "0 0 1 1 *"  # no crawl while the test runs


def _config(tmp_path, server, portal, url, *, smtp_port: int | None) -> str:
    cfg = portal_config(tmp_path / "t.toml", server, portal, url, clients=["riverton"])
    text = cfg.read_text().replace("[crawl]", f'[schedule]\ncrawl_cron = "{NEVER}"\n\n[crawl]')
    if smtp_port is not None:
        text += (
            f'\n[email]\nsmtp_host = "127.0.0.1"\nsmtp_port = {smtp_port}\n'
            'from_address = "tracker@example.org"\nstarttls = false\n'
        )
        text += '\n[digests]\npublic_url = "https://tracker.example.org"\n'  # digests link to the web app
    cfg.write_text(text)
    return str(cfg)


def _by_name(checks) -> dict[str, tuple[str, str]]:
    return {c.name: (c.status, c.message) for c in checks}


def _lease_fresh(url: str) -> bool:
    engine = make_engine(url)
    try:
        with session_scope(engine) as s:
            lease = s.get(SchedulerLease, 1)
            return lease is not None and utc_now(seconds=False) - lease.checked_at < timedelta(seconds=30)
    finally:
        engine.dispose()


def test_a_healthy_setup_is_all_ok(tmp_path, sqlite_db, portal, server, smtp):
    url, _engine = sqlite_db
    cfg = _config(tmp_path, server, portal, url, smtp_port=smtp.port)
    env = {k: v for k, v in os.environ.items() if k not in ("TRACKER_CONFIG", "TRACKER_DATABASE_URL")}
    with (tmp_path / "scheduler.log").open("w") as log:
        scheduler = subprocess.Popen(
            [sys.executable, "-m", "tracker", "--config", cfg, "schedule"],
            cwd=str(REPO),
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for(lambda: _lease_fresh(url), 60, "the scheduler's heartbeat")
        # the unsubscribe links' secret is set, as deploy.md says (its value is never shown)
        done = run_tracker(
            "--config", cfg, "doctor", "--timeout", "5", env={"TRACKER_SECRET_KEY": "s3cret-k"}
        )
    finally:
        scheduler.send_signal(signal.SIGTERM)
        scheduler.wait(30)
    # stopped a moment ago: its heartbeat is fresh, but it holds no lock, as `tracker status` says
    stopped = _by_name(run_checks(cfg, timeout=3))["scheduler"]
    assert stopped[0] == "FAIL" and stopped[1].startswith("not running: last heartbeat"), stopped
    lines = done.stdout.splitlines()
    assert done.returncode == 0, done.stdout + done.stderr
    assert all(line.startswith("OK ") for line in lines), done.stdout
    names = [line.split(":")[0].split(None, 1)[1] for line in lines]
    assert names == [
        "config",
        "database",
        "portal riverton",
        "smtp",
        "scheduler",
        "base url",
        "disk database",
        "disk stage files",
    ]
    assert "HTTP 200 from http://127.0.0.1:" in lines[2]
    assert "s3cret-k" not in done.stdout + done.stderr
    assert "running (pid" in lines[4]
    assert len(smtp.messages) == 0  # a connection, no mail


def test_a_stopped_portal_and_an_unreachable_smtp_server_fail(tmp_path, sqlite_db, portal, server):
    url, _engine = sqlite_db
    cfg = _config(tmp_path, server, portal, url, smtp_port=free_port())  # nothing listens there
    server.__exit__(None, None, None)  # the portal stops
    done = run_tracker("--config", cfg, "doctor", "--timeout", "3")
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    checks = _by_name(run_checks(cfg, timeout=3))
    status, message = checks["portal riverton"]
    assert status == "FAIL" and message.startswith("cannot reach http://127.0.0.1:")
    status, message = checks["smtp"]
    assert status == "FAIL" and "cannot connect" in message
    assert checks["database"][0] == "OK"
    # never ran: a warning, not a failure (crawls and digests may come from cron)
    assert checks["scheduler"] == ("WARN", "no scheduler has run on this database (tracker schedule)")


def test_an_unmigrated_database_and_a_dead_scheduler_fail(tmp_path, portal, server, smtp):
    url = f"sqlite:///{tmp_path}/old.db"
    engine = make_engine(url)
    upgrade(engine, "0010_crawl_supervision")
    cfg = _config(tmp_path, server, portal, url, smtp_port=smtp.port)
    checks = _by_name(run_checks(cfg, timeout=3))
    status, message = checks["database"]
    assert (
        status == "FAIL" and "is at 0010_crawl_supervision, not at" in message and "tracker init" in message
    )
    assert checks["scheduler"][0] == "FAIL"
    assert checks["portal riverton"][0] == "OK" and checks["smtp"][0] == "OK"

    upgrade(engine)
    long_ago = utc_now(seconds=False) - timedelta(hours=3)
    with session_scope(engine) as s:  # what a scheduler killed three hours ago leaves behind
        s.add(
            SchedulerLease(
                id=1,
                generation=4,
                owner_host="web1",
                owner_pid=4242,
                acquired_at=long_ago,
                checked_at=long_ago,
            )
        )
    engine.dispose()
    checks = _by_name(run_checks(cfg, timeout=3))
    assert checks["database"][0] == "OK"
    assert checks["scheduler"] == ("FAIL", "not running: last heartbeat 3 h ago (pid 4242 on web1)")
    empty = run_tracker("--config", str(tmp_path / "missing.toml"), "doctor")
    assert empty.returncode == 1
    assert empty.stdout.splitlines()[0].startswith("FAIL  config: ")


def test_both_missing_base_urls_are_named_at_once(tmp_path, sqlite_db):
    """With feeds and e-mail configured and neither base URL set, both warnings show (the second one used
    to appear only once the first was fixed)."""
    from tests.digests.helpers import make_config
    from tracker.doctor import _base_url

    url, _engine = sqlite_db
    config = make_config(url, free_port(), digests={"feed_dir": str(tmp_path / "feeds")})
    status, message = _by_name([_base_url(config)])["base url"]
    assert status == "WARN"
    assert "feed_base_url is not set" in message and "public_url is not set" in message, message


def test_a_missing_unsubscribe_secret_is_a_warning(tmp_path, sqlite_db, monkeypatch):
    """With e-mail and public_url but no $TRACKER_SECRET_KEY, digests carry no unsubscribe link: doctor
    said OK (until 2026-12-07)."""
    from tests.digests.helpers import make_config
    from tracker.doctor import _base_url

    url, _engine = sqlite_db
    config = make_config(url, free_port(), digests={"public_url": "https://tracker.example.org"})
    monkeypatch.delenv("TRACKER_SECRET_KEY", raising=False)
    status, message = _by_name([_base_url(config)])["base url"]
    assert status == "WARN" and message.startswith("$TRACKER_SECRET_KEY ([digests] secret_env) is not set"), (
        message
    )
    monkeypatch.setenv("TRACKER_SECRET_KEY", "s3cret-k")
    status, message = _by_name([_base_url(config)])["base url"]
    assert status == "OK" and "s3cret-k" not in message, message


def test_a_missing_database_file_is_named_and_not_created(tmp_path):
    """doctor looked into a SQLite file that did not exist, creating it empty (until 2026-12-07), after which
    `tracker status` said "has no schema" instead of "there is no database"."""
    missing = tmp_path / "nope.db"
    cfg = tmp_path / "t.toml"
    cfg.write_text(f'[database]\nurl = "sqlite:///{missing}"\n')
    checks = _by_name(run_checks(str(cfg), timeout=3))
    assert checks["database"] == ("FAIL", f"there is no database at {missing}: run `tracker init`")
    assert not missing.exists()


def test_a_feed_dir_that_cannot_be_made_fails(tmp_path):
    """A feed_dir under a file was "OK disk feeds: N GB free" (until 2026-12-07), and digest send then
    stopped with a traceback."""
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    cfg = tmp_path / "t.toml"
    feeds = blocker / "feeds"
    cfg.write_text(
        f'[database]\nurl = "sqlite:///{tmp_path}/t.db"\n\n[digests]\nfeed_dir = "{feeds}"\n'
        'feed_base_url = "https://t.example.org/feeds"\n'
    )
    checks = _by_name(run_checks(str(cfg), timeout=3))
    assert checks["disk feeds"] == ("FAIL", f"{feeds}: not a directory ({blocker} is a file)")
    # a folder still to be made is said to be (it read as if it existed)
    later = tmp_path / "later" / "feeds"
    cfg.write_text(cfg.read_text().replace(str(feeds), str(later)))
    status, message = _by_name(run_checks(str(cfg), timeout=3))["disk feeds"]
    assert status == "OK" and message.endswith(f"free in {later} (to be created in {tmp_path})"), message
