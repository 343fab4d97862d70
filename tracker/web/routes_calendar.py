"""Calendar feeds of hearings (iCalendar, RFC 5545; :mod:`tracker.digests.ical`), for calendar programs: no
session, a secret token in the URL is the credential, as for the Atom feeds.

- ``/calendar/subscriptions/<feed token>.ics``: the hearings of a subscription's measures. The token is the
  subscription's own random feed token (the one that names its Atom feed file), shown on the subscriptions
  page and by ``tracker subscriptions list``; a removed subscription's calendar is gone.
- ``/feeds/<feed token>/bills/<bill id>.ics``: the hearings of one bill, with the user's secret feed token
  (the one of ``/feeds/<token>.atom``: made on the subscriptions page, stored only as its SHA-256, replaced by
  making a new one).

A wrong, damaged or stopped token, an unknown bill or a bad id is a 404 (never a 500), and says nothing
about which part was wrong. Responses are ``text/calendar``, not cached by shared caches, and send no
referrer.
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response
from sqlalchemy import select

from db.models import Bill
from db.models_digest import Subscription
from db.types import utcnow
from tracker.digests.ical import bill_calendar, subscription_calendar
from tracker.digests.links import Links
from tracker.safe_output import parse_id
from tracker.web import auth
from tracker.web.deps import DB

router = APIRouter()

MAX_TOKEN = 100


def _not_found() -> HTTPException:
    return HTTPException(status_code=404, detail="No such calendar.")


def _ics(data: bytes, name: str) -> Response:
    return Response(
        data,
        media_type="text/calendar; charset=utf-8",
        headers={
            "Cache-Control": "private, max-age=300",
            "Referrer-Policy": "no-referrer",
            "Content-Disposition": f'inline; filename="{name}.ics"',
        },
    )


@router.get("/calendar/subscriptions/{token}.ics", name="subscription_calendar")
def subscription_ics(request: Request, db: DB, token: str) -> Response:
    if not token or len(token) > MAX_TOKEN:
        raise _not_found()
    sub = db.scalar(
        select(Subscription).where(Subscription.feed_token == token, Subscription.state != "removed")
    )
    if sub is None:
        raise _not_found()
    links = Links.of(request.app.state.config)
    return _ics(subscription_calendar(db, sub, utcnow(), links), f"hearings-{sub.id}")


@router.get("/feeds/{token}/bills/{bill_id}.ics", name="bill_calendar")
def bill_ics(request: Request, db: DB, token: str, bill_id: str) -> Response:
    if not token or len(token) > MAX_TOKEN:
        raise _not_found()
    user = auth.user_for_feed_token(db, token)
    number = parse_id(bill_id)
    if user is None or number is None:
        raise _not_found()
    bill = db.get(Bill, number)
    if bill is None:
        raise _not_found()
    links = Links.of(request.app.state.config)
    return _ics(bill_calendar(db, bill, utcnow(), links), f"hearings-bill-{bill.id}")
