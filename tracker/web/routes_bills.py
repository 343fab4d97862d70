"""Web pages: one bill (``/bills/<id>``): its title, city, identifier, sponsors and stage, the
timeline of status changes and actions, its match and review history, and links to the council's page and
documents (http(s) links only). Any logged-in user; editors also get the review buttons."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, Response

from db.models import Bill
from db.types import utcnow
from tracker.digests import subscriptions as subs
from tracker.web import auth
from tracker.web.deps import DB, CurrentUser, RowId, redirect, render
from tracker.web.queries import one_bill, template_helpers

router = APIRouter()


@router.get("/bills/{bill_id}")
def bill_page(
    request: Request,
    bill_id: RowId,  # not a number, or past the INTEGER id columns: a 400, like /members/<id>
    db: DB,
    user: CurrentUser,
) -> HTMLResponse:
    detail = one_bill.bill_page(db, bill_id, utcnow())
    if detail is None:
        raise HTTPException(status_code=404, detail=f"No bill with id {bill_id}.")
    return render(
        request,
        "bill.html",
        h=template_helpers.HELPERS,
        d=detail,
        row=detail["row"],
        can_review=user.has_role("editor"),
        following=subs.following(db, user.email, detail["bill"].id) if user.email else None,
        next_url=f"/bills/{detail['bill'].id}",
    )


def _bill(db: DB, bill_id: int) -> Bill:
    bill = db.get(Bill, bill_id)
    if bill is None:
        raise HTTPException(status_code=404, detail=f"No bill with id {bill_id}.")
    return bill


@router.post("/bills/{bill_id}/follow")
def follow_bill(request: Request, bill_id: RowId, db: DB, user: CurrentUser) -> Response:
    """ "Notify me": a personal subscription to this bill's status changes (one per user and bill)."""
    bill = _bill(db, bill_id)
    back = f"/bills/{bill.id}"
    if not user.email:
        return redirect(back, auth.no_address_message(user), "error")
    existing = subs.following(db, user.email, bill.id)
    if existing is not None:
        return redirect(back, f"You already follow this bill (subscription {existing.id}).")
    spec = subs.SubscriptionSpec(email=user.email, bill_id=bill.id, frequency="immediate")
    try:
        sub = subs.add(db, spec, request.app.state.config, utcnow())
    except subs.SubscriptionError as exc:
        return redirect(back, f"{exc.on_form}.", "error")
    return redirect(back, f"You will be notified of this bill's status changes (subscription {sub.id}).")


@router.post("/bills/{bill_id}/unfollow")
def unfollow_bill(request: Request, bill_id: RowId, db: DB, user: CurrentUser) -> Response:
    bill = _bill(db, bill_id)
    back = f"/bills/{bill.id}"
    existing = subs.following(db, user.email, bill.id) if user.email else None
    if existing is None:
        return redirect(back, "You do not follow this bill.")
    subs.remove(db, existing, utcnow())
    return redirect(back, "You no longer follow this bill.")
