"""Web pages: the dashboard (``/``), search and lists of bills (``/search``), the living list of
confirmed measures (``/living-list``), and their CSV (and Markdown) exports. Any logged-in user (staff and
up). The queries are in :mod:`tracker.web.queries`."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from db.types import utcnow
from tracker.read_model import FilterError, plan_text_search
from tracker.web.deps import DB, CurrentUser, render
from tracker.web.queries import lists, living, one_bill, recent, renderings, template_helpers
from tracker.web.queries.filters import Filters

router = APIRouter()
DASHBOARD_ROWS = 50


def csv_response(text: str, filename: str) -> Response:
    return Response(
        text,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def city_param(request: Request) -> str | None:
    """The ``?jurisdiction=SLUG`` of the pages with a city filter (None: every city)."""
    return (request.query_params.get("jurisdiction") or "").strip() or None


def error_page(request: Request, exc: FilterError) -> HTMLResponse:
    return render(request, "error.html", status_code=400, message=str(exc))


def csv_error(exc: FilterError) -> Response:
    return Response(f"Error: {exc}\n", status_code=400, media_type="text/plain; charset=utf-8")


def _page_context(db: Session, filters: Filters, **extra: Any) -> dict[str, Any]:
    return {
        "h": template_helpers.HELPERS,
        "filters": filters,
        "jurisdictions": lists.jurisdictions(db),
        **extra,
    }


# -- the dashboard ---------------------------------------------------------------------------------------


@router.get("/")
def dashboard(request: Request, db: DB, user: CurrentUser) -> HTMLResponse:
    since, now = recent.dashboard_window()
    matches, matches_total = recent.new_matches(db, since, now, limit=DASHBOARD_ROWS)
    changes, changes_total = recent.recent_status_changes(db, since, now, limit=DASHBOARD_ROWS)
    open_reviews = one_bill.open_reviews(db) if user.has_role("editor") else None
    return render(
        request,
        "dashboard.html",
        h=template_helpers.HELPERS,
        since=since,
        now=now,
        matches=matches,
        matches_total=matches_total,
        changes=changes,
        changes_total=changes_total,
        open_reviews=open_reviews,
    )


@router.get("/dashboard/new-matches.csv")
def dashboard_matches_csv(db: DB, _user: CurrentUser) -> Response:
    since, now = recent.dashboard_window()
    rows, _ = recent.new_matches(db, since, now)
    return csv_response(renderings.to_csv(rows, renderings.BILL_CSV_COLUMNS), "new-matches.csv")


@router.get("/dashboard/status-changes.csv")
def dashboard_changes_csv(db: DB, _user: CurrentUser) -> Response:
    since, now = recent.dashboard_window()
    rows, _ = recent.recent_status_changes(db, since, now)
    return csv_response(renderings.to_csv(rows, renderings.CHANGE_CSV_COLUMNS), "status-changes.csv")


# -- search ----------------------------------------------------------------------------------------------


@router.get("/search")
def search(request: Request, db: DB, _user: CurrentUser) -> HTMLResponse:
    try:
        filters = Filters.parse(request.query_params)
        if filters.q:
            plan_text_search(db)
        page = lists.search_bills(db, filters)
    except FilterError as exc:
        return render(
            request,
            "search.html",
            status_code=400,
            error=str(exc),
            page=None,
            **_page_context(db, Filters(q=" ".join((request.query_params.get("q") or "").split()))),
        )
    return render(request, "search.html", error=None, page=page, **_page_context(db, filters))


@router.get("/search.csv")
def search_csv(request: Request, db: DB, _user: CurrentUser) -> Response:
    try:
        filters = Filters.parse(request.query_params)
        if filters.q:
            plan_text_search(db)
        rows = lists.export_rows(db, filters)
    except FilterError as exc:
        return csv_error(exc)
    return csv_response(renderings.to_csv(rows, renderings.BILL_CSV_COLUMNS), "bills.csv")


# -- the living list -------------------------------------------------------------------------------------


def _living(request: Request, db: Session) -> tuple[str | None, list[living.LivingGroup]]:
    slug = city_param(request)
    return slug, living.living_list(db, jurisdiction=slug)


@router.get("/living-list")
def living_list(request: Request, db: DB, _user: CurrentUser) -> HTMLResponse:
    try:
        slug, groups = _living(request, db)
    except FilterError as exc:
        return error_page(request, exc)
    return render(
        request,
        "living_list.html",
        h=template_helpers.HELPERS,
        groups=groups,
        jurisdiction=slug,
        jurisdictions=lists.jurisdictions(db),
        total=sum(g.count for g in groups),
        query="?" + urlencode({"jurisdiction": slug}) if slug else "",
    )


@router.get("/living-list.csv")
def living_list_csv(request: Request, db: DB, _user: CurrentUser) -> Response:
    try:
        _, groups = _living(request, db)
    except FilterError as exc:
        return csv_error(exc)
    rows = [row for g in groups for _, rows in g.directions for row in rows]
    return csv_response(renderings.to_csv(rows, renderings.LIVING_CSV_COLUMNS), "living-list.csv")


@router.get("/living-list.md")
def living_list_md(request: Request, db: DB, _user: CurrentUser) -> Response:
    try:
        _, groups = _living(request, db)
    except FilterError as exc:
        return csv_error(exc)
    return Response(
        renderings.living_list_markdown(groups, generated=utcnow()),
        media_type="text/markdown; charset=utf-8",
        headers={"Content-Disposition": 'inline; filename="living-list.md"'},
    )
