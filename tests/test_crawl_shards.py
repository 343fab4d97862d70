"""A full backfill split over two crawler processes ([crawl] processes = 2) stores exactly what one process
stores, lists every page in each process, shares out the attachments budget, and a failure in one worker
fails the whole crawl with nothing imported (storing on SQLite and PostgreSQL, the rest on SQLite)."""

from __future__ import annotations

import signal
import subprocess
import sys

import pytest
from sqlalchemy import func, select

from db.engine import session_scope
from db.models import Attachment, Bill
from tests.clock import wait_for
from tests.conftest import REPO, run_tracker
from tests.portal import event_counts, portal_statuses, runs, stored_statuses
from tests.portal import portal_config as _portal_config

# These crawls test the matters' crawl and count its requests: they read no meetings (the demo portal's
# meetings and the Legistar events are tested in tests/platforms/test_legistar_meetings_crawl.py), and a
# full crawl fetches every matter's attachment list (attachments by title are tested in
# tests/test_crawl_attachments_by_title.py).
NO_MEETINGS = {"meetings_ahead_days": 0, "meetings_back_days": 0, "attachments_by_title": False}


def portal_config(*args, crawl: dict | None = None, **kw):
    return _portal_config(*args, crawl={**NO_MEETINGS, **(crawl or {})}, **kw)


CLIENT = "riverton"


def test_two_processes_store_what_one_stores(tmp_path, db_url, engine, portal, server):
    cfg = portal_config(
        tmp_path / "t.toml", server, portal, db_url, clients=[CLIENT], crawl={"processes": 2, "page_size": 50}
    )
    done = run_tracker("--config", str(cfg), "crawl", "--full")
    assert done.returncode == 0, done.stderr
    expected = portal_statuses(portal, CLIENT)
    assert stored_statuses(engine, CLIENT) == expected
    assert event_counts(engine) == {"first_seen": len(expected)}
    (run,) = runs(engine, CLIENT)
    assert (run.mode, run.status, run.seen, run.new) == ("full", "succeeded", len(expected), len(expected))
    listed = len(portal.client(CLIENT).matter_rows())
    pages = listed // 50 + 1
    # every process lists every page; each matter's three sub-resources are fetched once, by one process
    assert run.requests == 2 * pages + 3 * len(expected)
    histories = [p for p, _ in server.requests if p.endswith("/histories")]
    assert len(histories) == len(set(histories)) == len(expected)
    with session_scope(engine) as s:
        assert s.scalar(select(func.count()).select_from(Bill)) == len(expected)
        with_docs = s.scalar(select(func.count(func.distinct(Attachment.bill_id))))
        assert with_docs > 0


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # SQLite: the engine is incidental here
def test_the_attachments_budget_is_shared_out(tmp_path, db_url, engine, portal, server):
    cfg = portal_config(
        tmp_path / "t.toml",
        server,
        portal,
        db_url,
        clients=[CLIENT],
        crawl={"processes": 2, "attachments_per_crawl": 10},
    )
    done = run_tracker("--config", str(cfg), "crawl", "--full")
    assert done.returncode == 0, done.stderr
    lists = [p for p, _ in server.requests if p.endswith("/attachments")]
    assert len(lists) == 10  # 5 per process
    with session_scope(engine) as s:
        fetched = s.scalar(
            select(func.count()).select_from(Bill).where(Bill.attachments_fetched_at.is_not(None))
        )
        assert fetched == 10


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # nothing is stored: one engine
def test_a_failing_worker_fails_the_crawl(tmp_path, db_url, engine, portal, server):
    cfg = portal_config(
        tmp_path / "t.toml",
        server,
        portal,
        db_url,
        clients=[CLIENT],
        crawl={"processes": 2, "retries": 0},
    )
    # the histories of every odd matter answer 500: the worker that owns them (ids modulo 2) reads no
    # matter at all, so it fails, and so does the whole crawl (one matter that cannot be read fails only
    # itself: tests/test_crawl_faults.py)
    server.add_fault(rf"/{CLIENT}/matters/\d*[13579]/histories$", "500", times=None)
    done = run_tracker("--config", str(cfg), "crawl", "--full")
    assert done.returncode == 1
    assert f"{CLIENT}: failed (full)" in done.stdout and "HTTP 500" in done.stdout
    with session_scope(engine) as s:
        assert s.scalar(select(func.count()).select_from(Bill)) == 0


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_stop_signal_stops_every_shard_and_imports_nothing(tmp_path, db_url, engine, portal, server, sig):
    """The crawl process crawls shard 0 itself and passes a stop signal on to its worker process: both stop
    promptly, nothing is imported, the run is recorded as interrupted."""
    cfg = portal_config(tmp_path / "t.toml", server, portal, db_url, clients=[CLIENT], crawl={"processes": 2})
    run_tracker("--config", str(cfg), "init")
    server.latency = 0.2
    child = subprocess.Popen(
        [sys.executable, "-m", "tracker", "--config", str(cfg), "crawl", "--full"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    # both shards are fetching matters (each lists the one page first)
    wait_for(
        lambda: sum(p.endswith("/histories") for p, _ in server.requests) >= 6 or child.poll() is not None,
        60,
        what="both shards fetching",
    )
    assert child.poll() is None, child.communicate()  # still crawling when stopped
    child.send_signal(sig)
    out, err = child.communicate(timeout=60)
    assert child.returncode == 1, err
    assert f"{CLIENT}: interrupted (full)" in out and f"crawl stopped by {sig.name}" in out
    with session_scope(engine) as s:
        assert s.scalar(select(func.count()).select_from(Bill)) == 0
    assert [r.status for r in runs(engine, CLIENT)] == ["interrupted"]


def test_a_spawned_worker_does_not_import_the_command_line_interface():
    # multiprocessing's spawn runs the parent's main module, tracker/__main__.py, under the name
    # __mp_main__ in every worker and match process; the CLI (click, every command) must stay out of it.
    probe = (
        "import runpy, sys; runpy.run_module('tracker.__main__', run_name='__mp_main__', alter_sys=True); "
        "print(sorted(m for m in sys.modules if m.startswith(('tracker', 'click'))))"
    )
    done = subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "['tracker']", done.stdout
