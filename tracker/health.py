"""Crawl health, operator alerts and ``tracker status``.

A broken scraper must be loud. For each configured jurisdiction an alert is raised when:

- **stale**: no crawl has succeeded for longer than its threshold (``stale_after_hours`` of the
  jurisdiction, else ``[alerts] stale_after_hours``), counted from the last success, or from the first
  attempt when it never succeeded;
- **failing**: its last ``[alerts] failures_in_a_row`` crawls all failed, were suspect or were interrupted
  (killed with their scheduler, or stopped by a shutdown: see tracker.crawl_runs); a crawl still running
  does not count;
- **suspect**: its last crawl listed far fewer matters than are stored (a listing that collapsed: the
  importer records such a crawl as ``suspect`` and changes nothing);
- **abandoned**: a crawl is recorded as running but the process supervising it is gone (its scheduler was
  killed): nothing watches it until the next scheduler start or crawl closes it as interrupted;

and for the digests, when a delivery is **held** (in doubt, waiting for the operator) or **failed** (refused
for good or out of retries).

``tracker status`` shows all of it; ``tracker status --check`` exits 1 when any alert is open (for external
monitoring). The scheduler evaluates the alerts every ``[alerts] check_every_minutes`` and mails the
operator: once when an alert opens, again every ``remind_every_hours`` while it stays open, and once when it
clears. Open alerts live in the ``alerts`` table (at most one open alert per key), which is what
deduplicates the mails across runs and schedulers.
"""

from __future__ import annotations

import logging
import re
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from db.engine import rows_affected, session_scope
from db.models import CrawlRun, Jurisdiction
from db.models_digest import Alert, Digest, DigestDelivery, Subscription
from tracker.config import Config
from tracker.cron import crawl_trigger
from tracker.digests.channels import DeliveryError, SmtpChannel, redact_webhook
from tracker.digests.render import render_alert
from tracker.digests.subscriptions import schedule_text, upcoming_run
from tracker.platforms.base import JurisdictionConfig

logger = logging.getLogger("tracker.health")

FAILING = ("failed", "suspect", "interrupted")
FINISHED_NOT = ("running",)  # a crawl in progress is neither a success nor a failure yet
#: The mode of a one-bill track crawl (``tracker track``, the web's /track): its runs are recorded as track
#: attempts and never count as the city's crawl (neither its last crawl, success nor failure).
TRACK_MODE = "track"
#: The words of an agenda crawl's warning (crawler/spiders/agenda.py) that open an alert.
NO_AGENDA_ITEMS = "found no agenda items"
REASON_CHARS = 200
_URL = re.compile(r"(https?://[^\s?#'\"<>]+)[?#][^\s'\"<>]*")


def short_reason(text: str | None, limit: int = REASON_CHARS) -> str:
    """A failure's reason for alerts and logs: one line, URLs without their query strings (a Legistar
    filter is hundreds of characters), at most ``limit`` characters."""
    line = " ".join(_URL.sub(r"\1", text or "").split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


@dataclass
class AlertItem:
    key: str
    kind: str  # stale | failing | suspect | abandoned | empty_agendas | held | failed_delivery
    jurisdiction: str | None
    message: str


@dataclass
class JurisdictionHealth:
    slug: str
    name: str
    last_run: dict[str, Any] | None
    last_success_at: str | None
    failures_in_a_row: int
    next_crawl_at: str | None
    stale_after_hours: float
    # the crawl in progress, if any: {"started_at", "mode", "heartbeat_at", "owner"}
    running: dict[str, Any] | None = None


@dataclass
class DeliveryProblem:
    id: int
    status: str
    channel: str
    target: str
    subscription_id: int
    period: str
    since: str | None
    error: str | None


@dataclass
class HealthReport:
    now: str
    jurisdictions: list[JurisdictionHealth] = field(default_factory=list)
    digests: list[dict[str, Any]] = field(default_factory=list)
    deliveries: list[DeliveryProblem] = field(default_factory=list)
    alerts: list[AlertItem] = field(default_factory=list)
    scheduler: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _iso(when: datetime | None) -> str | None:
    return when.isoformat() if when else None


def utc_minute(when: str | None) -> str:
    """An ISO time as ``YYYY-MM-DD HH:MM`` (the reports' times are UTC), or ``-``."""
    return when[:16].replace("T", " ") if when else "-"


def _hours(delta: timedelta) -> str:
    hours = delta.total_seconds() / 3600
    return f"{hours / 24:.1f} days" if hours >= 48 else f"{hours:.0f} h"


def _run_dict(run: CrawlRun) -> dict[str, Any]:
    return {
        "started_at": _iso(run.started_at),
        "finished_at": _iso(run.finished_at),
        "status": run.status,
        "mode": run.mode,
        "seen": run.seen,
        "new": run.new,
        "changed": run.changed,
        "status_changes": run.status_changes,
        "errors": run.errors,
        "message": run.message,
    }


def evaluate(
    engine: Engine, config: Config, now: datetime, *, scheduler_state: str | None = None
) -> HealthReport:
    """Everything ``tracker status`` shows, and the alerts that are open at ``now``: each jurisdiction's
    crawls, each subscription's digests, and the deliveries that are held or failed."""
    report = HealthReport(now=now.isoformat(), scheduler=scheduler_state)
    with session_scope(engine) as session:
        rows = {j.slug: j for j in session.scalars(select(Jurisdiction))}
        for cfg in config.jurisdictions:
            health, alerts = _jurisdiction_health(session, config, cfg, rows.get(cfg.slug), now)
            report.jurisdictions.append(health)
            report.alerts += alerts
        report.digests = _digest_schedules(session, config, now)
        for problem in _delivery_problems(session):
            report.deliveries.append(problem)
            report.alerts.append(_delivery_alert(problem))
    return report


def _jurisdiction_health(
    session: Session, config: Config, cfg: JurisdictionConfig, row: Jurisdiction | None, now: datetime
) -> tuple[JurisdictionHealth, list[AlertItem]]:
    """One jurisdiction's crawls (the last ones, the one running, the last success, the next one) and its
    alerts."""
    threshold = cfg.stale_after_hours or config.alerts.stale_after_hours
    upcoming = crawl_trigger(config, cfg).get_next_fire_time(None, now)
    runs: list[CrawlRun] = []
    running: dict[str, Any] | None = None
    last_success = None
    if row is not None:
        runs = _last_crawls(session, row, max(config.alerts.failures_in_a_row, 1))
        running = _running_crawl(session, row, now)
        last_success = session.scalar(
            select(CrawlRun.started_at)
            .where(
                CrawlRun.jurisdiction_id == row.id,
                CrawlRun.status == "succeeded",
                CrawlRun.mode != TRACK_MODE,
            )
            .order_by(CrawlRun.started_at.desc())
            .limit(1)
        )
    streak = 0
    for run in runs:
        if run.status not in FAILING:
            break
        streak += 1
    health = JurisdictionHealth(
        slug=cfg.slug,
        name=cfg.name,
        last_run=_run_dict(runs[0]) if runs else None,
        last_success_at=_iso(last_success),
        failures_in_a_row=streak,
        next_crawl_at=_iso(upcoming),
        stale_after_hours=threshold,
        running=running,
    )
    alerts = _crawl_alerts(cfg.slug, runs, streak, config.alerts.failures_in_a_row)
    if running is not None and running["owner_gone"]:
        alerts.append(
            AlertItem(
                f"abandoned:{cfg.slug}",
                "abandoned",
                cfg.slug,
                f"{cfg.slug}: the crawl started {utc_minute(running['started_at'])} UTC has lost its "
                f"process ({running['owner'] or 'its owner'}): nothing supervises it; the next scheduler "
                "start or crawl records it as interrupted",
            )
        )
    if row is not None:
        since = last_success or row.created_at
        stale = _stale_alert(cfg.slug, since, last_success is not None, runs, threshold, now)
        alerts = ([stale] if stale else []) + alerts
    return health, alerts


def _last_crawls(session: Session, row: Jurisdiction, window: int) -> list[CrawlRun]:
    """The jurisdiction's last ``window`` finished crawls, newest first (one-bill tracks are not its
    crawls)."""
    return list(
        session.scalars(
            select(CrawlRun)
            .where(
                CrawlRun.jurisdiction_id == row.id,
                CrawlRun.status.not_in(FINISHED_NOT),
                CrawlRun.mode != TRACK_MODE,  # a one-bill track is not the city's crawl
            )
            .order_by(CrawlRun.started_at.desc(), CrawlRun.id.desc())
            .limit(window)
        )
    )


def _running_crawl(session: Session, row: Jurisdiction, now: datetime) -> dict[str, Any] | None:
    """The crawl in progress, if any: when it started, its mode, its heartbeat, the process running it and
    whether that process is gone (a scheduler killed with ``kill -9``: the row stays ``running`` until the
    next scheduler start or crawl of the jurisdiction closes it as interrupted)."""
    from tracker.crawl_runs import owner_gone

    current = session.scalar(
        select(CrawlRun)
        .where(CrawlRun.jurisdiction_id == row.id, CrawlRun.status == "running")
        .order_by(CrawlRun.started_at.desc(), CrawlRun.id.desc())
        .limit(1)
    )
    if current is None:
        return None
    return {
        "started_at": _iso(current.started_at),
        "mode": current.mode,
        "heartbeat_at": _iso(current.heartbeat_at),
        "owner": f"pid {current.owner_pid} on {current.owner_host}" if current.owner_pid else None,
        "owner_gone": owner_gone(current, now),
    }


def _stale_alert(
    slug: str, since: datetime, succeeded: bool, runs: list[CrawlRun], threshold: float, now: datetime
) -> AlertItem | None:
    """The **stale** alert: no success for longer than ``threshold`` hours since ``since`` (the last success,
    else the jurisdiction's first attempt)."""
    if now - since <= timedelta(hours=threshold):
        return None
    what = (
        f"no successful crawl for {_hours(now - since)}"
        if succeeded
        else f"no successful crawl since the first attempt {_hours(now - since)} ago"
    )
    last = (
        f"; last crawl {runs[0].status}: {short_reason(runs[0].message)}" if runs and runs[0].message else ""
    )
    return AlertItem(f"stale:{slug}", "stale", slug, f"{slug}: {what} (threshold {threshold:g} h){last}")


def _crawl_alerts(slug: str, runs: list[CrawlRun], streak: int, failures_in_a_row: int) -> list[AlertItem]:
    """The alerts the last crawls raise: **failing** (too many in a row), **empty_agendas** (an agenda crawl
    that found no items) and **suspect** (a listing that collapsed)."""
    alerts = []
    if streak >= failures_in_a_row:
        alerts.append(
            AlertItem(
                f"failing:{slug}",
                "failing",
                slug,
                f"{slug}: the last {streak} crawls failed, were suspect or were interrupted; "
                f"last: {runs[0].status}: {short_reason(runs[0].message) or 'no message'}",
            )
        )
    if runs and runs[0].status == "partial" and NO_AGENDA_ITEMS in (runs[0].message or ""):
        alerts.append(
            AlertItem(
                f"empty_agendas:{slug}",
                "empty_agendas",
                slug,
                f"{slug}: the last crawl ({utc_minute(_iso(runs[0].started_at))} UTC) "
                f"{short_reason(runs[0].message)}",
            )
        )
    if runs and runs[0].status == "suspect":
        alerts.append(
            AlertItem(
                f"suspect:{slug}",
                "suspect",
                slug,
                f"{slug}: the last crawl ({utc_minute(_iso(runs[0].started_at))} UTC) "
                f"suddenly returned (almost) nothing: {short_reason(runs[0].message)}",
            )
        )
    return alerts


def _digest_schedules(session: Session, config: Config, now: datetime) -> list[dict[str, Any]]:
    """Each subscription that is not removed: its schedule, its next digest and its last one."""
    digests = []
    for sub in session.scalars(
        select(Subscription).where(Subscription.state != "removed").order_by(Subscription.id)
    ):
        last = session.scalar(
            select(Digest.created_at)
            .where(Digest.subscription_id == sub.id)
            .order_by(Digest.created_at.desc())
            .limit(1)
        )
        upcoming = upcoming_run(sub, config, now)
        digests.append(
            {
                "subscription": sub.id,
                "email": sub.email,
                "state": sub.state,
                "schedule": schedule_text(sub),
                "next_run": _iso(upcoming),
                "last_digest": _iso(last),
            }
        )
    return digests


def _delivery_problems(session: Session) -> list[DeliveryProblem]:
    """The digest deliveries that are held (in doubt) or failed, oldest first; webhook URLs redacted."""
    problems = []
    for delivery, digest in session.execute(
        select(DigestDelivery, Digest)
        .join(Digest, DigestDelivery.digest_id == Digest.id)
        .where(DigestDelivery.status.in_(("held", "failed")))
        .order_by(DigestDelivery.id)
    ):
        target = delivery.target if delivery.channel == "email" else redact_webhook(delivery.target)
        problems.append(
            DeliveryProblem(
                id=delivery.id,
                status=delivery.status,
                channel=delivery.channel,
                target=target,
                subscription_id=digest.subscription_id,
                period=digest.period,
                since=_iso(delivery.held_at or delivery.claimed_at or delivery.created_at),
                error=delivery.last_error,
            )
        )
    return problems


def _delivery_alert(problem: DeliveryProblem) -> AlertItem:
    """The **held** or **failed_delivery** alert of a delivery."""
    kind = "held" if problem.status == "held" else "failed_delivery"
    verb = "is held (in doubt)" if problem.status == "held" else "failed"
    return AlertItem(
        f"{kind}:{problem.id}",
        kind,
        None,
        f"digest delivery {problem.id} ({problem.channel} to {problem.target}, {problem.period}) "
        f"{verb}: {problem.error}; see `tracker digest release {problem.id}`",
    )


# -- alerts in the database and the operator's mail ----------------------------------------------------


def sync_alerts(engine: Engine, report: HealthReport, now: datetime) -> tuple[list[str], list[str]]:
    """Open the report's new alerts, refresh the open ones, close those that cleared."""
    current = {a.key: a for a in report.alerts}
    opened, resolved = [], []
    with session_scope(engine) as session:
        open_rows = {a.key: a for a in session.scalars(select(Alert).where(Alert.resolved_at.is_(None)))}
        for key, row in open_rows.items():
            if key in current:
                row.last_seen_at, row.message = now, current[key].message
            else:
                row.resolved_at = now
                resolved.append(key)
    for key, item in current.items():
        if key in open_rows:
            continue
        try:
            with session_scope(engine) as session:
                session.add(
                    Alert(
                        key=key,
                        kind=item.kind,
                        jurisdiction=item.jurisdiction,
                        message=item.message,
                        opened_at=now,
                        last_seen_at=now,
                    )
                )
            opened.append(key)
            logger.error(
                "ALERT %s", item.message, extra={"event": "alert_opened", "jurisdiction": item.jurisdiction}
            )
        except IntegrityError:
            pass  # another process opened it first
    for key in resolved:
        logger.warning("alert cleared: %s", key, extra={"event": "alert_resolved"})
    return opened, resolved


def notify_operator(engine: Engine, config: Config, now: datetime) -> str | None:
    """Mail the operator about alerts that opened, still stand after ``remind_every_hours``, or cleared.
    Returns what was done (or why nothing could be)."""
    remind = timedelta(hours=config.alerts.remind_every_hours)
    with session_scope(engine) as session:
        open_rows = list(session.scalars(select(Alert).where(Alert.resolved_at.is_(None)).order_by(Alert.id)))
        due_open = [
            a
            for a in open_rows
            if a.notified_at is None or (remind > timedelta(0) and a.notified_at + remind <= now)
        ]
        due_resolved = list(
            session.scalars(
                select(Alert).where(Alert.resolved_at.is_not(None), Alert.resolved_notified_at.is_(None))
            )
        )
        # An alert that opened and cleared between two notifications is not worth a mail of its own.
        silent = [a for a in due_resolved if a.notified_at is None]
        for a in silent:
            a.resolved_notified_at = now
        due_resolved = [a for a in due_resolved if a.notified_at is not None]
        if not due_open and not due_resolved:
            return None
        if not config.alerts.operator_email or config.email is None:
            return "operator alerts are not mailed: set [alerts] operator_email and an [email] table"
        # Claim them (conditional on what was read), so that two schedulers never both mail one alert.
        claimed_open, claimed_resolved = [], []
        for a in due_open:
            before = a.notified_at
            claimed = rows_affected(
                session,
                update(Alert)
                .where(
                    Alert.id == a.id, (Alert.notified_at == before) if before else Alert.notified_at.is_(None)
                )
                .values(notified_at=now)
                .execution_options(synchronize_session=False),
            )
            if claimed == 1:
                claimed_open.append((a.id, a.message, a.opened_at, before, a.kind))
        for a in due_resolved:
            claimed = rows_affected(
                session,
                update(Alert)
                .where(Alert.id == a.id, Alert.resolved_notified_at.is_(None))
                .values(resolved_notified_at=now)
                .execution_options(synchronize_session=False),
            )
            if claimed == 1:
                claimed_resolved.append((a.id, a.message, a.resolved_at, a.kind))
    if not claimed_open and not claimed_resolved:
        return None
    # Each line names the jurisdiction, the kind of alert and a short reason (never a whole request URL).
    opened = [
        {"message": _mail_line(k, m), "since": f"{opened:%Y-%m-%d %H:%M} UTC"}
        for _, m, opened, _, k in claimed_open
    ]
    cleared = [
        {"message": _mail_line(k, m), "cleared": f"{at:%Y-%m-%d %H:%M} UTC"}
        for _, m, at, k in claimed_resolved
    ]
    heading = (
        f"Sanctuary Tracker: {len(opened)} open alert{'s' if len(opened) != 1 else ''}"
        if opened
        else "Sanctuary Tracker: alerts cleared"
    )
    text = render_alert(heading, opened, cleared, config.alerts.operator_email)
    smtp = SmtpChannel(config.email)
    from email.message import EmailMessage
    from email.utils import format_datetime, make_msgid

    msg = EmailMessage()
    msg["From"] = config.email.from_address
    msg["To"] = config.alerts.operator_email
    msg["Subject"] = heading
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = make_msgid(domain=config.email.from_address.rsplit("@", 1)[-1])
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(text)
    try:
        smtp.send(msg, lambda: None)
    except DeliveryError as exc:
        if not exc.in_doubt:
            # Not sent: give the claims back so that the next check tries again.
            with session_scope(engine) as session:
                for alert_id, _, _, before, _ in claimed_open:
                    session.execute(update(Alert).where(Alert.id == alert_id).values(notified_at=before))
                for alert_id, _, _, _ in claimed_resolved:
                    session.execute(
                        update(Alert).where(Alert.id == alert_id).values(resolved_notified_at=None)
                    )
        logger.error("operator alert mail not sent: %s", exc, extra={"event": "alert_mail_failed"})
        return f"operator alert mail not sent: {exc}"
    logger.warning(
        "operator alerted at %s: %d open, %d cleared",
        config.alerts.operator_email,
        len(opened),
        len(cleared),
        extra={"event": "alert_mailed"},
    )
    return f"mailed {config.alerts.operator_email}: {len(opened)} open, {len(cleared)} cleared"


def _mail_line(kind: str, message: str) -> str:
    return f"[{kind}] {short_reason(message, 400)}"


def check_and_notify(engine: Engine, config: Config, now: datetime) -> HealthReport:
    """The scheduler's health job: evaluate, keep the alerts table current, mail the operator."""
    report = evaluate(engine, config, now)
    sync_alerts(engine, report, now)
    notify_operator(engine, config, now)
    return report
