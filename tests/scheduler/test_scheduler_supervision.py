"""The scheduler under kill -9, SIGTERM and a lost lock, with real processes, real signals and a real (slow)
portal on loopback: crawl children die with their scheduler, every crawl is recorded before it starts and
closed as interrupted when its owner is gone, no stage directory is left behind, and two schedulers never
run the same slot."""

from __future__ import annotations

import contextlib
import itertools
import os
import signal
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from urllib.parse import unquote

import pytest
from sqlalchemy import select, text

from db.engine import session_scope
from db.models import CrawlRun, Jurisdiction
from scheduler import ADVISORY_LOCK_KEY
from tests import factories as f
from tests.conftest import REPO
from tests.digests import helpers as h
from tests.portal import portal_config
from tracker.crawl_runs import close_abandoned, pid_alive

EVERY_2S = "*/2 * * * * *"  # a crawl slot every two seconds (six-field cron: seconds first)
HANG = r"/riverton/matters$"  # the listing that hangs: the crawl stays in flight
CHILD_GONE_WITHIN = 10  # seconds: the child dies with its scheduler (PR_SET_PDEATHSIG, then its watchdog)


def _config(tmp_path, server, portal, db_url, cron=EVERY_2S):
    return portal_config(
        tmp_path / "t.toml",
        server,
        portal,
        db_url,
        clients=["riverton"],
        crawl={"download_timeout": 120.0, "retries": 0},
        extra={"riverton": {"crawl_cron": cron}},
    )


def _start(cfg, log: Path, tmp: Path) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k not in ("TRACKER_CONFIG", "TRACKER_DATABASE_URL")}
    env["TMPDIR"] = str(tmp)  # the crawls' stage directories go here: the tests look for leftovers
    tmp.mkdir(exist_ok=True)
    with log.open("a") as handle:
        return subprocess.Popen(
            [sys.executable, "-m", "tracker", "--config", str(cfg), "schedule"],
            cwd=str(REPO),
            env=env,
            stdout=handle,
            stderr=subprocess.STDOUT,
        )


def _finish(proc: subprocess.Popen) -> int | None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(30)
    except subprocess.TimeoutExpired:  # pragma: no cover - reported by the assertions
        proc.kill()
        proc.wait()
        return None


def _children_of(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(OSError):
            found += [int(x) for x in (task / "children").read_text().split()]
    return found


def _runs(engine) -> list[CrawlRun]:
    with session_scope(engine) as s:
        return list(
            s.scalars(
                select(CrawlRun)
                .join(Jurisdiction)
                .where(Jurisdiction.slug == "riverton")
                .order_by(CrawlRun.id)
            )
        )


def _crawl_in_flight(engine, scheduler: subprocess.Popen, server) -> tuple[CrawlRun, int]:
    """Wait until the scheduler's crawl is recorded as running and its child is waiting on the portal."""
    state: dict = {}

    def ready() -> bool:
        running = [r for r in _runs(engine) if r.status == "running"]
        kids = _children_of(scheduler.pid)
        if running and kids and server.request_count > 0:
            state["run"], state["child"] = running[-1], kids[0]
            return True
        return False

    h.wait_for(ready, 60, "a crawl in flight")
    return state["run"], state["child"]


def _log(path: Path) -> str:
    return path.read_text() if path.exists() else ""


# Each engine once, and each of the two kills once (the restart's bookkeeping is the engine's part).
@pytest.mark.parametrize(
    ("db_url", "also_the_child"),
    [("sqlite", False), ("postgresql", True)],
    ids=["sqlite-scheduler", "postgresql-scheduler-and-child"],
    indirect=["db_url"],
)
def test_kill_9_mid_crawl_the_child_dies_and_the_restart_records_it_interrupted(
    tmp_path, db_url, engine, portal, server, also_the_child
):
    cfg = _config(tmp_path, server, portal, db_url)
    tmp, log = tmp_path / "tmp", tmp_path / "scheduler.log"
    server.add_fault(HANG, "hang", times=None, delay=120)
    first = _start(cfg, log, tmp)
    try:
        run, child = _crawl_in_flight(engine, first, server)
        assert (run.owner_pid, run.owner_host) == (first.pid, os.uname().nodename)
        assert run.owner_token == 1 and run.heartbeat_at is not None
        assert Path(run.stage_dir).is_dir() and Path(run.stage_dir).parent == tmp
        limits = Path(f"/proc/{child}/limits").read_text()
        assert f"Max address space         {4096 * 1024 * 1024}" in limits  # [crawl] memory_mb
        assert "Max cpu time              10811" in limits  # 3 h per jurisdiction, and the child's backstop
        first.send_signal(signal.SIGKILL)
        if also_the_child:
            os.kill(child, signal.SIGKILL)
        first.wait(10)
        # The child does not outlive its scheduler: gone within seconds (the portal still hangs).
        h.wait_for(lambda: not pid_alive(child), CHILD_GONE_WITHIN, "the orphaned crawl child to die")
        assert [r.status for r in _runs(engine)] == ["running"]  # nobody was left to record anything

        server.clear_faults()
        second = _start(cfg, log, tmp)
        try:
            h.wait_for(
                lambda: any(r.status == "succeeded" for r in _runs(engine)), 90, "the next crawl to succeed"
            )
        finally:
            assert _finish(second) == 0
    finally:
        _finish(first)
    runs = _runs(engine)
    assert runs[0].id == run.id and runs[0].status == "interrupted"
    assert f"pid {first.pid}" in runs[0].message and runs[0].finished_at is not None
    assert runs[1].status == "succeeded" and runs[1].mode == "full"  # the next crawl proceeded
    assert not Path(run.stage_dir).exists()
    assert list(tmp.iterdir()) == []  # no stage directory left behind
    assert "Closed 1 crawl run(s) left running by a stopped scheduler as interrupted." in _log(log)
    assert "Traceback" not in _log(log)


def test_sigterm_during_a_slow_crawl_stops_within_the_deadline_and_records_it_interrupted(
    tmp_path, db_url, engine, portal, server
):
    cfg = _config(tmp_path, server, portal, db_url)
    tmp, log = tmp_path / "tmp", tmp_path / "scheduler.log"
    server.add_fault(HANG, "hang", times=None, delay=120)  # the in-flight request would take two minutes
    proc = _start(cfg, log, tmp)
    try:
        _run, child = _crawl_in_flight(engine, proc, server)
        proc.send_signal(signal.SIGTERM)
        # A generous bound, far below the hanging request: the scheduler did not wait for it.
        assert proc.wait(60) == 0
    finally:
        _finish(proc)
    assert not pid_alive(child)
    (closed,) = _runs(engine)
    assert closed.status == "interrupted" and closed.finished_at is not None
    assert "SIGTERM" in closed.message
    assert list(tmp.iterdir()) == []
    text_ = _log(log)
    assert "stopping on signal 15" in text_ and "Traceback" not in text_


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_a_terminated_lock_connection_never_lets_two_schedulers_run_a_slot(
    tmp_path, db_url, engine, portal, server, pg_admin
):
    cfg = _config(tmp_path, server, portal, db_url)
    tmp = tmp_path / "tmp"
    first_log, second_log = tmp_path / "first.log", tmp_path / "second.log"
    schema = unquote(db_url).split("search_path=")[1]
    first = _start(cfg, first_log, tmp)
    second = None
    try:
        h.wait_for(lambda: "Scheduler running with" in _log(first_log), 60, "the first scheduler")
        h.wait_for(lambda: any(r.status == "succeeded" for r in _runs(engine)), 60, "a first crawl")
        second = _start(cfg, second_log, tmp)
        h.wait_for(lambda: "holds this database's lock" in _log(second_log), 60, "the standby to wait")
        with pg_admin.connect() as conn:
            objid = conn.execute(
                text("SELECT hashtext(current_database() || '.' || :s)"), {"s": schema}
            ).scalar()
            holder = conn.execute(
                text(
                    "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND classid = :k "
                    "AND objid = :o AND objsubid = 2"
                ),
                {"k": ADVISORY_LOCK_KEY, "o": objid & 0xFFFFFFFF},
            ).scalar_one()
            assert conn.execute(text("SELECT pg_terminate_backend(:p)"), {"p": holder}).scalar()
        h.wait_for(lambda: "(generation 2)" in _log(second_log), 60, "the standby to take over")
        assert first.wait(60) == 1  # the first one stopped: it could not confirm its lock
        h.wait_for(
            lambda: sum(r.owner_token == 2 and r.status == "succeeded" for r in _runs(engine)) >= 2,
            60,
            "two crawls by the new scheduler",
        )
    finally:
        _finish(first)
        if second is not None:
            assert _finish(second) == 0
    assert "its lock was lost" in _log(first_log)
    runs = _runs(engine)
    assert not [r for r in runs if r.status == "running"]
    # Fencing: every crawl of the first scheduler (generation 1) started before any of the second's...
    first_gen = [r.started_at for r in runs if r.owner_token == 1]
    second_gen = [r.started_at for r in runs if r.owner_token == 2]
    assert first_gen and second_gen and max(first_gen) < min(second_gen)
    assert {r.owner_token for r in runs} == {1, 2}
    # ...and no slot ran twice: no two crawls of the city started within one two-second slot.
    starts = sorted(r.started_at for r in runs)
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    assert min(gaps) >= timedelta(seconds=1), gaps
    assert list(tmp.iterdir()) == []


def test_status_shows_a_running_and_an_interrupted_crawl(engine, db_url):
    from tracker.cli.status import format_status
    from tracker.health import evaluate

    config = h.make_config(db_url, jurisdictions=[h.JURISDICTIONS[0]], alerts={"failures_in_a_row": 2})
    t0 = f.T0
    with session_scope(engine) as s:
        for minutes, status in ((0, "interrupted"), (60, "interrupted"), (120, "running")):
            row = f.crawl_run(s, "riverton", status, t0 + timedelta(minutes=minutes), None)
            row.message = (
                "interrupted: the process supervising this crawl (pid 4242 on hostA) stopped"
                if status == "interrupted"
                else None
            )
            if status == "running":
                row.finished_at, row.owner_pid, row.owner_host = None, 777, "hostA"
                row.heartbeat_at = t0 + timedelta(minutes=121)
    report = evaluate(engine, config, t0 + timedelta(minutes=122))
    text_ = format_status(report)
    assert "never crawled" not in text_
    assert "riverton: last crawl 2026-11-02 13:00 interrupted (incremental)" in text_
    assert "crawl running since 2026-11-02 14:00 (incremental), pid 777 on hostA" in text_
    assert "2 failed, suspect or interrupted in a row" in text_
    (alert,) = report.alerts  # interrupted crawls count toward the failing alert; the running one does not
    assert alert.kind == "failing" and alert.message.startswith("riverton: the last 2 crawls failed")


def test_only_a_running_row_ever_seen_is_not_never_crawled(engine, db_url):
    from tracker.cli.status import format_status
    from tracker.health import evaluate

    config = h.make_config(db_url, jurisdictions=[h.JURISDICTIONS[0]])
    with session_scope(engine) as s:
        row = f.crawl_run(s, "riverton", "running", f.T0)
        row.finished_at = None
    text_ = format_status(evaluate(engine, config, f.T0 + timedelta(minutes=5)))
    assert "riverton: no crawl finished yet" in text_ and "never crawled" not in text_


def test_a_crawl_whose_process_is_gone_is_shown_so_and_alerts(engine, db_url):
    """After `kill -9` of the scheduler, `tracker status` said "crawl running since ..., pid N" for a dead
    pid and `status --check` exited 0 until the next scheduler start (until 2026-12-07)."""
    from tracker.cli.status import format_status
    from tracker.crawl_runs import HOST
    from tracker.health import evaluate

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()  # a pid that has exited (and been reaped)
    config = h.make_config(db_url, jurisdictions=[h.JURISDICTIONS[0]])
    with session_scope(engine) as s:
        row = f.crawl_run(s, "riverton", "running", f.T0)
        row.finished_at, row.owner_pid, row.owner_host = None, dead.pid, HOST
        row.heartbeat_at = f.T0 + timedelta(minutes=1)
        s.flush()
        run_id = row.id
    report = evaluate(engine, config, f.T0 + timedelta(minutes=2))
    text_ = format_status(report)
    assert f"left running: its process (pid {dead.pid} on {HOST}) is gone" in text_, text_
    (alert,) = [a for a in report.alerts if a.kind == "abandoned"]
    assert alert.jurisdiction == "riverton" and "nothing supervises it" in alert.message
    with session_scope(engine) as s:  # status only reads: the row is closed by the next start or crawl
        assert s.get(CrawlRun, run_id).status == "running"
        close_abandoned(s, now=f.T0 + timedelta(minutes=3))
    closed = format_status(evaluate(engine, config, f.T0 + timedelta(minutes=4)))
    line = next(x for x in closed.splitlines() if x.startswith("  riverton: last crawl"))
    assert " interrupted (incremental)" in line and line.count("interrupted") == 1, line  # said twice before
    assert f"the process supervising this crawl (pid {dead.pid} on {HOST}) stopped" in line, line
