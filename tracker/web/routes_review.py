"""Web pages: the editors' review queue (``/review``, ``/review.csv``) and its decisions.

Each decision is one POST, made by the functions of :mod:`tracker.review` (which lock the match row, record
the decision and append the audit event), with the logged-in editor as the actor:

- ``POST /review/<id>/confirm``: confirm the match as it stands (``note`` optional);
- ``POST /review/<id>/reject``: reject it (``note`` optional);
- ``POST /review/<id>/correct``: confirm with corrected ``categories`` (one or more) and ``direction``
  (adds the bill when it was not in review: a bill the matcher missed);
- ``POST /review/<id>/note``: record a note on a bill in review (a ``noted`` event in the audit trail; a
  decision already taken stands).

With htmx (the ``HX-Request`` header) the answer is the bill's updated row, swapped in place; without
JavaScript the same forms post normally and get a 303 back to the page they came from (``next``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from db.models_review import BillMatch
from db.models_web import User
from tracker import review
from tracker.errors import TrackerError
from tracker.read_model import FilterError
from tracker.web.deps import DB, Editor, RowId, redirect, render, safe_next
from tracker.web.queries import lists, renderings, template_helpers
from tracker.web.queries.filters import QUEUE_STATES, Filters
from tracker.web.routes_search import csv_error, csv_response

router = APIRouter()


def _is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


@router.get("/review")
def review_page(request: Request, db: DB, _user: Editor) -> HTMLResponse:
    error: str | None
    try:
        filters = Filters.parse(request.query_params, states=QUEUE_STATES)
        page = lists.review_queue(db, filters)
    except FilterError as exc:
        filters, page, error, status = Filters(), None, str(exc), 400
    else:
        error, status = None, 200
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return render(
        request,
        "review.html",
        status_code=status,
        h=template_helpers.HELPERS,
        filters=filters,
        page=page,
        error=error,
        jurisdictions=lists.jurisdictions(db),
        states=QUEUE_STATES,
        next_url=here,
    )


@router.get("/review.csv")
def review_csv(request: Request, db: DB, _user: Editor) -> Response:
    try:
        rows = lists.export_rows(db, Filters.parse(request.query_params, states=QUEUE_STATES), queue=True)
    except FilterError as exc:
        return csv_error(exc)
    return csv_response(renderings.to_csv(rows, renderings.REVIEW_CSV_COLUMNS), "review.csv")


# -- decisions -------------------------------------------------------------------------------------------


def _decided(
    request: Request, db: Session, bill_id: int, next_url: str, message: str, *, error: bool = False
) -> Response:
    """The answer to a decision: the updated row for htmx, else a 303 back to the page it came from."""
    target = safe_next(next_url)
    if _is_htmx(request):
        row = lists.review_row(db, bill_id)
        if row is None:  # pragma: no cover - a bill is never deleted
            raise HTTPException(status_code=404, detail=f"No bill with id {bill_id}.")
        return render(
            request,
            "_review_row.html",
            status_code=400 if error else 200,
            h=template_helpers.HELPERS,
            row=row,
            next_url=target,
            message=message,
            error=error,
        )
    anchor = "" if target.startswith("/bills/") else f"#bill-{bill_id}"
    return redirect(target + anchor, message, "error" if error else "info")


def _decide(
    request: Request, db: Session, bill_id: int, next_url: str, action: Callable[[], review.Decision]
) -> Response:
    try:
        decision = action()
    except TrackerError as exc:  # a one-line error (unknown category, no categories...): nothing written
        db.rollback()
        words = exc.web if isinstance(exc, review.NoCategoriesError) else str(exc)  # the form's words
        return _decided(request, db, bill_id, next_url, f"Error: {words}", error=True)
    db.commit()
    return _decided(request, db, bill_id, next_url, decision.line())


def _require_bill(db: Session, bill_id: int) -> str:
    ref = str(bill_id)
    try:
        review.resolve_bill(db, ref)
    except review.ReviewError:
        raise HTTPException(status_code=404, detail=f"No bill with id {bill_id}.") from None
    return ref


Note = Annotated[str, Form()]
Next = Annotated[str, Form()]
# What the page showed of the bill's decision (review.decision_seen): a decision taken since is not replaced.
Seen = Annotated[str | None, Form(max_length=64)]


def _verdict(
    request: Request,
    db: Session,
    bill_id: int,
    user: User,
    note: str,
    next_url: str,
    seen: str | None,
    kind: str,
) -> Response:
    """Confirm the match as it stands, or reject it."""
    ref = _require_bill(db, bill_id)
    decide = review.confirm if kind == "confirm" else review.reject
    return _decide(
        request, db, bill_id, next_url, lambda: decide(db, ref, note=note, by=user.username, seen=seen)
    )


@router.post("/review/{bill_id}/confirm")
def confirm(
    request: Request,
    bill_id: RowId,
    db: DB,
    user: Editor,
    note: Note = "",
    next: Next = "/review",
    seen: Seen = None,
) -> Response:
    return _verdict(request, db, bill_id, user, note, next, seen, "confirm")


@router.post("/review/{bill_id}/reject")
def reject(
    request: Request,
    bill_id: RowId,
    db: DB,
    user: Editor,
    note: Note = "",
    next: Next = "/review",
    seen: Seen = None,
) -> Response:
    return _verdict(request, db, bill_id, user, note, next, seen, "reject")


@router.post("/review/{bill_id}/correct")
def correct(
    request: Request,
    bill_id: RowId,
    db: DB,
    user: Editor,
    categories: Annotated[list[str] | None, Form()] = None,
    direction: Annotated[str, Form()] = "",
    note: Note = "",
    next: Next = "/review",
    seen: Seen = None,
) -> Response:
    ref = _require_bill(db, bill_id)
    codes = [c for c in (categories or []) if c.strip()]

    def act() -> review.Decision:
        if not codes:
            raise review.ReviewError("choose at least one category to confirm")
        match = db.get(BillMatch, bill_id)
        fn = review.add if match is None or match.review_state is None else review.confirm
        return fn(
            db, ref, categories=codes, direction=direction or None, note=note, by=user.username, seen=seen
        )

    return _decide(request, db, bill_id, next, act)


@router.post("/review/{bill_id}/note")
def add_note(
    request: Request, bill_id: RowId, db: DB, user: Editor, note: Note = "", next: Next = "/review"
) -> Response:
    ref = _require_bill(db, bill_id)

    def act() -> review.Decision:
        return review.note(db, ref, note, by=user.username)

    return _decide(request, db, bill_id, next, act)
