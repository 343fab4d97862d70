"""Test helpers around the demo Legistar portal: configs pointing at it, and reading back the store."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select

from db.engine import session_scope
from db.models import Bill, CrawlRun, Jurisdiction, StatusChange
from tests.conftest import write_config
from tracker.demo import LegistarPortalServer, Portal


def portal_config(
    path: Path,
    server: LegistarPortalServer,
    portal: Portal,
    db_url: str,
    *,
    clients: list[str] | None = None,
    crawl: dict | None = None,
    extra: dict[str, dict] | None = None,
) -> Path:
    entries = []
    for client in portal:
        if clients is not None and client.name not in clients:
            continue
        entry = {
            "slug": client.name,
            "name": client.display_name,
            "platform": "legistar",
            "client": client.name,
            "api_base": server.base_url,
            "timezone": client.timezone,
        }
        entry.update((extra or {}).get(client.name, {}))
        entries.append(entry)
    settings = {"retries": 2, "backoff_base": 0.05, "backoff_max": 2.0, "download_timeout": 5.0}
    settings.update(crawl or {})
    return write_config(path, entries, database_url=db_url, crawl=settings)


def backfill_and_sweep_configs(
    tmp_path: Path, server: LegistarPortalServer, portal: Portal, db_url: str, client: str, **crawl: object
) -> tuple[Path, Path]:
    """Two configs of one council, no meetings: one whose first crawl is a backfill, one that sweeps."""
    settings = {"meetings_ahead_days": 0, "meetings_back_days": 0, **crawl}
    cfg = portal_config(tmp_path / "t.toml", server, portal, db_url, clients=[client], crawl=settings)
    settings["reconcile_every_hours"] = 0
    sweep = portal_config(tmp_path / "s.toml", server, portal, db_url, clients=[client], crawl=settings)
    return cfg, sweep


def needing_documents(portal: Portal, client: str) -> set[str]:
    """The visible matters whose titles may need their documents (crawler/attachments.py): a backfill fetches
    their attachment lists and sponsors with them."""
    from crawler.attachments import TitleTriage

    triage = TitleTriage()
    rows = {str(m["MatterId"]): m for m in portal.client(client).matter_rows()}
    return {
        sid
        for sid in portal_statuses(portal, client)
        if triage.needs_documents(rows[sid]["MatterTitle"], rows[sid]["MatterName"])
    }


def portal_statuses(portal: Portal, client: str) -> dict[str, str]:
    """What the portal shows now: MatterId -> status, for the matters a crawl can see."""
    rows = portal.client(client).matter_rows()
    return {str(r["MatterId"]): r["MatterStatusName"] for r in rows if not r.get("MatterRestrictViewViaWeb")}


def stored_statuses(engine, slug: str, *, include_vanished: bool = False) -> dict[str, str]:
    with session_scope(engine) as s:
        q = select(Bill.source_id, Bill.status).join(Jurisdiction).where(Jurisdiction.slug == slug)
        if not include_vanished:
            q = q.where(Bill.vanished_at.is_(None))
        return dict(s.execute(q).all())


def event_counts(engine) -> dict[str, int]:
    with session_scope(engine) as s:
        return dict(s.execute(select(StatusChange.kind, func.count()).group_by(StatusChange.kind)).all())


def store_fingerprint(engine) -> tuple:
    """Everything a crawl could write, except crawl-run records: to prove a crawl changed nothing."""
    with session_scope(engine) as s:
        bills = s.execute(
            select(
                Bill.id, Bill.source_id, Bill.status, Bill.content_hash, Bill.updated_at, Bill.vanished_at
            ).order_by(Bill.id)
        ).all()
        events = s.execute(
            select(StatusChange.id, StatusChange.bill_id, StatusChange.seq).order_by(StatusChange.id)
        ).all()
        return (tuple(bills), tuple(events))


def runs(engine, slug: str) -> list[CrawlRun]:
    with session_scope(engine) as s:
        return list(
            s.scalars(
                select(CrawlRun).join(Jurisdiction).where(Jurisdiction.slug == slug).order_by(CrawlRun.id)
            )
        )
