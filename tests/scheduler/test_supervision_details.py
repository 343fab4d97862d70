"""Smaller supervision promises: the extraction child dies with its parent, the SQLite lock file keeps no
stale pid, `schedule --list` shows the lock check, and alert mails carry short reasons, never whole URLs."""

from __future__ import annotations

import signal
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from sqlalchemy.engine import make_url

from db.engine import session_scope
from scheduler import _lock_path, single_instance
from tests import factories as f
from tests.conftest import REPO, run_tracker
from tests.digests import helpers as h
from tracker.crawl_runs import pid_alive
from tracker.health import check_and_notify, short_reason

PARENT = """
import sys, time
from tracker.extract import TEXT, ExtractorProcess
ep = ExtractorProcess(timeout=30, memory_mb=512)
ep.extract(TEXT, b"hello", max_chars=100)
print(ep._proc.pid, flush=True)
time.sleep(120)
"""


def test_the_extraction_child_dies_with_its_parent():
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT], cwd=str(REPO), stdout=subprocess.PIPE, text=True
    )
    try:
        child = int(parent.stdout.readline())
        limits = Path(f"/proc/{child}/limits").read_text()
        assert f"Max address space         {512 * 1024 * 1024}" in limits
        parent.send_signal(signal.SIGKILL)
        parent.wait(10)
        h.wait_for(lambda: not pid_alive(child), 10, "the extraction child to die with its parent")
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()
        parent.stdout.close()


def test_the_sqlite_lock_file_keeps_no_stale_pid_after_a_clean_exit(tmp_path):
    url = f"sqlite:///{tmp_path}/tracker.db"
    path = _lock_path(make_url(url))
    with single_instance(url) as alive:
        assert alive()
        assert path.read_text().strip().isdigit()
    assert path.read_text() == ""
    with single_instance(url) as alive:
        path.unlink()  # a lock file removed under a running scheduler: it can no longer confirm its lock
        assert not alive()


def test_schedule_list_shows_the_lock_check(sqlite_db, tmp_path):
    db_url, _ = sqlite_db
    cfg = h.write_toml(tmp_path / "t.toml", h.make_config(db_url))
    listed = run_tracker("--config", str(cfg), "schedule", "--list")
    assert listed.returncode == 0, listed.stderr
    assert any(line.startswith("lock:check: next ") for line in listed.stdout.splitlines())


def test_alert_mails_name_the_jurisdiction_the_kind_and_a_short_reason(engine, db_url, smtp):
    config = h.make_config(
        db_url,
        smtp.port,
        jurisdictions=[h.JURISDICTIONS[0]],
        alerts={"operator_email": "ops@example.org", "failures_in_a_row": 1},
    )
    url = "https://webapi.legistar.com/v1/riverton/matters?$filter=" + "MatterLastModifiedUtc gt x or " * 20
    with session_scope(engine) as s:
        f.crawl_run(s, "riverton", "failed", f.T0, f"riverton: HTTP 500 from {url.replace(' ', '+')}")
    check_and_notify(engine, config, f.T0 + timedelta(minutes=1))
    (mail,) = smtp.messages
    body = mail.get_content()
    line = next(x for x in body.splitlines() if x.startswith("* "))
    assert line.startswith("* [failing] riverton: the last 1 crawls failed")
    assert "HTTP 500 from https://webapi.legistar.com/v1/riverton/matters" in line
    assert "$filter" not in body and "MatterLastModifiedUtc" not in body
    assert len(short_reason("x" * 5000)) == 200


def test_a_running_crawl_is_closed_only_when_its_owner_is_gone(engine, db_url, tmp_path):
    from db.models import CrawlRun
    from tracker.crawl_runs import HOST, close_abandoned

    alive = subprocess.Popen(["sleep", "60"])
    dead = subprocess.Popen(["true"])
    dead.wait()
    stage = tmp_path / "tracker-crawl-left"
    stage.mkdir()
    old, fresh = f.T0 - timedelta(hours=1), f.T0 - timedelta(minutes=1)
    owners = {
        "dead pid here": (HOST, dead.pid, old),
        "live pid here, no recent heartbeat": (HOST, alive.pid, old),
        "other host, stale heartbeat": ("elsewhere", 1, old),
        "other host, recent heartbeat": ("elsewhere", 1, fresh),
    }
    try:
        with session_scope(engine) as s:
            for name, (host, pid, beat) in owners.items():
                row = f.crawl_run(s, "riverton", "running", beat, name)
                row.finished_at, row.owner_host, row.owner_pid, row.heartbeat_at = None, host, pid, beat
                row.stage_dir = str(stage) if name == "dead pid here" else None
        with session_scope(engine) as s:
            closed = close_abandoned(s, now=f.T0)
        assert len(closed) == 2
        with session_scope(engine) as s:
            statuses = sorted(r.status for r in s.query(CrawlRun))
        assert statuses == ["interrupted", "interrupted", "running", "running"]
        with session_scope(engine) as s:
            still = sorted(r.message for r in s.query(CrawlRun).filter(CrawlRun.status == "running"))
        assert still == ["live pid here, no recent heartbeat", "other host, recent heartbeat"]
        assert not stage.exists()  # the interrupted run's stage directory is removed
    finally:
        alive.kill()
        alive.wait()
