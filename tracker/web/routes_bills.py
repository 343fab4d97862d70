"""Web pages (issue 6): one bill (``/bills/<id>``): its title, city, identifier, sponsors and stage, the
timeline of status changes and actions, its match and review history, and links to the council's page and
documents (http(s) links only). Any logged-in user; editors also get the review buttons."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse

from tracker.safe_output import parse_id
from tracker.web import queries
from tracker.web.deps import DB, CurrentUser, render

router = APIRouter()


@router.get("/bills/{bill_id}")
def bill_page(
    request: Request,
    bill_id: str,
    db: DB,
    user: CurrentUser,
) -> HTMLResponse:
    found = parse_id(bill_id)  # ASCII digits within 64 bits; anything else names no bill
    detail = queries.bill_page(db, found) if found is not None else None
    if detail is None:
        raise HTTPException(status_code=404, detail=f"No bill with id {bill_id}.")
    return render(
        request,
        "bill.html",
        h=queries.HELPERS,
        d=detail,
        row=detail["row"],
        can_review=user.has_role("editor"),
        next_url=f"/bills/{detail['bill'].id}",
    )
