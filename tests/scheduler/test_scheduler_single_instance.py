"""Two schedulers started at once on one database: one runs, the other waits, and takes over when the first
stops (a PostgreSQL advisory lock on its own connection; a file lock next to a SQLite database)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

from tests.conftest import REPO, run_tracker
from tests.digests import helpers as h

NEVER = "0 0 1 1 *"  # no crawl during the test


def _start(cfg, log):
    env = {k: v for k, v in os.environ.items() if k not in ("TRACKER_CONFIG", "TRACKER_DATABASE_URL")}
    handle = log.open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "tracker", "--config", str(cfg), "schedule"],
        cwd=str(REPO),
        env=env,
        stdout=handle,
        stderr=subprocess.STDOUT,
    )
    handle.close()
    return proc


def _stop(proc):
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(30)
    except subprocess.TimeoutExpired:  # pragma: no cover - reported by the assertion
        proc.kill()
        proc.wait()
        return None


def test_a_second_scheduler_waits_for_the_first(db_url, tmp_path):
    config = h.make_config(db_url, schedule={"crawl_cron": NEVER})
    cfg = h.write_toml(tmp_path / "t.toml", config)
    first_log, second_log = tmp_path / "first.log", tmp_path / "second.log"
    first = _start(cfg, first_log)
    second = None
    try:
        h.wait_for(lambda: "Scheduler running with" in first_log.read_text(), 60, "the first scheduler")
        second = _start(cfg, second_log)
        h.wait_for(
            lambda: "Another scheduler holds this database's lock" in second_log.read_text(), 60, "the wait"
        )
        assert "Scheduler running" not in second_log.read_text()
        status = run_tracker("--config", str(cfg), "status")
        assert "Scheduler: running" in status.stdout, status.stderr
        assert second.poll() is None and "Scheduler running" not in second_log.read_text()
        assert _stop(first) == 0
        h.wait_for(
            lambda: "Scheduler running with" in second_log.read_text(),
            60,
            "the second scheduler to take over",
        )
        assert _stop(second) == 0
    finally:
        _stop(first)
        if second is not None:
            _stop(second)
    assert "Traceback" not in first_log.read_text() + second_log.read_text()
    # one crawl (both jurisdictions share a schedule), immediate digests, outbox, health, sync, matcher
    # retraining, lock check
    assert "Scheduler running with 7 jobs (generation 1)." in first_log.read_text()
    # each scheduler that takes over gets the next generation (the fencing token its jobs check)
    assert "Scheduler running with 7 jobs (generation 2)." in second_log.read_text()


STOP_AT_START = """
import os, signal, sys
import scheduler
from tracker.config import load_config

path = sys.argv[1]


def say(message):
    print(message, flush=True)
    if message.startswith("scheduler running"):  # the last moment before the scheduler starts
        os.kill(os.getpid(), signal.SIGTERM)


sys.exit(scheduler.run(load_config(path), path, on_event=say))
"""


def test_a_stop_signal_just_before_the_scheduler_starts_is_not_lost(db_url, tmp_path):
    """SIGTERM between 'Scheduler running' and the scheduler's start found it not running, so its shutdown
    did nothing and the scheduler then ran on until killed (seen under load in the test above)."""
    config = h.make_config(db_url, schedule={"crawl_cron": NEVER})
    cfg = h.write_toml(tmp_path / "t.toml", config)
    env = {k: v for k, v in os.environ.items() if k not in ("TRACKER_CONFIG", "TRACKER_DATABASE_URL")}
    proc = subprocess.Popen(
        [sys.executable, "-c", STOP_AT_START, str(cfg)],
        cwd=str(REPO),
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        out, _ = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
        raise AssertionError(f"the scheduler did not stop on a signal at its start:\n{out}") from None
    assert proc.returncode == 0, out
    assert "scheduler running with 7 jobs" in out and "stopping on signal 15" in out
    assert "Traceback" not in out
