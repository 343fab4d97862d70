"""The tracker's scheduler (APScheduler 3.x), run by ``tracker schedule``: it runs the whole tracker.

Jobs (every time a job runs is only a hint: correctness lives in the database):

- ``crawl:SLUG[,SLUG...]``: each jurisdiction is crawled on its ``crawl_cron`` or the ``[schedule]`` default
  (UTC); jurisdictions that share a schedule are crawled together, by one child process
  (``python -m tracker crawl SLUG...``: one Scrapy crawler, so the per-host cap holds across cities that share
  a portal host), with a time limit: Scrapy's reactor cannot be restarted inside one process, and
  long-lived crawling processes grow. Crawls run one at a time (their own single-thread executor). A
  jurisdiction whose child was killed or died before recording its crawl gets a ``failed`` crawl record
  here, so that no failure is silent. After each crawl, immediate digests and the health check run.
- ``digest:ID``, one per daily or weekly subscription, at the subscriber's local time (a cron trigger in
  the subscription's time zone); ``digests:immediate`` every ``immediate_every_minutes``. Subscriptions are
  re-read every minute (``subscriptions:sync``), so ``tracker subscriptions add`` needs no restart.
- ``outbox``, every minute: settles deliveries whose sender died and retries failed sends whose backoff
  has passed.
- ``health``, every ``[alerts] check_every_minutes``: evaluates the alerts and mails the operator.
- ``matcher:retrain``, on ``[matcher] retrain_cron`` (weekly): retrains the learned matcher on the editors'
  decisions when at least ``[matcher] min_new_decisions`` are newer than the active model, then matches the
  bills again; otherwise skips. One log line either way.

Misfire and coalescing are explicit (APScheduler's default grace is one second, which would silently skip
a digest delayed by a busy machine): a crawl delayed up to an hour still runs, a digest up to
``[digests] misfire_grace_hours``; missed runs are coalesced into one; every job has ``max_instances=1``.
On start, a digest whose time passed within the grace (the scheduler was down) is caught up.

Only one scheduler runs per database: a PostgreSQL advisory lock held on a dedicated connection for the
scheduler's lifetime (checked every minute: if that connection is lost, the scheduler stops rather than
risk running next to another), or an OS file lock next to a SQLite database. A second scheduler waits for
the first to stop. APScheduler's job store is in memory and never shared.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from apscheduler.events import EVENT_SCHEDULER_START
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import Engine, select, text, update
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from db.engine import make_engine, normalise_url, rows_affected, session_scope
from db.types import utcnow
from tracker.config import Config
from tracker.cron import crawl_trigger, cron_trigger
from tracker.health import check_and_notify, short_reason

logger = logging.getLogger("tracker.scheduler")

MISFIRE_GRACE_SECONDS = 3600
CRAWL_TIME_LIMIT_SECONDS = 3 * 3600  # per jurisdiction of a child's crawl, when no config is given...
CRAWL_TIME_LIMIT_CAP = 12 * 3600  # ...and at most this for one child
OUTBOX_EVERY_SECONDS = 60
SYNC_EVERY_SECONDS = 60
LOCK_CHECK_SECONDS = 5
#: How often a digest configuration problem that lasts is logged again (ERROR), instead of every minute.
DIGEST_ERROR_REPEAT = timedelta(hours=1)
CRAWL_EXECUTOR = "crawls"
ADVISORY_LOCK_KEY = 0x5A4C_7E11  # "the tracker's scheduler", any constant unique to this application


class LockLost(Exception):
    """This scheduler's lock (or its generation, the fencing token) is no longer its own."""


# -- the fencing token ---------------------------------------------------------------------------------


def take_generation(engine: Engine) -> int:
    """Called once the lock is held: the next scheduler generation, now this scheduler's fencing token."""
    from db.models import SchedulerLease
    from tracker.crawl_runs import HOST

    now = utcnow()
    with session_scope(engine) as session:
        lease = session.get(SchedulerLease, 1, with_for_update=True)
        if lease is None:
            lease = SchedulerLease(id=1, generation=0, acquired_at=now, checked_at=now)
            session.add(lease)
        lease.generation += 1
        lease.owner_host, lease.owner_pid = HOST, os.getpid()
        lease.acquired_at = lease.checked_at = now
        session.flush()
        return lease.generation


def confirm_generation(session: Session, generation: int) -> bool:
    """In the caller's transaction: whether ``generation`` is still the current one. The row stays locked
    until the transaction ends, so a successor cannot take over between this check and the commit of what
    the transaction records."""
    from db.models import SchedulerLease

    matched = rows_affected(
        session,
        update(SchedulerLease)
        .where(SchedulerLease.id == 1, SchedulerLease.generation == generation)
        .values(checked_at=utcnow())
        .execution_options(synchronize_session=False),
    )
    return matched == 1


# -- crawls -------------------------------------------------------------------------------------------

_children: set[subprocess.Popen[str]] = set()
_children_lock = threading.Condition()
_in_flight = 0  # crawl jobs between recording their runs and closing them
_stopping = threading.Event()  # the scheduler is stopping: a crawl that ends now was interrupted


def _start_runs(
    engine: Engine, config: Config, slugs: list[str], token: int | None, stage: Path
) -> dict[str, int]:
    """Record the crawl before it starts (one ``running`` row per jurisdiction, owned by this process), in
    the transaction that confirms this scheduler's generation: a scheduler that lost its lock starts
    nothing."""
    from tracker import crawl_runs
    from tracker.store import ensure_jurisdiction

    with session_scope(engine) as session:
        if token is not None and not confirm_generation(session, token):
            raise LockLost("another scheduler took this database's lock")
        rows = [ensure_jurisdiction(session, config.jurisdiction(slug)) for slug in slugs]
        return crawl_runs.begin(session, rows, owner_pid=os.getpid(), owner_token=token, stage_dir=stage)


def _crawl_child(
    config_path: str | None,
    slugs: list[str],
    time_limit: float,
    env: dict[str, str] | None = None,
    tick: Callable[[], None] | None = None,
) -> subprocess.CompletedProcess[str]:
    """``tracker crawl SLUG...`` in a child process tied to this one (:mod:`tracker.children`), killed at
    its time limit, and known to :func:`stop_crawls` while it runs."""
    from tracker import children

    cmd = [sys.executable, "-m", "tracker"]
    if config_path:
        cmd += ["--config", str(config_path)]
    cmd += ["crawl", *slugs]
    procs: list[subprocess.Popen[str]] = []

    def started(proc: subprocess.Popen[str]) -> None:
        procs.append(proc)
        with _children_lock:
            _children.add(proc)
        if _stopping.is_set():  # the scheduler began stopping while this child was starting
            children.terminate(proc)

    try:
        return children.run(
            cmd,
            time_limit=time_limit,
            memory_mb=None,  # the child caps itself at [crawl] memory_mb of the configuration it reads
            env={**os.environ, **(env or {})},
            tick=tick,
            tick_every=_heartbeat_every(),
            started=started,
        )
    finally:
        with _children_lock:
            _children.difference_update(procs)
            _children_lock.notify_all()


def _heartbeat_every() -> float:
    from tracker.crawl_runs import HEARTBEAT_SECONDS

    return HEARTBEAT_SECONDS


def stop_crawls(deadline: float | None = None, grace: float = 0.0) -> int:
    """Stop running crawl children: SIGTERM (the child stops Scrapy promptly and records the crawl as
    interrupted), SIGKILL to those still running ``grace`` seconds later; then wait, until the monotonic
    ``deadline``, for the crawl jobs to record how their crawls ended. Returns how many children there
    were."""
    from tracker import children

    _stopping.set()
    with _children_lock:
        running = [p for p in _children if p.poll() is None]
    for proc in running:
        children.terminate(proc)
    kill_at = time.monotonic() + grace
    for proc in running:
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=max(0.0, kill_at - time.monotonic()))
        if proc.poll() is None:
            children.kill(proc)
    with _children_lock:
        while _in_flight and (deadline is None or time.monotonic() < deadline):
            _children_lock.wait(timeout=0.05 if deadline is None else max(0.0, deadline - time.monotonic()))
    return len(running)


def crawl_job(
    config_path: str | None,
    slugs: str | list[str],
    time_limit: float | None = None,
    *,
    engine: Engine | None = None,
    config: Config | None = None,
    token: int | None = None,
) -> int:
    """Crawl jurisdictions in one child process (one Scrapy crawler: the per-host cap holds across them);
    returns its exit code (non-zero: a crawl failed, or the child was killed at its time limit, by default
    ``[crawl] time_limit_minutes`` per jurisdiction, at most ``CRAWL_TIME_LIMIT_CAP``).

    With ``engine`` and ``config``, the crawl is recorded before it starts (``running`` rows owned by this
    process, heartbeat while it runs; with ``token``, only if this scheduler's generation is still current,
    else :class:`LockLost`), and a jurisdiction whose crawl the child did not record (killed, crashed,
    stopped with the scheduler) gets its row closed as ``failed`` or ``interrupted``. Its stage directory is
    removed whatever happens."""
    global _in_flight
    from tracker import crawl_runs
    from tracker.crawl import crawl_time_limit

    slugs = [slugs] if isinstance(slugs, str) else list(slugs)
    if time_limit is not None:
        limit = time_limit
    elif config is not None:
        limit = crawl_time_limit(config, len(slugs))
    else:
        limit = min(CRAWL_TIME_LIMIT_SECONDS * len(slugs), CRAWL_TIME_LIMIT_CAP)
    label = ", ".join(slugs)
    recorded = engine is not None and config is not None
    stage = crawl_runs.new_stage_dir()
    ids: dict[str, int] = {}

    def close_runs(status: str, message: str) -> None:
        assert engine is not None  # runs are recorded only with an engine: without one, ids stays empty
        crawl_runs.close(engine, ids.values(), status, message)

    with _children_lock:
        _in_flight += 1
    try:
        if recorded:
            assert engine is not None and config is not None
            try:
                ids = _start_runs(engine, config, slugs, token, stage)
            except LockLost:
                logger.error(
                    "crawl of %s not started: this scheduler lost its lock",
                    label,
                    extra={"event": "crawl_start"},
                )
                raise
        if _stopping.is_set():
            if ids:
                close_runs("interrupted", "the scheduler stopped before the crawl")
            return 143
        for slug in slugs:
            logger.info("crawl of %s starting", slug, extra={"jurisdiction": slug, "event": "crawl_start"})

        def beat() -> None:
            assert engine is not None  # a heartbeat only for recorded runs
            try:
                crawl_runs.heartbeat(engine, ids.values())
            except Exception as exc:  # the database is away: the next beat tries again
                logger.warning("crawl heartbeat not recorded: %s", exc)

        try:
            result = _crawl_child(
                config_path, slugs, limit, crawl_runs.for_child(ids) if ids else None, beat if ids else None
            )
        except subprocess.TimeoutExpired:
            for slug in slugs:
                logger.error(
                    "crawl of %s killed after %.0f s",
                    slug,
                    limit,
                    extra={"jurisdiction": slug, "event": "crawl_timeout"},
                )
            if ids:
                close_runs("failed", f"crawl killed after its time limit ({limit:.0f} s)")
            return 124
        out = result.stdout.strip().splitlines()
        err = result.stderr.strip().splitlines()
        for slug in slugs:
            # `tracker crawl` prints one summary line per jurisdiction: "SLUG: STATUS (MODE) - ..."
            line = next((x for x in out if x.startswith(f"{slug}: ")), None)
            ok = line is not None and line.startswith(f"{slug}: succeeded")
            logger.log(
                logging.INFO if ok else logging.ERROR,
                "crawl of %s ended: %s",
                slug,
                _short(line or (err[-1] if err else f"exit code {result.returncode}")),
                extra={"jurisdiction": slug, "event": "crawl_end"},
            )
        if ids:
            if _stopping.is_set():
                close_runs("interrupted", "the scheduler stopped (SIGTERM) during the crawl")
            else:
                last = _short(err[-1]) if err else ""
                message = f"crawl process exited with code {result.returncode}: {last}".rstrip(": ")
                close_runs("failed", message)
        if result.returncode != 0:
            logger.error("crawl of %s: exit code %d", label, result.returncode, extra={"event": "crawl_end"})
        return result.returncode
    finally:
        crawl_runs.release(ids.values())
        crawl_runs.remove_stage_dir(stage)
        with _children_lock:
            _in_flight -= 1
            _children_lock.notify_all()


def _short(text: str, limit: int = 300) -> str:
    return short_reason(text, limit)


# -- the jobs -----------------------------------------------------------------------------------------


class Jobs:
    """The scheduler's job functions. Every one takes an optional ``now`` so that tests drive them with a
    controllable clock instead of sleeping."""

    def __init__(self, config: Config, config_path: str | None, engine: Engine) -> None:
        self.config = config
        self.config_path = config_path
        self.engine = engine
        self._scheduled: dict[int, tuple[str, str, int, str]] = {}
        self._lock = threading.Lock()
        # Set by run() once the lock is held: the lock's liveness check, this scheduler's generation (the
        # fencing token) and what to do when either fails. Without them (tests, --list) every job runs.
        self.lock_alive: Callable[[], bool] | None = None
        self.token: int | None = None
        self.on_lost: Callable[[str], None] | None = None
        # digest configuration problems (no [email] table, an SMTP server refusing): when each was last
        # logged, so that one that lasts is an ERROR line an hour, not one a minute
        self._digest_errors_logged: dict[str, datetime] = {}

    # the lock, checked before every job and every LOCK_CHECK_SECONDS
    def check_lock(self, now: datetime | None = None) -> bool:
        """Whether this scheduler still holds its lock and its generation is current; when not, it stops
        (``on_lost``) and the caller starts nothing."""
        if self.lock_alive is None:
            return True
        why = None
        if not self.lock_alive():
            why = "the scheduler's lock could not be confirmed (lock connection or lock file lost)"
        elif self.token is not None:
            try:
                with session_scope(self.engine) as session:
                    if not confirm_generation(session, self.token):
                        why = "another scheduler took this database's lock (newer generation)"
            except Exception as exc:  # the database is away: no job can run anyway; try again later
                logger.warning("scheduler lock check: database unreachable: %s", exc)
                return False
        if why is None:
            return True
        if self.on_lost is not None:
            self.on_lost(why)
        return False

    # crawls
    def crawl(self, slugs: list[str], now: datetime | None = None) -> int | None:
        if _stopping.is_set() or not self.check_lock():
            return None
        try:
            code = crawl_job(
                self.config_path, slugs, engine=self.engine, config=self.config, token=self.token
            )
        except LockLost as exc:
            if self.on_lost is not None:
                self.on_lost(str(exc))
            return None
        if not _stopping.is_set():
            self.immediate()
            self.health()
        return code

    # digests
    def digest(self, subscription_id: int, now: datetime | None = None) -> Any:
        from tracker.digests.outbox import send_due

        if not self.check_lock():
            return None

        report = send_due(self.engine, self.config, now or utcnow(), subscription_ids=[subscription_id])
        self._log_digest_errors(report.errors, now)
        return report

    def immediate(self, now: datetime | None = None) -> Any:
        from tracker.digests.outbox import send_due

        if not self.check_lock():
            return None

        report = send_due(self.engine, self.config, now or utcnow(), frequencies=["immediate"])
        self._log_digest_errors(report.errors, now)
        return report

    def _log_digest_errors(self, errors: list[str], now: datetime | None) -> None:
        at = now or utcnow()
        for line in errors:
            last = self._digest_errors_logged.get(line)
            if last is None or at - last >= DIGEST_ERROR_REPEAT:
                logger.error("digests: %s", line, extra={"event": "digest_error"})
                self._digest_errors_logged[line] = at
            else:
                logger.debug("digests: %s (logged at %s)", line, f"{last:%H:%M} UTC")

    def outbox(self, now: datetime | None = None) -> Any:
        from tracker.digests.outbox import deliver_due, reap

        if not self.check_lock():
            return None
        now = now or utcnow()
        reap(self.engine, self.config, now)
        report = deliver_due(self.engine, self.config, now)
        self._log_digest_errors(report.errors, now)
        return report

    def health(self, now: datetime | None = None) -> Any:
        if not self.check_lock():
            return None
        return check_and_notify(self.engine, self.config, now or utcnow())

    # the learned matcher, retrained on the editors' decisions
    def retrain(self, now: datetime | None = None) -> str | None:
        """``matcher:retrain``: when at least ``[matcher] min_new_decisions`` decisions are newer than the
        active model, train a new one (as ``tracker match --train`` does) and match the bills whose model
        changed; otherwise skip. One log line either way; returns ``"trained"``, ``"unchanged"`` or
        ``"skipped"`` (``None``: the lock is lost)."""
        from tracker.matcher.apply import match_stored
        from tracker.matcher.retrain import new_decisions, retrain

        if not self.check_lock():
            return None
        fresh, needed = new_decisions(self.engine), self.config.matcher.min_new_decisions
        if fresh < needed:
            logger.info(
                "matcher retraining skipped: %d new decision(s), %d needed",
                fresh,
                needed,
                extra={"event": "matcher_retrain"},
            )
            return "skipped"
        trained = retrain(self.engine, by="scheduler")
        if trained.unchanged:
            logger.info(
                "matcher retraining: model %s is already trained on these %d examples (%d new decisions)",
                trained.version,
                trained.examples,
                fresh,
                extra={"event": "matcher_retrain"},
            )
            return "unchanged"
        summary = match_stored(self.engine, rescore=False)
        f1 = trained.evaluation.get("holdout", {}).get("f1", 0.0)
        logger.info(
            "matcher retrained: model %s on %d examples (%d editors' decisions, %d new), holdout F1 %.3f; "
            "%d bills matched again, %d newly relevant, %d no longer relevant",
            trained.version,
            trained.examples,
            trained.decisions,
            fresh,
            f1,
            summary.classified,
            summary.newly_relevant,
            summary.no_longer_relevant,
            extra={"event": "matcher_retrain"},
        )
        return "trained"

    # the digest jobs follow the subscriptions table
    def sync(self, scheduler: BaseScheduler, now: datetime | None = None, catch_up: bool = True) -> list[int]:
        """Add, reschedule or remove ``digest:ID`` jobs to match the subscriptions; catch up a digest whose
        time passed within the grace while it had no job. Returns the ids whose job was (re)added."""
        from db.models_digest import Subscription
        from tracker.digests.outbox import slot_for
        from tracker.digests.periods import digest_trigger

        if not self.check_lock():
            return []
        now = now or utcnow()
        grace = timedelta(hours=self.config.digests.misfire_grace_hours)
        with session_scope(self.engine) as session:
            subs = list(
                session.scalars(
                    select(Subscription).where(
                        Subscription.state == "active", Subscription.frequency.in_(("daily", "weekly"))
                    )
                )
            )
            wanted = {s.id: (s.frequency, s.at_time, s.weekday, s.timezone) for s in subs}
            slots = {s.id: (slot_for(s, self.config, now), s.starts_at) for s in subs}
        added = []
        with self._lock:
            for sub_id in list(self._scheduled):
                if wanted.get(sub_id) != self._scheduled[sub_id]:
                    with contextlib.suppress(Exception):
                        scheduler.remove_job(f"digest:{sub_id}")
                    del self._scheduled[sub_id]
            for sub_id, spec in wanted.items():
                if sub_id in self._scheduled:
                    continue
                scheduler.add_job(
                    self.digest,
                    digest_trigger(*spec),
                    args=[sub_id],
                    id=f"digest:{sub_id}",
                    name=f"digest of subscription {sub_id}",
                    misfire_grace_time=int(grace.total_seconds()),
                    coalesce=True,
                    max_instances=1,
                    replace_existing=True,
                )
                self._scheduled[sub_id] = spec
                added.append(sub_id)
        for sub_id in added if catch_up else []:
            slot, starts_at = slots[sub_id]
            if slot.at >= starts_at and now - slot.at <= grace:
                self.digest(sub_id, now)  # a no-op when that period's digest is already recorded
        return added


def crawl_groups(config: Config) -> dict[str, list[str]]:
    """Jurisdictions by crawl schedule (cron expression), in configuration order. Jurisdictions that share a
    schedule are crawled together, by one child process: one Scrapy crawler, so that the per-host cap holds
    across the cities that share a portal host (all Legistar clients share webapi.legistar.com)."""
    groups: dict[str, list[str]] = {}
    for j in config.jurisdictions:
        crawl_trigger(config, j)  # a bad expression is a configuration error, named by jurisdiction
        groups.setdefault(j.crawl_cron or config.schedule.crawl_cron, []).append(j.slug)
    return groups


def build_scheduler(
    config: Config,
    config_path: str | None,
    scheduler: BaseScheduler | None = None,
    job: Callable[..., Any] | None = None,
    engine: Engine | None = None,
    now: datetime | None = None,
    catch_up: bool = True,
) -> BaseScheduler:
    """A scheduler with every job (not started). Without ``engine``, only the crawl jobs (calling ``job``,
    default :func:`crawl_job`, with the config path and the slugs of one schedule)."""
    scheduler = scheduler or BlockingScheduler(timezone="UTC")
    scheduler.configure(
        job_defaults={
            "misfire_grace_time": MISFIRE_GRACE_SECONDS,
            "coalesce": True,
            "max_instances": 1,
        }
    )
    # Crawls run one at a time, in their own executor: never two crawl children hammering a shared portal
    # host at once, and a long crawl never holds up a digest.
    with contextlib.suppress(ValueError):  # already there when a scheduler is built twice
        scheduler.add_executor(ThreadPoolExecutor(1), CRAWL_EXECUTOR)
    jobs = Jobs(config, config_path, engine) if engine is not None else None
    for expression, slugs in crawl_groups(config).items():
        trigger = cron_trigger(expression, f"{config.source}: [schedule] crawl_cron")
        func: Callable[..., Any]
        if job is not None or jobs is None:
            func, args = job or crawl_job, [config_path, slugs]
        else:
            func, args = jobs.crawl, [slugs]
        scheduler.add_job(
            func,
            trigger,
            args=args,
            id="crawl:" + ",".join(slugs),
            name=f"crawl {', '.join(slugs)}",
            executor=CRAWL_EXECUTOR,
        )
    if jobs is None:
        return scheduler
    every = config.digests.immediate_every_minutes
    scheduler.add_job(
        jobs.immediate,
        IntervalTrigger(minutes=every, timezone="UTC"),
        id="digests:immediate",
        name="immediate digests",
        misfire_grace_time=every * 60,
    )
    scheduler.add_job(
        jobs.outbox,
        IntervalTrigger(seconds=OUTBOX_EVERY_SECONDS, timezone="UTC"),
        id="outbox",
        name="outbox: retries and dead senders",
        misfire_grace_time=OUTBOX_EVERY_SECONDS,
    )
    scheduler.add_job(
        jobs.health,
        IntervalTrigger(minutes=config.alerts.check_every_minutes, timezone="UTC"),
        id="health",
        name="health check and operator alerts",
        misfire_grace_time=config.alerts.check_every_minutes * 60,
    )
    scheduler.add_job(
        jobs.sync,
        IntervalTrigger(seconds=SYNC_EVERY_SECONDS, timezone="UTC"),
        args=[scheduler],
        id="subscriptions:sync",
        name="follow the subscriptions",
        misfire_grace_time=SYNC_EVERY_SECONDS,
    )
    scheduler.add_job(
        jobs.retrain,
        cron_trigger(config.matcher.retrain_cron, f"{config.source}: [matcher] retrain_cron"),
        id="matcher:retrain",
        name="retrain the matcher when enough new editors' decisions exist",
    )
    scheduler.add_job(
        jobs.check_lock,
        IntervalTrigger(seconds=LOCK_CHECK_SECONDS, timezone="UTC"),
        id="lock:check",
        name="check the scheduler's lock and generation; stop when lost",
        misfire_grace_time=LOCK_CHECK_SECONDS,
    )
    jobs.sync(scheduler, now, catch_up=catch_up)
    scheduler.jobs = jobs  # for `tracker schedule --list` and tests
    return scheduler


# -- one scheduler per database -----------------------------------------------------------------------


def _lock_path(url: Any) -> Path:
    database = url.database or "tracker.db"
    return Path(database if database != ":memory:" else "tracker.db").resolve().with_suffix(".scheduler.lock")


_PG_LOCK = "SELECT {fn}(:k, hashtext(current_database() || '.' || current_schema()))"


@contextlib.contextmanager
def single_instance(
    database_url: str, on_wait: Callable[[str], None] | None = None
) -> Iterator[Callable[[], bool]]:
    """Hold the scheduler's lock for the lifetime of the block, waiting while another scheduler holds it.

    Yields a check that tells whether the lock is still held (the PostgreSQL connection is alive)."""
    url = make_url(normalise_url(database_url))
    if url.get_backend_name() == "postgresql":
        engine = make_engine(database_url, poolclass=NullPool)  # one dedicated connection, closed at the end
        try:
            with engine.connect() as conn:
                conn = conn.execution_options(isolation_level="AUTOCOMMIT")
                got = conn.execute(
                    text(_PG_LOCK.format(fn="pg_try_advisory_lock")), {"k": ADVISORY_LOCK_KEY}
                ).scalar()
                if not got:
                    message = (
                        "another scheduler holds this database's lock (PostgreSQL advisory lock); waiting"
                    )
                    logger.info(message, extra={"event": "scheduler_waiting"})
                    if on_wait:
                        on_wait(message)
                    conn.execute(text(_PG_LOCK.format(fn="pg_advisory_lock")), {"k": ADVISORY_LOCK_KEY})

                guard = threading.Lock()  # the connection is not shared between threads at once

                def alive() -> bool:
                    with guard:
                        try:
                            held = conn.execute(
                                text(
                                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
                                    "AND pid = pg_backend_pid() AND granted"
                                )
                            ).scalar()
                        except Exception:  # any failure means the lock may be gone
                            return False
                    return bool(held)

                try:
                    yield alive
                finally:
                    with contextlib.suppress(Exception):
                        conn.execute(text(_PG_LOCK.format(fn="pg_advisory_unlock")), {"k": ADVISORY_LOCK_KEY})
        finally:
            engine.dispose()
        return
    lock_path = _lock_path(url)
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            message = f"another scheduler holds this database's lock ({lock_path}); waiting"
            logger.info(message, extra={"event": "scheduler_waiting"})
            if on_wait:
                on_wait(message)
            fcntl.flock(fd, fcntl.LOCK_EX)
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        inode = os.fstat(fd).st_ino

        def alive() -> bool:
            # The lock lives on this open file: if the file was removed or replaced, another scheduler can
            # lock the new one.
            try:
                return os.stat(lock_path).st_ino == inode
            except OSError:
                return False

        try:
            yield alive
        finally:
            with contextlib.suppress(OSError):
                if alive():
                    os.ftruncate(fd, 0)  # no stale pid after a clean exit
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def scheduler_state(database_url: str) -> str:
    """Whether a scheduler holds this database's lock (for ``tracker status``)."""
    url = make_url(normalise_url(database_url))
    if url.get_backend_name() == "postgresql":
        engine = make_engine(database_url)
        try:
            with engine.connect() as conn:
                conn = conn.execution_options(isolation_level="AUTOCOMMIT")
                free = conn.execute(
                    text(_PG_LOCK.format(fn="pg_try_advisory_lock")), {"k": ADVISORY_LOCK_KEY}
                ).scalar()
                if free:
                    conn.execute(text(_PG_LOCK.format(fn="pg_advisory_unlock")), {"k": ADVISORY_LOCK_KEY})
                    return "not running"
                return "running"
        finally:
            engine.dispose()
    lock_path = _lock_path(url)
    if not lock_path.exists():
        return "not running"
    fd = os.open(lock_path, os.O_RDONLY)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            pid = Path(lock_path).read_text().strip()
            return f"running (pid {pid})" if pid else "running"
        fcntl.flock(fd, fcntl.LOCK_UN)
        return "not running"
    finally:
        os.close(fd)


def describe_jobs(scheduler: BaseScheduler, now: datetime) -> list[str]:
    lines = []
    for job in sorted(scheduler.get_jobs(), key=lambda j: j.id):
        fire = job.trigger.get_next_fire_time(None, now)
        when = f"{fire.astimezone(now.tzinfo):%Y-%m-%d %H:%M} UTC" if fire else "never"
        lines.append(f"{job.id}: next {when} ({job.name})")
    return lines


def run(config: Config, config_path: str | None, on_event: Callable[[str], None] | None = None) -> int:
    """Run the scheduler until SIGTERM or SIGINT; returns an exit code (1: the lock was lost).

    Once the lock is held: take the next generation (the fencing token every job checks), close the crawls
    that a previous scheduler left running as ``interrupted``, then schedule. On SIGTERM or SIGINT, start
    nothing more, stop the crawl children (SIGTERM, SIGKILL after the grace) and record their crawls as
    interrupted, all within ``[schedule] stop_timeout_seconds``."""
    from db.engine import require_schema
    from tracker import crawl_runs

    say = on_event or (lambda _m: None)
    lost = threading.Event()
    stop_timeout = config.schedule.stop_timeout_seconds
    deadline: list[float] = []
    _stopping.clear()
    with single_instance(config.database_url, on_wait=say) as alive:
        engine = make_engine(config.database_url)
        try:
            require_schema(engine)
            token = take_generation(engine)
            with session_scope(engine) as session:
                closed = crawl_runs.close_abandoned(session)
            if closed:
                say(f"closed {len(closed)} crawl run(s) left running by a stopped scheduler as interrupted")
            scheduler = BlockingScheduler(timezone="UTC")
            build_scheduler(config, config_path, scheduler, engine=engine)
            jobs: Jobs = scheduler.jobs

            def shut_down() -> None:
                if not deadline:
                    deadline.append(time.monotonic() + stop_timeout)
                _stopping.set()
                with contextlib.suppress(Exception):  # already stopped
                    scheduler.shutdown(wait=False)

            def on_lost(why: str) -> None:
                if not lost.is_set():
                    logger.error(
                        "%s: stopping, so that two schedulers never run at once",
                        why,
                        extra={"event": "scheduler_lock_lost"},
                    )
                lost.set()
                shut_down()

            jobs.lock_alive, jobs.token, jobs.on_lost = alive, token, on_lost

            def stop(signum: int, _frame: Any) -> None:
                logger.warning("stopping on signal %d", signum, extra={"event": "scheduler_stop"})
                shut_down()

            def started(_event: Any) -> None:
                # A signal (or a lost lock) between the handlers' installation and the scheduler's start
                # found it not running yet, so its shutdown did nothing: honour it now that it runs.
                if _stopping.is_set():
                    scheduler.shutdown(wait=False)

            scheduler.add_listener(started, EVENT_SCHEDULER_START)
            previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
            try:
                message = f"scheduler running with {len(scheduler.get_jobs())} jobs (generation {token})"
                logger.info(message, extra={"event": "scheduler_start"})
                say(message)
                scheduler.start()
            finally:
                for sig, handler in previous.items():
                    signal.signal(sig, handler)
                end = deadline[0] if deadline else time.monotonic() + stop_timeout
                # SIGKILL what is still running early enough to record the crawls before the deadline.
                grace = max(0.0, end - time.monotonic() - min(2.0, stop_timeout / 2))
                if stop_crawls(end, grace):
                    logger.warning("running crawls stopped and recorded", extra={"event": "scheduler_stop"})
        finally:
            engine.dispose()
    return 1 if lost.is_set() else 0
