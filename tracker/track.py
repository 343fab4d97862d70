"""Track by link: a public bill URL → its jurisdiction, the bill fetched now and followed from then on.

``tracker track URL`` and the web app's paste box call :func:`track_url`. The URL is read by each
platform's ``parse_url`` (tracker/platforms/); the jurisdiction is the configured one on that platform
whose portal hosts include the URL's host. A URL recorded for a bill on an earlier source (a portal move)
resolves to that bill. The bill is fetched by a *track* crawl of that one bill (a child process, so the web
app never runs Scrapy's reactor), then marked tracked (every later crawl fetches it, whatever its dates)
and put in the review queue unless an editor already decided on it.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from db.engine import session_scope
from db.models import Bill, BillSource, Jurisdiction
from db.models_review import BillMatch
from db.types import utcnow
from tracker import outbound, slots
from tracker.config import Config
from tracker.errors import TrackerError
from tracker.identity import bill_for_url
from tracker.platforms import PLATFORMS, parse_url
from tracker.platforms.base import JurisdictionConfig, LinkTarget

logger = logging.getLogger(__name__)

# How long the fetch of one bill may take (a few requests, with the [crawl] retries).
TRACK_TIMEOUT = 300.0
# At most this many track crawls (child processes) at once per database, whatever the number of web workers
# and commands (tracker/slots.py: locks freed when their holder dies; and as many per process); one more
# request waits up to TRACK_WAIT seconds for a slot, then is told to retry.
MAX_TRACK_PROCESSES = 2
TRACK_WAIT = 2.0
_track_slots = threading.BoundedSemaphore(MAX_TRACK_PROCESSES)


class TrackError(TrackerError):
    """A URL that cannot be tracked, or a fetch that failed; the message is one line."""


class TrackBusy(TrackError):
    """Every track slot is taken: nothing was started; try again in a moment."""


@dataclass
class TrackResult:
    bill_id: int
    slug: str
    identifier: str | None
    title: str | None
    # "tracked" (newly), "already tracked"
    state: str
    in_review: bool

    def line(self) -> str:
        name = self.identifier or f"bill {self.bill_id}"
        queue = "in the review queue" if self.in_review else "already decided by an editor"
        return f"{self.slug} {name}: {self.state} (bill {self.bill_id}, {queue}): {self.title or ''}".rstrip()


def resolve(config: Config, url: str, session: Session | None = None) -> tuple[JurisdictionConfig, str]:
    """The configured jurisdiction and source id a public bill URL names, or a one-line TrackError."""
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise TrackError(f"not an http(s) URL: {url[:200]!r}")
    try:  # the outbound policy's URL rules (no credentials, spaces or control characters)
        outbound.split_url(url, what="link")
    except outbound.Refused as exc:
        raise TrackError(str(exc)) from None
    host = parts.hostname.lower()
    by_slug = {j.slug: j for j in config.jurisdictions}
    if session is not None:
        known = bill_for_url(session, url)
        if known is not None:
            slug = session.scalar(select(Jurisdiction.slug).where(Jurisdiction.id == known.jurisdiction_id))
            if slug in by_slug:
                return by_slug[slug], known.source_id
    on_host = [j for j in config.jurisdictions if host in j.hosts]
    targets: list[LinkTarget] = parse_url(url)
    if session is not None and not on_host:
        # An old link in another form than the one recorded (say without its GUID): the bill the old
        # source knew by that id, if exactly one configured city recorded it.
        for target in targets:
            found = session.execute(
                select(BillSource.bill_id, Jurisdiction.slug, Bill.source_id)
                .join(Bill, Bill.id == BillSource.bill_id)
                .join(Jurisdiction, Jurisdiction.id == Bill.jurisdiction_id)
                .where(
                    BillSource.source_id == target.source_id,
                    BillSource.source_key.startswith(f"{target.platform}:"),
                )
            ).all()
            cfgs = [(by_slug[slug], sid) for _, slug, sid in found if slug in by_slug]
            if len(cfgs) == 1:
                return cfgs[0]
    for target in targets:
        for cfg in on_host:
            if cfg.platform == target.platform:
                return cfg, target.source_id
    if not on_host:
        raise TrackError(f"no configured jurisdiction has its portal on {host} (add it to the config first)")
    names = ", ".join(sorted({PLATFORMS[j.platform].description.split(" (")[0] for j in on_host}))
    slugs = ", ".join(j.slug for j in on_host)
    if all(PLATFORMS[j.platform].observes == "agenda_items" for j in on_host):
        raise TrackError(
            f"{host} is the portal of {slugs} ({names}), whose pages are meetings, not bills: find the bill "
            "in the tracker (search its file number) and track it from its page"
        )
    raise TrackError(f"{host} is the portal of {slugs} ({names}), but this URL is not a bill page it reads")


def _mark(session: Session, bill: Bill, by: str | None) -> TrackResult:
    now = utcnow()
    state = "already tracked" if bill.tracked_at is not None else "tracked"
    if bill.tracked_at is None:
        bill.tracked_at, bill.tracked_by = now, by or "cli"
    match = session.get(BillMatch, bill.id)
    in_review = True
    if match is not None:
        if match.review_state in (None, "pending"):
            match.review_state = "pending"
            if not match.relevant:
                match.needs_review = True
                match.needs_review_reason = f"tracked by link by {by or 'cli'}"
                match.flagged_at = match.flagged_at or now
            match.updated_at = now
        else:
            in_review = False  # confirmed or rejected already: the editor's word stands
    slug = session.scalar(select(Jurisdiction.slug).where(Jurisdiction.id == bill.jurisdiction_id)) or "?"
    return TrackResult(bill.id, slug, bill.identifier, bill.title, state, in_review)


def track_bill(session: Session, bill_id: int, *, by: str | None = None) -> TrackResult:
    """Track a stored bill (the web app's Track button): followed by every crawl, queued for review."""
    bill = session.get(Bill, bill_id)
    if bill is None:
        raise TrackError(f"no bill with id {bill_id}")
    return _mark(session, bill, by)


def track_url(config: Config, engine: Engine, url: str, *, by: str | None = None) -> TrackResult:
    """Fetch the bill a public URL names now, mark it tracked and put it in the review queue."""
    from tracker.crawl import crawl_in_child

    with session_scope(engine) as session:
        cfg, source_id = resolve(config, url, session)
    env = {"TRACKER_DATABASE_URL": config.database_url}
    busy = f"busy: {MAX_TRACK_PROCESSES} bills are being fetched already; try again in a minute"
    if not _track_slots.acquire(timeout=TRACK_WAIT):
        raise TrackBusy(busy)
    try:
        # and one of the database's slots, shared by every process (web workers, commands)
        slot = slots.take(engine, "track", MAX_TRACK_PROCESSES, TRACK_WAIT)
        if slot is None:
            raise TrackBusy(busy)
        try:
            done = crawl_in_child(config.source, [cfg.slug], only=[source_id], timeout=TRACK_TIMEOUT, env=env)
        except Exception as exc:  # a timeout or a child that could not start
            raise TrackError(f"{cfg.slug}: fetching {source_id} failed: {exc}") from None
        finally:
            slot.release()
    finally:
        _track_slots.release()
    with session_scope(engine) as session:
        bill = session.scalar(
            select(Bill)
            .join(Jurisdiction)
            .where(
                Jurisdiction.slug == cfg.slug, Bill.source_id == source_id, Bill.source_key == cfg.source_key
            )
        )
        if bill is None or done.returncode != 0:
            # the crawl's summary line for the city says what went wrong; else the last error line. A
            # failed fetch is this track's failure: reported to whoever asked (the form, the command's
            # exit status), recorded as a track attempt (mode "track"), never as the city's crawl.
            summary = [ln for ln in done.stdout.splitlines() if ln.startswith(f"{cfg.slug}: ")]
            errors = [ln for ln in done.stderr.splitlines() if ln.strip()]
            why = (summary or errors or [f"exit status {done.returncode}"])[-1].removeprefix(f"{cfg.slug}: ")
            why = " ".join(why.split())[:500]
            if bill is None:
                raise TrackError(f"{cfg.slug}: could not fetch bill {source_id}: {why}")
            raise TrackError(
                f"{cfg.slug}: could not fetch bill {source_id} ({bill.identifier or bill.id}): {why}; "
                "nothing was tracked: try again later, or track the stored copy from its page"
            )
        return _mark(session, bill, by)
