"""The transactional outbox: record each due digest before anything is sent, then deliver it exactly once.

Recording (:func:`record_due`): for each active subscription whose period is due, the content is built and
written in one transaction together with the items it announces and one delivery per channel. The
digest is unique per (subscription, period) and every item unique per (subscription, kind, id): a second
sender's transaction conflicts and records nothing.

Delivering (:func:`deliver_due`), per delivery row::

    pending ──claim──► sending/claimed ──before transmit──► sending/transmitting ──accepted──► sent
       ▲                   │                                     │
       │                   │ definite failure                    │ in doubt (no answer to the message)
       └── retry ◄─────────┘ (backoff; failed after max_attempts) └──► held ──release──► pending
                                                                            └─release --mark-sent─► sent

- a claim is a conditional update (``status in (pending, retry)``) committed before the server is
  contacted: two senders can never both hold one delivery;
- the switch to ``transmitting`` is committed *before* the message leaves (and is conditional on the
  claim, so a sender that lost its claim stops there);
- a sender that died is detected by :func:`reap`: on this host its process is gone (pid and start time),
  elsewhere its claim is older than ``lease_seconds``. Died while ``claimed``: nothing was transmitted, so
  the delivery is retried. Died while ``transmitting``: the server may have accepted the message, and SMTP
  has no idempotency key, so the delivery is **held** for the operator (``tracker digest release``), never
  resent silently.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from db.engine import rows_affected, session_scope
from db.models_digest import Digest, DigestDelivery, DigestItem, Subscription
from tracker.config import Config
from tracker.digests.channels import DeliveryError, SmtpChannel, WebhookChannel, build_email, redact_webhook
from tracker.digests.content import DigestContent, build_content
from tracker.digests.faults import pause_point
from tracker.digests.links import Links
from tracker.digests.periods import Slot, latest_slot, next_run
from tracker.digests.render import atom_feed, event_id, render_digest, webhook_body
from tracker.errors import TrackerError

logger = logging.getLogger("tracker.digests")

HOST = socket.gethostname()[:100]
IN_DOUBT_DIED = (
    "the sending process stopped while transmitting: the message may or may not have been delivered"
)


class ClaimLost(Exception):
    """This sender's claim on a delivery was taken over (it was reaped): stop before transmitting."""


# -- who holds a claim --------------------------------------------------------------------------------


def _start_time(pid: int) -> str:
    """The process's start time in clock ticks since boot (Linux), to tell a reused pid apart."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    fields = stat.rsplit(")", 1)[-1].split()
    return fields[19] if len(fields) > 19 else ""


def me() -> str:
    pid = os.getpid()
    return f"{HOST}:{pid}:{_start_time(pid)}"


def claimer_gone(claimed_by: str | None) -> bool | None:
    """True if the claiming process is certainly gone, False if it runs, None if it cannot be told (another
    host)."""
    if not claimed_by:
        return True
    host, _, rest = claimed_by.rpartition(":")
    host, _, pid_text = host.rpartition(":")
    started = rest
    if host != HOST:
        return None
    try:
        pid = int(pid_text)
    except ValueError:
        return None
    stat = Path(f"/proc/{pid}/stat")
    if stat.parent.parent.exists() and Path("/proc/self/stat").exists():
        try:
            text = stat.read_text()
        except OSError:
            return True
        state = text.rsplit(")", 1)[-1].split()[0]
        if state in ("Z", "X"):
            return True
        return bool(started) and _start_time(pid) != started
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


# -- reports ------------------------------------------------------------------------------------------


@dataclass
class SendReport:
    recorded: list[str] = field(default_factory=list)
    sent: list[str] = field(default_factory=list)
    retrying: list[str] = field(default_factory=list)
    held: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    feeds: list[str] = field(default_factory=list)
    # One line per distinct configuration problem (unreachable SMTP server, missing [email]...).
    errors: list[str] = field(default_factory=list)
    dry_run: bool = False

    def lines(self) -> list[str]:
        out = []
        verb = "would record" if self.dry_run else "recorded"
        out += [f"{verb} {x}" for x in self.recorded]
        out += [f"{'would send' if self.dry_run else 'sent'} {x}" for x in self.sent]
        out += [f"retrying {x}" for x in self.retrying]
        out += [f"HELD {x}" for x in self.held]
        out += [f"FAILED {x}" for x in self.failed]
        out += [f"feed {x}" for x in self.feeds]
        return out


def sub_info(sub: Subscription, links: Links | None = None) -> dict[str, Any]:
    """What rendering needs of a subscription; with ``links``, its unsubscribe and manage links."""
    return {
        "unsubscribe_url": links.unsubscribe(sub.id) if links else None,
        "manage_url": links.manage() if links else None,
        "id": sub.id,
        "email": sub.email,
        "frequency": sub.frequency,
        "at_time": sub.at_time,
        "timezone": sub.timezone,
        "feed_token": sub.feed_token,
        "created_at": sub.created_at,
    }


def slot_for(sub: Subscription, config: Config, now: datetime) -> Slot:
    return latest_slot(
        sub.frequency, sub.at_time, sub.weekday, sub.timezone, now, config.digests.immediate_every_minutes
    )


def backoff(config: Config, attempts: int) -> timedelta:
    seconds = config.digests.retry_base_seconds * (2 ** max(attempts - 1, 0))
    return timedelta(seconds=min(seconds, config.digests.retry_max_seconds))


# -- recording ----------------------------------------------------------------------------------------


def _channels(sub: Subscription) -> list[tuple[str, str]]:
    out = []
    if sub.email_enabled:
        out.append(("email", sub.email))
    if sub.webhook_url:
        out.append(("slack" if sub.webhook_format == "slack" else "webhook", sub.webhook_url))
    return out


def _active(session: Session, subscription_ids: list[int] | None, frequencies: list[str] | None) -> list[int]:
    q = select(Subscription.id).where(Subscription.state == "active").order_by(Subscription.id)
    if subscription_ids is not None:
        q = q.where(Subscription.id.in_(subscription_ids))
    if frequencies is not None:
        q = q.where(Subscription.frequency.in_(frequencies))
    return list(session.scalars(q))


def preview(session: Session, sub: Subscription, config: Config, now: datetime) -> tuple[Slot, DigestContent]:
    """The digest the subscription would get next, without recording it: the due period when it is not
    recorded yet, else the next one, with what is known at ``now`` as it would read at that period's time
    (a meeting that will have started by then is not "coming up")."""
    slot = slot_for(sub, config, now)
    recorded = session.scalar(
        select(Digest.id).where(Digest.subscription_id == sub.id, Digest.period == slot.period)
    )
    if recorded is not None or (sub.frequency != "immediate" and slot.at < sub.starts_at):
        nxt = next_run(
            sub.frequency, sub.at_time, sub.weekday, sub.timezone, now, config.digests.immediate_every_minutes
        )
        slot = slot_for(sub, config, nxt)
    return slot, build_content(session, sub, max(now, slot.at), Links.of(config))


def _lock_subscription(session: Session, sub_id: int) -> None:
    """Serialise recorders of one subscription: a row lock on PostgreSQL, the write lock on SQLite (taken
    by this first write, so the reads that follow are current)."""
    session.execute(
        update(Subscription).where(Subscription.id == sub_id).values(updated_at=Subscription.updated_at)
    )


def _record_one(engine: Engine, sub_id: int, config: Config, now: datetime, report: SendReport) -> int | None:
    try:
        with session_scope(engine) as session:
            if not report.dry_run:
                _lock_subscription(session, sub_id)
            sub = session.get(Subscription, sub_id)
            if sub is None or sub.state != "active":
                return None
            slot = slot_for(sub, config, now)
            if sub.frequency != "immediate" and slot.at < sub.starts_at:
                return None  # the subscription's first daily or weekly digest is not due yet
            exists = session.scalar(
                select(Digest.id).where(Digest.subscription_id == sub.id, Digest.period == slot.period)
            )
            if exists is not None:
                return None
            links = Links.of(config)
            content = build_content(session, sub, now, links)
            if content.empty:
                logger.debug("subscription %d: nothing new for %s", sub.id, slot.period)
                return None
            data = content.as_dict()
            rendered = render_digest(data, sub_info(sub, links), slot.period)
            label = f"digest {slot.period} for subscription {sub.id} ({sub.email}): {rendered.subject}"
            if report.dry_run:
                report.recorded.append(label)
                return None
            pause_point("built")
            digest = Digest(
                subscription_id=sub.id,
                period=slot.period,
                scheduled_for=slot.at,
                event_id=event_id(sub.id, slot.period),
                created_at=now,
                subject=rendered.subject,
                body_text=rendered.text,
                body_html=rendered.html,
                content=data,
                measures=content.measures,
                changes=content.changes,
            )
            session.add(digest)
            session.flush()
            items = content.items()
            session.add_all(
                DigestItem(digest_id=digest.id, subscription_id=sub.id, kind=kind, ref_id=ref)
                for kind, ref in items
            )
            session.add_all(
                DigestDelivery(
                    digest_id=digest.id,
                    channel=channel,
                    target=target,
                    status="pending",
                    attempts=0,
                    created_at=now,
                )
                for channel, target in _channels(sub)
            )
            session.flush()
            digest_id = digest.id
    except IntegrityError:
        # Another sender recorded this period (or these items) first: nothing to do here.
        logger.info("subscription %d: digest already recorded by another sender", sub_id)
        return None
    report.recorded.append(label)
    logger.info(
        "recorded digest %d (%s) for subscription %d: %d measures, %d status changes, %d hearing changes",
        digest_id,
        slot.period,
        sub_id,
        content.measures,
        content.changes,
        content.hearings,
        extra={"event": "digest_recorded"},
    )
    pause_point("recorded")
    return digest_id


def record_due(
    engine: Engine,
    config: Config,
    now: datetime,
    *,
    subscription_ids: list[int] | None = None,
    frequencies: list[str] | None = None,
    report: SendReport | None = None,
) -> list[int]:
    """Record the due digest of each active subscription (when there is something new)."""
    report = report or SendReport()
    with session_scope(engine) as session:
        ids = _active(session, subscription_ids, frequencies)
    recorded = []
    for sub_id in ids:
        digest_id = _record_one(engine, sub_id, config, now, report)
        if digest_id is not None:
            recorded.append(digest_id)
    return recorded


# -- reaping ------------------------------------------------------------------------------------------


def reap(engine: Engine, config: Config, now: datetime, report: SendReport | None = None) -> int:
    """Settle deliveries whose sender died: retry those that transmitted nothing, hold the others."""
    report = report or SendReport()
    lease = timedelta(seconds=config.digests.lease_seconds)
    settled = 0
    with session_scope(engine) as session:
        rows = session.execute(
            select(
                DigestDelivery.id,
                DigestDelivery.phase,
                DigestDelivery.claim_token,
                DigestDelivery.claimed_by,
                DigestDelivery.claimed_at,
                DigestDelivery.attempts,
            ).where(DigestDelivery.status == "sending")
        ).all()
    for row in rows:
        gone = claimer_gone(row.claimed_by)
        expired = row.claimed_at is None or row.claimed_at + lease < now
        if not (gone or (gone is None and expired)):
            continue
        with session_scope(engine) as session:
            q = update(DigestDelivery).where(
                DigestDelivery.id == row.id,
                DigestDelivery.status == "sending",
                DigestDelivery.claim_token == row.claim_token,
            )
            if row.phase == "transmitting":
                values: dict[str, Any] = {"status": "held", "held_at": now, "last_error": IN_DOUBT_DIED}
            elif row.attempts >= config.digests.max_attempts:
                # its sender died on it at every attempt: failed, rather than a loop that blocks no one else
                # but never ends
                values = {
                    "status": "failed",
                    "phase": None,
                    "last_error": f"the sending process stopped before transmitting, {row.attempts} times",
                }
            else:
                values = {
                    "status": "retry",
                    "next_attempt_at": now,
                    "phase": None,
                    "last_error": "the sending process stopped before transmitting; retrying",
                }
            if rows_affected(session, q.values(**values)) == 1:
                settled += 1
                if values["status"] == "failed":
                    report.failed.append(f"delivery {row.id}: {values['last_error']}")
                    logger.error(
                        "delivery %d failed for good: %s",
                        row.id,
                        values["last_error"],
                        extra={"event": "delivery_failed"},
                    )
                elif values["status"] == "held":
                    report.held.append(f"delivery {row.id}: {IN_DOUBT_DIED}")
                    logger.error(
                        "delivery %d held: %s (release it with `tracker digest release %d`)",
                        row.id,
                        IN_DOUBT_DIED,
                        row.id,
                        extra={"event": "delivery_held"},
                    )
                else:
                    logger.warning(
                        "delivery %d: its sender stopped before transmitting; retrying",
                        row.id,
                        extra={"event": "delivery_reaped"},
                    )
    return settled


# -- delivering ---------------------------------------------------------------------------------------


def _claim(engine: Engine, delivery_id: int, now: datetime) -> str | None:
    token = str(uuid.uuid4())
    with session_scope(engine) as session:
        matched = rows_affected(
            session,
            update(DigestDelivery)
            .where(
                DigestDelivery.id == delivery_id,
                DigestDelivery.status.in_(("pending", "retry")),
                or_(DigestDelivery.next_attempt_at.is_(None), DigestDelivery.next_attempt_at <= now),
            )
            .values(
                status="sending",
                phase="claimed",
                claim_token=token,
                claimed_by=me(),
                claimed_at=now,
                attempts=DigestDelivery.attempts + 1,
            ),
        )
        if matched != 1:
            return None
    return token


def _finish(engine: Engine, delivery_id: int, token: str, statuses: tuple[str, ...], **values: Any) -> bool:
    with session_scope(engine) as session:
        matched = rows_affected(
            session,
            update(DigestDelivery)
            .where(
                DigestDelivery.id == delivery_id,
                DigestDelivery.claim_token == token,
                DigestDelivery.status.in_(statuses),
            )
            .values(**values),
        )
        return matched == 1


def _transmitting(engine: Engine, delivery_id: int, token: str, marks: list[bool] | None = None) -> None:
    """The message is about to leave: the delivery's phase says so (a sender dying now leaves it held, in
    doubt), and so does ``marks`` for the sending loop."""
    if not _finish(engine, delivery_id, token, ("sending",), phase="transmitting"):
        raise ClaimLost(f"delivery {delivery_id}: claim lost before transmitting")
    if marks is not None:
        marks.append(True)
    pause_point("transmitting")


def _due_deliveries(engine: Engine, now: datetime, subscription_ids: list[int] | None) -> list[Any]:
    with session_scope(engine) as session:
        q = (
            select(DigestDelivery, Digest)
            .join(Digest, DigestDelivery.digest_id == Digest.id)
            .where(
                or_(
                    DigestDelivery.status == "pending",
                    (DigestDelivery.status == "retry") & (DigestDelivery.next_attempt_at <= now),
                )
            )
            .order_by(DigestDelivery.id)
        )
        if subscription_ids is not None:
            q = q.where(Digest.subscription_id.in_(subscription_ids))
        return list(session.execute(q).all())


def _describe_delivery(delivery: DigestDelivery, digest: Digest) -> str:
    target = delivery.target if delivery.channel == "email" else redact_webhook(delivery.target)
    return (
        f"delivery {delivery.id} ({delivery.channel} to {target}, "
        f"digest {digest.period} of subscription {digest.subscription_id})"
    )


def deliver_due(
    engine: Engine,
    config: Config,
    now: datetime,
    *,
    subscription_ids: list[int] | None = None,
    report: SendReport | None = None,
) -> SendReport:
    report = report or SendReport()
    smtp = SmtpChannel(config.email) if config.email else None
    webhook = WebhookChannel(
        timeout=config.email.timeout if config.email else 30.0,
        private_hosts=config.digests.webhook_private_hosts,
    )
    broken: dict[str, str] = {}  # "email" -> the SMTP configuration problem met in this run
    links = Links.of(config)
    for delivery, digest in _due_deliveries(engine, now, subscription_ids):
        what = _describe_delivery(delivery, digest)
        if delivery.channel in broken:
            continue
        if delivery.channel == "email" and smtp is None:
            if report.dry_run:  # what a dry run is for: seeing what is due, configured or not yet
                report.sent.append(f"{what}, which waits: {config.source} has no [email] table")
                continue
            broken["email"] = f"{config.source}: no [email] table: e-mail digests cannot be sent (they wait)"
            report.errors.append(broken["email"])
            continue
        if report.dry_run:
            report.sent.append(what)
            continue
        token = _claim(engine, delivery.id, now)
        if token is None:
            continue  # another sender has it
        pause_point("claimed")
        transmitting: list[bool] = []  # set once the message may have left (before_transmit ran)
        before_transmit = partial(_transmitting, engine, delivery.id, token, transmitting)
        try:
            if smtp is not None and delivery.channel == "email":
                headers = {"X-Tracker-Event-Id": digest.event_id}
                unsubscribe = links.unsubscribe(digest.subscription_id)
                if unsubscribe:  # RFC 2369 and RFC 8058 one-click unsubscribe
                    headers["List-Unsubscribe"] = f"<{unsubscribe}>"
                    headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
                message = build_email(
                    smtp.settings,
                    delivery.target,
                    digest.subject,
                    digest.body_text,
                    digest.body_html,
                    digest.event_id,
                    digest.created_at,
                    headers,
                )
                reply = smtp.send(message, before_transmit)
            else:
                body = webhook_body(digest, "slack" if delivery.channel == "slack" else "json")
                reply = webhook.send(delivery.target, body, digest.event_id, before_transmit)
        except ClaimLost as exc:
            logger.warning("%s", exc)
            continue
        except Exception as raised:  # one delivery's unforeseen error must not stop the others
            if isinstance(raised, DeliveryError):
                error = raised
            else:
                detail = f"unexpected error: {type(raised).__name__}: {' '.join(str(raised).split())[:200]}"
                logger.error("%s: %s", what, detail)
                # before anything left: retried like any failure (failed after max_attempts); after: in doubt
                error = DeliveryError(detail, in_doubt=bool(transmitting))
            _failed(engine, config, delivery, token, error, now, what, report)
            if delivery.channel == "email" and error.config and not error.in_doubt:
                # The one SMTP server is misconfigured or down: the other e-mails would fail alike.
                broken["email"] = str(error)
                report.errors.append(str(error))
            continue
        pause_point("accepted")
        _finish(
            engine,
            delivery.id,
            token,
            ("sending", "held"),
            status="sent",
            phase=None,
            sent_at=now,
            last_error=None,
        )
        report.sent.append(f"{what}: {reply}")
        logger.info("%s sent: %s", what, reply, extra={"event": "delivery_sent"})
        pause_point("sent")
    return report


def _failed(
    engine: Engine,
    config: Config,
    delivery: DigestDelivery,
    token: str,
    exc: DeliveryError,
    now: datetime,
    what: str,
    report: SendReport,
) -> None:
    attempts = delivery.attempts + 1
    if exc.in_doubt:
        _finish(
            engine,
            delivery.id,
            token,
            ("sending",),
            status="held",
            held_at=now,
            phase="transmitting",
            last_error=str(exc),
        )
        report.held.append(f"{what}: {exc}")
        logger.error(
            "%s held (in doubt): %s; release it with `tracker digest release %d`",
            what,
            exc,
            delivery.id,
            extra={"event": "delivery_held"},
        )
    elif exc.permanent or attempts >= config.digests.max_attempts:
        _finish(engine, delivery.id, token, ("sending",), status="failed", phase=None, last_error=str(exc))
        report.failed.append(f"{what}: {exc}")
        logger.error(
            "%s failed for good after %d attempt%s: %s",
            what,
            attempts,
            "" if attempts == 1 else "s",
            exc,
            extra={"event": "delivery_failed"},
        )
    else:
        when = now + backoff(config, attempts)
        _finish(
            engine,
            delivery.id,
            token,
            ("sending",),
            status="retry",
            phase=None,
            next_attempt_at=when,
            last_error=str(exc),
        )
        report.retrying.append(f"{what} at {when:%Y-%m-%d %H:%M:%S} UTC (attempt {attempts}): {exc}")
        # A configuration problem is reported once by the caller (one line), not once per delivery.
        logger.log(
            logging.INFO if exc.config else logging.WARNING,
            "%s attempt %d failed, retrying at %s: %s",
            what,
            attempts,
            when.isoformat(),
            exc,
            extra={"event": "delivery_retry"},
        )


# -- feeds --------------------------------------------------------------------------------------------


def feed_for(session: Session, sub: Subscription, config: Config) -> bytes:
    digests = list(session.scalars(select(Digest).where(Digest.subscription_id == sub.id)))
    base = config.digests.feed_base_url
    return atom_feed(sub_info(sub), digests, f"{base}/{sub.feed_token}.atom" if base else None)


def write_feeds(engine: Engine, config: Config, report: SendReport | None = None) -> list[Path]:
    """Write each subscription's Atom feed into ``[digests] feed_dir`` (only files whose content changed)."""
    if not config.digests.feed_dir:
        return []
    directory = Path(config.digests.feed_dir)
    written: list[Path] = []
    tmp: Path | None = None
    try:
        directory.mkdir(parents=True, exist_ok=True)
        with session_scope(engine) as session:
            subs = list(session.scalars(select(Subscription).where(Subscription.state != "removed")))
            for sub in subs:
                data = feed_for(session, sub, config)
                path = directory / f"{sub.feed_token}.atom"
                if path.exists() and path.read_bytes() == data:
                    continue
                tmp = path.with_suffix(f".tmp{secrets.token_hex(4)}")
                tmp.write_bytes(data)
                os.replace(tmp, path)
                tmp = None
                written.append(path)
                if report is not None:
                    report.feeds.append(f"subscription {sub.id}: {path}")
    except OSError as exc:  # the digests are recorded and sent; only the feeds wait for the next round
        if tmp is not None:
            tmp.unlink(missing_ok=True)
        message = f"cannot write the Atom feeds to [digests] feed_dir {directory}: {exc.strerror or exc}"
        if report is not None:  # the caller prints or logs it, once
            report.errors.append(message)
        else:
            logger.error("%s", message)
    return written


# -- the whole round ----------------------------------------------------------------------------------


def send_due(
    engine: Engine,
    config: Config,
    now: datetime,
    *,
    subscription_ids: list[int] | None = None,
    frequencies: list[str] | None = None,
    dry_run: bool = False,
) -> SendReport:
    """One round: settle dead senders, record due digests, deliver what is pending or due for retry, and
    refresh the feeds."""
    report = SendReport(dry_run=dry_run)
    if not dry_run:
        reap(engine, config, now, report)
    record_due(engine, config, now, subscription_ids=subscription_ids, frequencies=frequencies, report=report)
    deliver_due(engine, config, now, subscription_ids=subscription_ids, report=report)
    if not dry_run:
        write_feeds(engine, config, report)
    return report


# -- the operator's release ---------------------------------------------------------------------------


def release(engine: Engine, delivery_id: int, now: datetime, *, mark_sent: bool = False) -> str:
    """Release a held or failed delivery: send it again (the operator checked it did not arrive), or record
    it as sent (it did arrive)."""
    with session_scope(engine) as session:
        delivery = session.get(DigestDelivery, delivery_id)
        if delivery is None:
            raise TrackerError(f"no delivery {delivery_id} (see `tracker digest list`)")
        if delivery.status not in ("held", "failed"):
            raise TrackerError(
                f"delivery {delivery_id} is {delivery.status}; only held or failed deliveries can be released"
            )
        values: dict[str, Any] = {"released_at": now, "phase": None, "claim_token": None}
        if mark_sent:
            values.update(status="sent", sent_at=now)
        else:
            values.update(status="pending", next_attempt_at=None, attempts=0)
        matched = rows_affected(
            session,
            update(DigestDelivery)
            .where(DigestDelivery.id == delivery_id, DigestDelivery.status == delivery.status)
            .values(**values),
        )
        if matched != 1:
            raise TrackerError(
                f"delivery {delivery_id} changed meanwhile; look again with `tracker digest list`"
            )
    action = (
        "recorded as sent" if mark_sent else "released: it will be sent by the next `tracker digest send`"
    )
    logger.warning("delivery %d %s", delivery_id, action, extra={"event": "delivery_released"})
    return f"Delivery {delivery_id} {action}."
