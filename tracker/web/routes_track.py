"""Track by link in the web app: a staff member pastes a bill's public URL from a configured
portal; the tracker fetches that bill now (tracker/track.py: a track crawl in a child process), puts it in
the review queue, and follows it from then on. Any logged-in user."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, Response

from tracker.errors import TrackerError
from tracker.track import TrackBusy, track_bill, track_url
from tracker.web.deps import DB, CurrentUser, RowId, redirect, render

router = APIRouter()


@router.get("/track")
def track_form(request: Request, user: CurrentUser) -> HTMLResponse:
    config = request.app.state.config
    return render(request, "track.html", url="", error=None, jurisdictions=config.jurisdictions)


@router.post("/track")
async def track_post(
    request: Request, user: CurrentUser, url: Annotated[str, Form(max_length=2000)] = ""
) -> Response:
    config = request.app.state.config
    engine = request.app.state.engine
    try:
        # a few requests to the portal, in a child process: off the event loop
        result = await run_in_threadpool(track_url, config, engine, url, by=user.username)
    except TrackerError as exc:
        response = render(
            request,
            "track.html",
            status_code=503 if isinstance(exc, TrackBusy) else 400,
            url=url,
            error=str(exc),
            jurisdictions=config.jurisdictions,
        )
        if isinstance(exc, TrackBusy):
            response.headers["Retry-After"] = "30"
        return response
    return redirect(f"/bills/{result.bill_id}", result.line())


@router.post("/bills/{bill_id}/track")
def track_stored_bill(bill_id: RowId, user: CurrentUser, db: DB) -> Response:
    """The bill page's Track button: a stored bill followed by every crawl from now on (any platform)."""
    try:
        result = track_bill(db, bill_id, by=user.username)
    except TrackerError as exc:
        return redirect("/search", str(exc), "error")
    return redirect(f"/bills/{bill_id}", result.line())
