"""``/admin`` (admins only): each jurisdiction's crawl health (``tracker status``'s report: last success,
last error, bills), held and failed digest deliveries with the release action (``tracker digest release``),
and the accounts."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from sqlalchemy import func, select

from db.models import Bill, CrawlRun, Jurisdiction
from db.types import utcnow
from tracker.digests.outbox import release
from tracker.errors import TrackerError
from tracker.health import evaluate
from tracker.web import auth
from tracker.web.deps import DB, Admin, RowId, redirect, render
from tracker.web.queries import template_helpers

router = APIRouter()


def _last_errors(db: DB) -> dict[str, CrawlRun]:
    """Each jurisdiction's most recent crawl that did not succeed."""
    newest = (
        select(CrawlRun.jurisdiction_id, func.max(CrawlRun.id).label("id"))
        .where(CrawlRun.status.not_in(("succeeded", "running")), CrawlRun.mode != "track")
        .group_by(CrawlRun.jurisdiction_id)
        .subquery()
    )
    rows = db.execute(
        select(Jurisdiction.slug, CrawlRun)
        .join(newest, newest.c.id == CrawlRun.id)
        .join(Jurisdiction, Jurisdiction.id == CrawlRun.jurisdiction_id)
    )
    return {slug: run for slug, run in rows}


@router.get("/admin")
def admin_page(request: Request, db: DB, user: Admin) -> Response:
    config = request.app.state.config
    report = evaluate(request.app.state.engine, config, utcnow())
    bills = dict(
        db.execute(
            select(Jurisdiction.slug, func.count(Bill.id)).outerjoin(Bill).group_by(Jurisdiction.slug)
        ).all()
    )
    names = dict(db.execute(select(Jurisdiction.slug, Jurisdiction.name)).all())
    errors = _last_errors(db)
    configured = {j.slug for j in report.jurisdictions}
    rows = [
        {
            "slug": j.slug,
            "name": j.name,
            "configured": True,
            "last_run": j.last_run,
            "last_success_at": j.last_success_at,
            "last_error": errors.get(j.slug),
            "failures_in_a_row": j.failures_in_a_row,
            "next_crawl_at": j.next_crawl_at,
            "bills": bills.get(j.slug, 0),
        }
        for j in report.jurisdictions
    ]
    rows += [
        {
            "slug": slug,
            "name": names[slug],
            "configured": False,
            "last_run": None,
            "last_success_at": None,
            "last_error": errors.get(slug),
            "failures_in_a_row": 0,
            "next_crawl_at": None,
            "bills": count,
        }
        for slug, count in sorted(bills.items())
        if slug not in configured
    ]
    return render(
        request,
        "admin.html",
        h=template_helpers.HELPERS,
        jurisdictions=rows,
        deliveries=report.deliveries,
        alerts=report.alerts,
        users=auth.list_users(db),
    )


@router.post("/admin/deliveries/{delivery_id}/release")
def admin_release(
    request: Request, user: Admin, delivery_id: RowId, mark_sent: Annotated[bool, Form()] = False
) -> Response:
    try:
        message = release(request.app.state.engine, delivery_id, utcnow(), mark_sent=mark_sent)
    except TrackerError as exc:
        return redirect("/admin", f"{exc}.", "error")
    return redirect("/admin", message)
