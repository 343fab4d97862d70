"""Bill identity across sources: normalized file numbers, the sources that described a bill, portal moves.

A bill keeps its internal id for life. Each source that described it (a platform and client or host: its
*source key*) is recorded in ``bill_sources`` with the bill's id, URLs and file number there. When a
jurisdiction moves (``moved_from`` in its config entry), a bill of the new source that is not stored yet is
matched to a stored bill of an old source by normalized file number, and adopted: the same row, the same
status log, a new source recorded (docs/platforms.md).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import insert, or_, select, update
from sqlalchemy.orm import Session

from db.models import Bill, BillSource, Jurisdiction
from tracker.contract import identifier_key
from tracker.platforms.base import JurisdictionConfig

logger = logging.getLogger(__name__)


def move_problem(row: Jurisdiction, cfg: JurisdictionConfig) -> str | None:
    """Why this jurisdiction cannot be crawled from its configured source, or None."""
    if row.source_key is None or row.source_key == cfg.source_key or row.source_key in cfg.moved_from:
        return None
    return (
        f"{cfg.slug}: stored bills come from {row.source_key} but the config now says {cfg.source_key}; "
        f'declare the move with moved_from = ["{row.source_key}"] (docs/platforms.md), or fix the entry'
    )


def key_unkeyed(session: Session, jurisdiction: Jurisdiction, source_key: str, now: datetime) -> None:
    """Give bills stored before sources were recorded their source key, file-number key and source row."""
    if jurisdiction.source_key is None:
        jurisdiction.source_key = source_key
    rows = session.execute(
        select(Bill.id, Bill.source_id, Bill.identifier, Bill.public_url, Bill.source_url).where(
            Bill.jurisdiction_id == jurisdiction.id, Bill.source_key.is_(None)
        )
    ).all()
    if not rows:
        return
    key = jurisdiction.source_key
    session.execute(
        update(Bill),
        [{"id": r.id, "source_key": key, "identifier_key": identifier_key(r.identifier)} for r in rows],
    )
    session.execute(
        insert(BillSource),
        [
            {
                "bill_id": r.id,
                "source_key": key,
                "source_id": r.source_id,
                "identifier": r.identifier,
                "identifier_key": identifier_key(r.identifier),
                "public_url": r.public_url,
                "source_url": r.source_url,
                "first_seen_at": now,
                "last_seen_at": now,
            }
            for r in rows
        ],
    )


def adopt_moved(
    session: Session,
    jurisdiction_id: int,
    source_key: str,
    moved_from: Iterable[str],
    fresh: Iterable[Any],
) -> int:
    """Point stored bills of an old source at the new source's ids when their file numbers match.

    ``fresh``: normalized bills of this crawl whose source id is not stored. Returns how many were adopted;
    a file number that names two stored bills (or two fresh ones) is left alone, with a warning.
    """
    old_keys = list(moved_from)
    fresh = list(fresh)
    # Each fresh bill's file-number keys: its identifier first, then its alternates (e.g. a legacy number).
    keys_of: list[list[str]] = []
    for bill in fresh:
        raw = [bill.identifier, *bill.alternate_identifiers]
        keys_of.append([k for k in dict.fromkeys(identifier_key(r) for r in raw) if k])
    by_key: dict[str, list[int]] = {}
    for n, keys in enumerate(keys_of):
        for k in keys:
            by_key.setdefault(k, []).append(n)
    if not old_keys or not fresh:
        return 0
    changes = []
    stored_taken: set[int] = set()
    fresh_taken: set[int] = set()
    # The Legistar API and InSite pages of one client number matters alike: the same id is the same bill.
    same_ids = [k for k in old_keys if _shares_ids(k, source_key)]
    if same_ids:
        position = {b.source_id: n for n, b in enumerate(fresh)}
        wanted = list(position)
        for i in range(0, len(wanted), 500):
            for bill_id, sid in session.execute(
                select(Bill.id, Bill.source_id).where(
                    Bill.jurisdiction_id == jurisdiction_id,
                    Bill.source_key.in_(same_ids),
                    Bill.source_id.in_(wanted[i : i + 500]),
                )
            ):
                if bill_id not in stored_taken and position[sid] not in fresh_taken:
                    stored_taken.add(bill_id)
                    fresh_taken.add(position[sid])
                    changes.append({"id": bill_id, "source_id": sid, "source_key": source_key})
    candidates: dict[str, list[int]] = {}
    keys = list(by_key)
    for i in range(0, len(keys), 500):
        for bill_id, stored_key in session.execute(
            select(Bill.id, Bill.identifier_key).where(
                Bill.jurisdiction_id == jurisdiction_id,
                Bill.identifier_key.in_(keys[i : i + 500]),
                or_(Bill.source_key.in_(old_keys), Bill.source_key.is_(None)),
            )
        ):
            assert stored_key is not None  # IN (...) matches no NULL
            candidates.setdefault(stored_key, []).append(bill_id)
    for primary in (True, False):  # identifiers first, then alternates
        for n, bill_keys in enumerate(keys_of):
            for k in bill_keys[:1] if primary else bill_keys[1:]:
                ids = candidates.get(k, [])
                if not ids or n in fresh_taken:
                    continue
                if len(ids) != 1 or len(by_key[k]) != 1:
                    logger.warning(
                        "file number %s names %d stored and %d new bills: not matched",
                        k,
                        len(ids),
                        len(by_key[k]),
                    )
                    continue
                if ids[0] in stored_taken:
                    continue
                stored_taken.add(ids[0])
                fresh_taken.add(n)
                changes.append({"id": ids[0], "source_id": fresh[n].source_id, "source_key": source_key})
    if changes:
        session.execute(update(Bill), changes)
    return len(changes)


def _shares_ids(old_key: str, new_key: str) -> bool:
    """Whether two source keys number their bills alike: the Legistar API and InSite of one client."""
    family = ("legistar", "legistar-web")
    old_platform, _, old_client = old_key.partition(":")
    new_platform, _, new_client = new_key.partition(":")
    return old_platform in family and new_platform in family and old_client == new_client


def record_sources(session: Session, source_key: str, bills: list[tuple[int, Any]], now: datetime) -> None:
    """Record (or refresh) the source row of each (bill id, normalized bill) seen on this source."""
    if not bills:
        return
    ids = [b.source_id for _, b in bills]
    stored = {
        sid: row_id
        for sid, row_id in session.execute(
            select(BillSource.source_id, BillSource.id).where(
                BillSource.source_key == source_key, BillSource.source_id.in_(ids)
            )
        )
    }
    fresh, seen = [], []
    for bill_id, b in bills:
        values = {
            "bill_id": bill_id,
            "identifier": b.identifier,
            "identifier_key": identifier_key(b.identifier),
            "public_url": b.public_url,
            "source_url": b.source_url,
            "last_seen_at": now,
        }
        if b.source_id in stored:
            seen.append({"id": stored[b.source_id], **values})
        else:
            fresh.append({**values, "source_key": source_key, "source_id": b.source_id, "first_seen_at": now})
    if fresh:
        session.execute(insert(BillSource), fresh)
    if seen:
        session.execute(update(BillSource), seen)


def bill_for_url(session: Session, url: str) -> Bill | None:
    """The bill whose recorded public URL (on any source it was ever seen on) is exactly this URL."""
    bill_id = session.scalar(select(BillSource.bill_id).where(BillSource.public_url == url).limit(1))
    if bill_id is None:
        bill_id = session.scalar(select(Bill.id).where(Bill.public_url == url).limit(1))
    return None if bill_id is None else session.get(Bill, bill_id)
