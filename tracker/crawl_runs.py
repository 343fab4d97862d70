"""Running crawls in the database: recorded before they start, with their owner and a heartbeat, and closed as
``interrupted`` when their owner is gone.

A crawl starts with one ``running`` row per jurisdiction (:func:`begin`), owned by the process that
supervises it: the scheduler (its pid and its generation, the fencing token of :mod:`scheduler`), or
``tracker crawl`` run by hand (its own pid). The owner updates ``heartbeat_at`` every
:data:`HEARTBEAT_SECONDS`. When the crawl ends, the importer's record replaces the row (:func:`discard`); when
it does not, the owner closes it (:func:`close`). An owner can die without doing either (``kill -9``, a lost
machine): :func:`close_abandoned` (run by every scheduler start and every crawl of the jurisdiction) closes a
``running`` row as ``interrupted`` when its owner is gone, that is when

- it ran on this host and its pid is dead (or is this very process, which does not supervise it), or
- it ran on another host and its heartbeat is older than :data:`ABANDONED_AFTER`,

and removes its stage directory.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import socket
import tempfile
import threading
from collections.abc import Iterable
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, delete, select, update
from sqlalchemy.orm import Session

from db.engine import session_scope
from db.models import CrawlRun, Jurisdiction
from db.types import utcnow

logger = logging.getLogger("tracker.crawl_runs")

HEARTBEAT_SECONDS = 15.0
ABANDONED_AFTER = timedelta(minutes=5)
ENV = "TRACKER_CRAWL_RUNS"  # {"slug": run id} of the rows a supervising scheduler recorded for a child
STAGE_PREFIX = "tracker-crawl-"
HOST = socket.gethostname()[:255]

_active: set[int] = set()  # the running rows this process supervises
_active_lock = threading.Lock()


def pid_alive(pid: int | None) -> bool:
    """Whether a process with this pid exists on this host and is not a zombie."""
    if not pid or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    with contextlib.suppress(OSError, IndexError):
        stat = Path(f"/proc/{pid}/stat").read_text()
        if stat.rsplit(")", 1)[1].split()[0] == "Z":
            return False
    return True


def new_stage_dir() -> Path:
    return Path(tempfile.mkdtemp(prefix=STAGE_PREFIX))


def remove_stage_dir(path: str | Path | None) -> None:
    """Remove a crawl's stage directory (only one of ours: a temporary directory named tracker-crawl-*)."""
    if not path:
        return
    p = Path(path)
    if p.name.startswith(STAGE_PREFIX):
        shutil.rmtree(p, ignore_errors=True)


def owner_gone(run: CrawlRun, now: datetime) -> bool:
    """Whether the process supervising a ``running`` crawl is gone (see the module's docstring)."""
    if run.owner_host == HOST and run.owner_pid is not None:
        # On this host the pid decides: a live owner may be too busy to beat (a long import holds the
        # interpreter), and it is still there to finish or close its run.
        if run.owner_pid == os.getpid():
            with _active_lock:
                return run.id not in _active
        return not pid_alive(run.owner_pid)
    beat = run.heartbeat_at or run.started_at
    return now - beat > ABANDONED_AFTER


def close_abandoned(
    session: Session, jurisdiction_ids: Iterable[int] | None = None, now: datetime | None = None
) -> list[tuple[str, int]]:
    """Close the ``running`` rows whose owner is gone as ``interrupted`` and remove their stage directories;
    returns (slug, run id) of each."""
    now = now or utcnow()
    q = (
        select(CrawlRun, Jurisdiction.slug)
        .join(Jurisdiction, Jurisdiction.id == CrawlRun.jurisdiction_id)
        .where(CrawlRun.status == "running")
        .order_by(CrawlRun.id)
    )
    if jurisdiction_ids is not None:
        q = q.where(CrawlRun.jurisdiction_id.in_(list(jurisdiction_ids)))
    closed = []
    for run, slug in session.execute(q).all():
        if not owner_gone(run, now):
            continue
        who = f"pid {run.owner_pid} on {run.owner_host}" if run.owner_pid else "its owner"
        run.status = "interrupted"
        run.finished_at = now
        run.errors = max(run.errors or 0, 1)
        run.message = (
            f"the process supervising this crawl ({who}) stopped before it finished "
            f"(last sign of life {run.heartbeat_at or run.started_at:%Y-%m-%d %H:%M:%S} UTC)"
        )
        if run.owner_host == HOST:
            remove_stage_dir(run.stage_dir)
        closed.append((slug, run.id))
        logger.warning(
            "crawl of %s (run %d) was interrupted: %s",
            slug,
            run.id,
            run.message,
            extra={"jurisdiction": slug, "event": "crawl_interrupted"},
        )
    session.flush()
    return closed


def begin(
    session: Session,
    jurisdictions: list[Jurisdiction],
    *,
    owner_pid: int,
    owner_token: int | None,
    stage_dir: Path,
    mode: str = "unknown",
    now: datetime | None = None,
) -> dict[str, int]:
    """Record a ``running`` row for each jurisdiction (after closing the abandoned ones); returns
    {slug: run id}. The caller's transaction commits them."""
    now = now or utcnow()
    close_abandoned(session, [j.id for j in jurisdictions], now)
    ids = {}
    for j in jurisdictions:
        run = CrawlRun(
            jurisdiction_id=j.id,
            mode=mode,
            status="running",
            started_at=now,
            finished_at=None,
            since=None,
            seen=0,
            new=0,
            changed=0,
            status_changes=0,
            vanished=0,
            errors=0,
            requests=0,
            message=None,
            owner_host=HOST,
            owner_pid=owner_pid,
            owner_token=owner_token,
            heartbeat_at=now,
            stage_dir=str(stage_dir),
        )
        session.add(run)
        session.flush()
        ids[j.slug] = run.id
    with _active_lock:
        _active.update(ids.values())
    return ids


def release(ids: Iterable[int]) -> None:
    """This process no longer supervises these rows."""
    with _active_lock:
        _active.difference_update(ids)


def set_modes(engine: Engine, modes: dict[int, str]) -> None:
    with session_scope(engine) as session:
        for run_id, mode in modes.items():
            session.execute(
                update(CrawlRun).where(CrawlRun.id == run_id, CrawlRun.status == "running").values(mode=mode)
            )


def heartbeat(engine: Engine, ids: Iterable[int], now: datetime | None = None) -> None:
    ids = list(ids)
    if not ids:
        return
    with session_scope(engine) as session:
        session.execute(
            update(CrawlRun)
            .where(CrawlRun.id.in_(ids), CrawlRun.status == "running")
            .values(heartbeat_at=now or utcnow())
        )


def discard(engine: Engine, run_id: int) -> None:
    """The crawl recorded its outcome in a row of its own (the importer's): that row takes the running row's
    owner (which process and scheduler generation ran it) and the running row goes."""
    with session_scope(engine) as session:
        run = session.get(CrawlRun, run_id)
        if run is not None and run.status == "running":
            final = session.scalar(
                select(CrawlRun)
                .where(
                    CrawlRun.jurisdiction_id == run.jurisdiction_id,
                    CrawlRun.id > run.id,
                    CrawlRun.status.not_in(("running", "interrupted")),
                    CrawlRun.owner_pid.is_(None),
                )
                .order_by(CrawlRun.id.desc())
                .limit(1)
            )
            if final is not None:
                final.owner_host, final.owner_pid = run.owner_host, run.owner_pid
                final.owner_token = run.owner_token
            session.execute(delete(CrawlRun).where(CrawlRun.id == run_id, CrawlRun.status == "running"))
    release([run_id])


def close(engine: Engine, run_ids: Iterable[int], status: str, message: str) -> list[int]:
    """Close ``running`` rows (``interrupted`` or ``failed``) that no record of the crawl replaced; a row
    whose crawl recorded its outcome after all (a later row of the same jurisdiction) is dropped instead.
    Returns the ids closed."""
    run_ids = list(run_ids)
    closed = []
    now = utcnow()
    with session_scope(engine) as session:
        for run in session.scalars(select(CrawlRun).where(CrawlRun.id.in_(run_ids))):
            if run.status != "running":
                continue
            recorded = session.scalar(
                select(CrawlRun.id).where(
                    CrawlRun.jurisdiction_id == run.jurisdiction_id,
                    CrawlRun.id > run.id,
                    CrawlRun.started_at >= run.started_at,
                    CrawlRun.status.not_in(("running", "interrupted")),
                )
            )
            if recorded is not None:
                session.delete(run)
                continue
            run.status, run.finished_at, run.message = status, now, message
            run.errors = max(run.errors or 0, 1)
            closed.append(run.id)
    release(run_ids)
    return closed


def for_child(ids: dict[str, int]) -> dict[str, str]:
    """The environment that hands a crawl child the rows recorded for it."""
    return {ENV: json.dumps(ids)}


def from_env() -> dict[str, int]:
    """In a crawl child: the rows its supervisor recorded for it ({} when run by hand). Read once."""
    raw = os.environ.pop(ENV, "")
    if not raw:
        return {}
    try:
        data = json.loads(raw)
        return {str(k): int(v) for k, v in data.items()}
    except (ValueError, TypeError, AttributeError):
        return {}


def stage_dir_of(engine: Engine, run_ids: Iterable[int]) -> Path | None:
    with session_scope(engine) as session:
        path = session.scalar(select(CrawlRun.stage_dir).where(CrawlRun.id.in_(list(run_ids))).limit(1))
    return Path(path) if path else None


class Heartbeat:
    """Updates the heartbeat of rows this process supervises, in a daemon thread, until stopped."""

    def __init__(self, engine: Engine, ids: Iterable[int], every: float = HEARTBEAT_SECONDS) -> None:
        self.engine, self.ids, self.every = engine, list(ids), every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="crawl-heartbeat", daemon=True)

    def start(self) -> Heartbeat:
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            try:
                heartbeat(self.engine, self.ids)
            except Exception as exc:  # the database is away: the next beat tries again
                logger.warning("crawl heartbeat not recorded: %s", exc)

    def stop(self) -> None:
        self._stop.set()
