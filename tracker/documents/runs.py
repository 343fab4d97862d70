"""Fetch runs: the documents that are due, per jurisdiction (:func:`fetch_jurisdiction`), for every
jurisdiction (:func:`fetch_documents`) and after a crawl (:func:`after_crawl`)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, and_, or_, select
from sqlalchemy.orm import Session

from db.engine import session_scope
from db.models import Attachment, Bill, Jurisdiction
from db.models_documents import Document
from db.types import utcnow
from tracker.config import Config, Documents
from tracker.documents.errors import one_line, short_url
from tracker.documents.fetcher import Candidate, Fetcher, store_outcome
from tracker.documents.hosts import Resolver, policy_for, system_resolver
from tracker.errors import TrackerError
from tracker.review import resolve_bill

logger = logging.getLogger(__name__)


@dataclass
class FetchSummary:
    slug: str
    checked: int = 0
    extracted: int = 0  # new or changed text
    unchanged: int = 0
    refused: int = 0
    too_large: int = 0
    unsupported: int = 0
    failed: int = 0
    rematched: int = 0
    newly_relevant: int = 0
    errors: list[str] = field(default_factory=list)

    def line(self) -> str:
        text = (
            f"{self.slug}: documents - {self.checked} checked, {self.extracted} new text, "
            f"{self.unchanged} unchanged, {self.failed} failed, {self.refused} refused, "
            f"{self.too_large} too large, {self.unsupported} unsupported; "
            f"{self.rematched} bills re-matched, {self.newly_relevant} newly relevant"
        )
        if self.errors:
            text += f" - first problem: {self.errors[0]}"
        return text


def candidates(
    session: Session,
    slug: str,
    settings: Documents,
    *,
    limit: int | None,
    now: datetime,
    bill_id: int | None = None,
    force: bool = False,
) -> list[Candidate]:
    """Attachments due for a (re)check, never-fetched first, then newest bills first."""
    q = (
        select(
            Attachment.bill_id,
            Attachment.url,
            Attachment.name,
            Document.id,
            Document.status,
            Document.content_hash,
            Document.etag,
            Document.last_modified,
        )
        .join(Bill, Bill.id == Attachment.bill_id)
        .join(Jurisdiction, Jurisdiction.id == Bill.jurisdiction_id)
        .outerjoin(Document, and_(Document.bill_id == Attachment.bill_id, Document.url == Attachment.url))
        .where(Jurisdiction.slug == slug, Attachment.url.is_not(None), Attachment.url != "")
        .order_by(Document.id.is_not(None), Bill.first_seen_at.desc(), Bill.id.desc(), Attachment.sequence)
    )
    # one bill: even when it vanished; a whole jurisdiction: only the bills still on the portal
    q = q.where(Bill.id == bill_id) if bill_id is not None else q.where(Bill.vanished_at.is_(None))
    if not force:
        recheck = now - timedelta(hours=settings.recheck_hours)
        retry = now - timedelta(hours=settings.retry_hours)
        q = q.where(
            or_(
                Document.id.is_(None),
                and_(Document.status == "failed", Document.checked_at <= retry),
                and_(Document.status != "failed", Document.checked_at <= recheck),
            )
        )
    out: list[Candidate] = []
    seen: set[tuple[int, str]] = set()
    if limit:
        q = q.limit(limit * 2)  # room for the same file attached twice
    for row in session.execute(q):
        key = (row.bill_id, row.url)
        if key in seen:  # the same file attached twice
            continue
        seen.add(key)
        out.append(Candidate(row.bill_id, row.url, row.name, *row[3:]))
        if limit and len(out) >= limit:
            break
    return out


def fetch_jurisdiction(
    engine: Engine,
    fetcher: Fetcher,
    jurisdiction: Any,
    *,
    limit: int | None,
    bill_id: int | None = None,
    now: datetime | None = None,
) -> FetchSummary:
    """Fetch the due documents of one jurisdiction. Never raises for a document: each outcome is recorded."""
    policy = policy_for(jurisdiction)
    summary = FetchSummary(jurisdiction.slug)
    started = now or utcnow()
    with session_scope(engine) as s:
        todo = candidates(
            s,
            jurisdiction.slug,
            fetcher.settings,
            limit=limit,
            now=started,
            bill_id=bill_id,
            force=fetcher.force,
        )
    for cand in todo:
        outcome = fetcher.fetch(engine, policy, cand)
        changed, matched = store_outcome(engine, cand, outcome, utcnow())
        summary.checked += 1
        kind = outcome.kind
        if kind == "extracted" and not changed:  # new bytes, same text (a re-saved file)
            kind = "unchanged"
        setattr(summary, kind, getattr(summary, kind) + 1)
        if outcome.kind not in ("extracted", "unchanged"):
            summary.errors.append(f"{short_url(cand.url)}: {outcome.message}")
            logger.info(
                "%s: document %s: %s: %s",
                jurisdiction.slug,
                short_url(cand.url),
                outcome.kind,
                outcome.message,
            )
        if matched is not None:
            summary.rematched += matched.classified
            summary.newly_relevant += matched.newly_relevant
    return summary


def fetch_documents(
    config: Config,
    engine: Engine,
    slugs: list[str] | tuple[str, ...],
    *,
    limit: int | None = None,
    bill: str | None = None,
    force: bool = False,
    resolver: Resolver = system_resolver,
) -> list[FetchSummary]:
    """`tracker documents fetch`: the due documents of the named jurisdictions (all when none), or of one
    bill (``slug:identifier`` or id)."""
    bill_id = None
    if bill is not None:
        with session_scope(engine) as s:
            row, jur = resolve_bill(s, bill)
            bill_id, slugs = row.id, [jur.slug]
    selected = config.select(list(slugs))
    if not selected:
        raise TrackerError(f"{config.source}: no jurisdictions configured")
    fetcher = Fetcher(config, resolver=resolver, force=force)
    try:
        return [fetch_jurisdiction(engine, fetcher, j, limit=limit, bill_id=bill_id) for j in selected]
    finally:
        fetcher.close()


def after_crawl(config: Config, engine: Engine, slugs: list[str]) -> list[str]:
    """After a crawl (``[documents] after_crawl``): fetch up to ``per_crawl`` due documents of each crawled
    jurisdiction. Never raises: a problem is one line of the result."""
    if not config.documents.after_crawl or not slugs:
        return []
    lines = []
    fetcher = Fetcher(config)
    try:
        for slug in slugs:
            try:
                summary = fetch_jurisdiction(
                    engine, fetcher, config.jurisdiction(slug), limit=config.documents.per_crawl or None
                )
                lines.append(summary.line())
            except Exception as exc:  # documents never fail the crawl
                logger.warning("%s: documents not fetched: %s", slug, exc, exc_info=True)
                lines.append(f"{slug}: documents not fetched - {one_line(str(exc)) or type(exc).__name__}")
    finally:
        fetcher.close()
    return lines
