"""Web pages: council members (``/members``, by city; ``?jurisdiction=SLUG`` for one) and one member
(``/members/<id>``): their bodies and terms, the sanctuary-related measures they sponsored and how they voted
on such measures, by direction; and the upcoming hearings of sanctuary-related measures (``/hearings``,
``?days=N`` and ``?jurisdiction=SLUG``). Any logged-in user. The queries are in
:mod:`tracker.web.queries.meetings`."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse

from db.types import utcnow
from tracker.read_model import FilterError
from tracker.web.deps import DB, CurrentUser, RowId, render
from tracker.web.queries import lists, meetings, template_helpers
from tracker.web.routes_search import city_param, error_page

router = APIRouter()


@router.get("/members")
def members(request: Request, db: DB, _user: CurrentUser) -> HTMLResponse:
    slug = city_param(request)
    try:
        groups = meetings.members_list(db, utcnow().date(), jurisdiction=slug)
    except FilterError as exc:
        return error_page(request, exc)
    return render(
        request,
        "members.html",
        h=template_helpers.HELPERS,
        groups=groups,
        jurisdiction=slug,
        jurisdictions=lists.jurisdictions(db),
        total=sum(len(g.members) for g in groups),
    )


@router.get("/members/{member_id}")
def member(request: Request, member_id: RowId, db: DB, _user: CurrentUser) -> HTMLResponse:
    detail = meetings.member_page(db, member_id, utcnow().date())
    if detail is None:
        raise HTTPException(status_code=404, detail=f"No member with id {member_id}.")
    return render(request, "member.html", h=template_helpers.HELPERS, d=detail)


@router.get("/hearings")
def hearings(request: Request, db: DB, _user: CurrentUser) -> HTMLResponse:
    slug = city_param(request)
    days_text = request.query_params.get("days")
    try:
        days, found = meetings.upcoming_hearings(db, utcnow(), days_text, jurisdiction=slug)
    except FilterError as exc:
        return error_page(request, exc)
    return render(
        request,
        "hearings.html",
        h=template_helpers.HELPERS,
        hearings=found,
        days=days,
        max_days=meetings.HEARINGS_MAX_DAYS,
        jurisdiction=slug,
        jurisdictions=lists.jurisdictions(db),
        measures=len({m["id"] for hearing in found for m in hearing["measures"]}),
    )
