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
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import Engine, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from db.engine import make_engine, normalise_url, session_scope
from db.types import utcnow
from tracker.config import Config
from tracker.config import Jurisdiction as JurisdictionConfig
from tracker.errors import ConfigError

logger = logging.getLogger("tracker.scheduler")

MISFIRE_GRACE_SECONDS = 3600
CRAWL_TIME_LIMIT_SECONDS = 3 * 3600  # per jurisdiction of a child's crawl...
CRAWL_TIME_LIMIT_CAP = 12 * 3600  # ...and at most this for one child
OUTBOX_EVERY_SECONDS = 60
SYNC_EVERY_SECONDS = 60
LOCK_CHECK_SECONDS = 60
CRAWL_EXECUTOR = "crawls"
ADVISORY_LOCK_KEY = 0x5A4C_7E11  # "the tracker's scheduler", any constant unique to this application


# -- crawls -------------------------------------------------------------------------------------------


def _record_lost_crawl(engine: Engine, config: Config, slug: str, started: datetime, message: str) -> None:
    """A crawl child that died or was killed records nothing: record its failure so that it shows."""
    from db.models import CrawlRun
    from tracker.store import ensure_jurisdiction

    with session_scope(engine) as session:
        row = ensure_jurisdiction(session, config.jurisdiction(slug))
        recorded = session.scalar(
            select(CrawlRun.id).where(CrawlRun.jurisdiction_id == row.id, CrawlRun.started_at >= started)
        )
        if recorded is not None:
            return
        session.add(
            CrawlRun(
                jurisdiction_id=row.id,
                mode="unknown",
                status="failed",
                started_at=started,
                finished_at=utcnow(),
                since=None,
                seen=0,
                new=0,
                changed=0,
                status_changes=0,
                vanished=0,
                errors=1,
                requests=0,
                message=message,
            )
        )


_children: set[subprocess.Popen[str]] = set()
_children_lock = threading.Lock()


def _crawl_child(
    config_path: str | None, slugs: list[str], time_limit: float
) -> subprocess.CompletedProcess[str]:
    """``tracker crawl SLUG...`` in a child process (as :func:`tracker.crawl.crawl_in_child` runs it), killed
    at its time limit, and known to :func:`stop_crawls` while it runs."""
    cmd = [sys.executable, "-m", "tracker"]
    if config_path:
        cmd += ["--config", str(config_path)]
    cmd += ["crawl", *slugs]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    with _children_lock:
        _children.add(proc)
    try:
        try:
            out, err = proc.communicate(timeout=time_limit)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            raise
    finally:
        with _children_lock:
            _children.discard(proc)
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)


def stop_crawls() -> int:
    """Ask running crawl children to stop (SIGTERM: Scrapy shuts down and the crawl is recorded as
    interrupted); returns how many there were."""
    with _children_lock:
        running = [p for p in _children if p.poll() is None]
    for proc in running:
        with contextlib.suppress(ProcessLookupError):
            proc.terminate()
    return len(running)


def crawl_job(
    config_path: str | None,
    slugs: str | list[str],
    time_limit: float | None = None,
    *,
    engine: Engine | None = None,
    config: Config | None = None,
) -> int:
    """Crawl jurisdictions in one child process (one Scrapy crawler: the per-host cap holds across them);
    returns its exit code (non-zero: a crawl failed, or the child was killed at its time limit, by default
    ``CRAWL_TIME_LIMIT_SECONDS`` per jurisdiction, at most ``CRAWL_TIME_LIMIT_CAP``). With ``engine`` and
    ``config``, a jurisdiction whose crawl the child did not record (killed, crashed) gets a ``failed``
    crawl record."""
    slugs = [slugs] if isinstance(slugs, str) else list(slugs)
    limit = (
        time_limit
        if time_limit is not None
        else min(CRAWL_TIME_LIMIT_SECONDS * len(slugs), CRAWL_TIME_LIMIT_CAP)
    )
    label = ", ".join(slugs)
    for slug in slugs:
        logger.info("crawl of %s starting", slug, extra={"jurisdiction": slug, "event": "crawl_start"})
    started = utcnow() - timedelta(seconds=1)
    try:
        result = _crawl_child(config_path, slugs, limit)
    except subprocess.TimeoutExpired:
        for slug in slugs:
            logger.error(
                "crawl of %s killed after %.0f s",
                slug,
                limit,
                extra={"jurisdiction": slug, "event": "crawl_timeout"},
            )
            if engine is not None and config is not None:
                _record_lost_crawl(
                    engine, config, slug, started, f"crawl killed after its time limit ({limit:.0f} s)"
                )
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
            line or (err[-1] if err else f"exit code {result.returncode}"),
            extra={"jurisdiction": slug, "event": "crawl_end"},
        )
        if line is None and engine is not None and config is not None:
            last = err[-1] if err else ""
            _record_lost_crawl(
                engine,
                config,
                slug,
                started,
                f"crawl process exited with code {result.returncode}: {last[:500]}",
            )
    if result.returncode != 0:
        logger.error("crawl of %s: exit code %d", label, result.returncode, extra={"event": "crawl_end"})
    return result.returncode


def cron_trigger(expression: str, where: str) -> CronTrigger:
    try:
        return CronTrigger.from_crontab(expression, timezone="UTC")
    except ValueError as exc:
        raise ConfigError(f"{where}: invalid cron expression {expression!r}: {exc}") from None


def crawl_trigger(config: Config, j: JurisdictionConfig) -> CronTrigger:
    expression = j.crawl_cron or config.schedule.crawl_cron
    return cron_trigger(expression, f"{config.source}: jurisdiction {j.slug!r}")


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

    # crawls
    def crawl(self, slugs: list[str], now: datetime | None = None) -> int:
        code = crawl_job(self.config_path, slugs, engine=self.engine, config=self.config)
        self.immediate()
        self.health()
        return code

    # digests
    def digest(self, subscription_id: int, now: datetime | None = None) -> Any:
        from tracker.digests.outbox import send_due

        report = send_due(self.engine, self.config, now or utcnow(), subscription_ids=[subscription_id])
        for line in report.errors:
            logger.error("digests: %s", line, extra={"event": "digest_error"})
        return report

    def immediate(self, now: datetime | None = None) -> Any:
        from tracker.digests.outbox import send_due

        report = send_due(self.engine, self.config, now or utcnow(), frequencies=["immediate"])
        for line in report.errors:
            logger.error("digests: %s", line, extra={"event": "digest_error"})
        return report

    def outbox(self, now: datetime | None = None) -> Any:
        from tracker.digests.outbox import deliver_due, reap

        now = now or utcnow()
        reap(self.engine, self.config, now)
        report = deliver_due(self.engine, self.config, now)
        for line in report.errors:
            logger.error("digests: %s", line, extra={"event": "digest_error"})
        return report

    def health(self, now: datetime | None = None) -> Any:
        from tracker.health import check_and_notify

        return check_and_notify(self.engine, self.config, now or utcnow())

    # the digest jobs follow the subscriptions table
    def sync(self, scheduler: BaseScheduler, now: datetime | None = None, catch_up: bool = True) -> list[int]:
        """Add, reschedule or remove ``digest:ID`` jobs to match the subscriptions; catch up a digest whose
        time passed within the grace while it had no job. Returns the ids whose job was (re)added."""
        from db.models_digest import Subscription
        from tracker.digests.outbox import slot_for
        from tracker.digests.periods import digest_trigger

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
    jobs.sync(scheduler, now, catch_up=catch_up)
    scheduler.jobs = jobs  # type: ignore[attr-defined]  # for `tracker schedule --list` and tests
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

                def alive() -> bool:
                    try:
                        conn.execute(text("SELECT 1"))
                    except Exception:  # any failure means the lock may be gone
                        return False
                    return True

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
        yield lambda: True
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
    """Run the scheduler until SIGTERM or SIGINT; returns an exit code."""
    say = on_event or (lambda _m: None)
    lost = threading.Event()
    with single_instance(config.database_url, on_wait=say) as alive:
        engine = make_engine(config.database_url)
        from db.engine import require_schema

        require_schema(engine)
        scheduler = BlockingScheduler(timezone="UTC")
        build_scheduler(config, config_path, scheduler, engine=engine)

        def check_lock() -> None:
            if not alive():
                logger.error(
                    "the scheduler's lock connection was lost: stopping, so that two schedulers never run "
                    "at once",
                    extra={"event": "scheduler_lock_lost"},
                )
                lost.set()
                scheduler.shutdown(wait=False)

        scheduler.add_job(
            check_lock,
            IntervalTrigger(seconds=LOCK_CHECK_SECONDS, timezone="UTC"),
            id="lock:check",
            name="check the scheduler's lock",
        )

        def stop(signum: int, _frame: Any) -> None:
            logger.warning("stopping on signal %d", signum, extra={"event": "scheduler_stop"})
            scheduler.shutdown(wait=False)
            if stop_crawls():
                logger.warning("running crawls asked to stop", extra={"event": "scheduler_stop"})

        previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
        try:
            message = f"scheduler running with {len(scheduler.get_jobs())} jobs"
            logger.info(message, extra={"event": "scheduler_start"})
            say(message)
            scheduler.start()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            engine.dispose()
    return 1 if lost.is_set() else 0
