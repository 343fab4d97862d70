"""``/subscriptions``: a user's digest subscriptions (those with their e-mail address; admins see every one)
and their secret Atom feed link; ``/feeds/<token>.atom``: that feed, for feed readers (no session: the
token is the credential).

A subscription is edited at ``/subscriptions/<id>/edit``; a form with an error is shown again with every
value entered. ``/unsubscribe/<token>`` is the one-click unsubscribe link of every digest
(:mod:`tracker.digests.links`): no session, the signed token is the credential; GET shows a confirmation
page, POST removes the subscription (RFC 8058: a mail client POSTs ``List-Unsubscribe=One-Click`` to it, so
it needs no CSRF token). A forged token is refused (400) and so is a used one: its subscription is already
removed (410).

The feed token is random, shown once when it is made, and stored only as its SHA-256; making a new one
stops the old link. The server does not log request paths (uvicorn's access log is off), so the token
never reaches a log.
"""

from __future__ import annotations

import zoneinfo
from functools import cache
from typing import Annotated, Any
from xml.etree import ElementTree as ET

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel
from sqlalchemy import Select, select

from db.models import Jurisdiction
from db.models_digest import Digest, Subscription
from db.models_meetings import Member
from db.models_web import User
from db.types import utcnow
from tracker.digests import subscriptions as subs
from tracker.digests.links import read_token
from tracker.digests.outbox import sub_info
from tracker.digests.periods import WEEKDAYS
from tracker.digests.render import ATOM_NS, FEED_ENTRIES, atom_feed
from tracker.labels import CATEGORY_LABELS, DIRECTION_LABELS
from tracker.safe_output import ascii_digits
from tracker.web import auth
from tracker.web.deps import DB, CurrentUser, RowId, redirect, render
from tracker.web.queries import template_helpers

router = APIRouter()


def _visible(user: User, show_all: bool = True) -> Select[Subscription]:
    q = select(Subscription).where(Subscription.state != "removed").order_by(Subscription.id)
    if user.has_role("admin") and show_all:
        return q
    return q.where(subs.of_address(user.email or ""))


def _own(db: DB, user: User, sub_id: int) -> Subscription:
    sub = db.scalar(_visible(user).where(Subscription.id == sub_id))
    if sub is None:
        raise HTTPException(status_code=404, detail=f"No subscription {sub_id} of yours.")
    return sub


COMMON_TIMEZONES = (
    "UTC",
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Phoenix",
    "America/Los_Angeles",
    "America/Anchorage",
    "Pacific/Honolulu",
    "America/Puerto_Rico",
    "Europe/London",
)


@cache
def _all_timezones() -> tuple[str, ...]:
    return tuple(sorted(zoneinfo.available_timezones()))


def timezone_choices(config: Any, entered: str = "") -> list[tuple[str, list[str]]]:
    """The time zone list: the one entered, the configured and the cities' zones and common ones first,
    then every zone."""
    first: list[str] = []
    zones = (entered, config.digests.timezone, *(j.timezone for j in config.jurisdictions), *COMMON_TIMEZONES)
    for tz in zones:
        if tz and tz not in first:
            first.append(tz)
    return [("Common", first), ("All time zones", [tz for tz in _all_timezones() if tz not in first])]


def _new_form(config: Any) -> dict[str, Any]:
    spec = subs.SubscriptionSpec(email="", timezone=config.digests.timezone)
    return _spec_form(spec)


def _spec_form(spec: subs.SubscriptionSpec) -> dict[str, Any]:
    return {
        "email": spec.email,
        "jurisdictions": list(spec.jurisdictions),
        "categories": list(spec.categories),
        "direction": spec.direction or "",
        "confirmed_only": spec.confirmed_only,
        "include_uncertain": spec.include_uncertain,
        "status_changes": spec.status_changes,
        "frequency": spec.frequency,
        "at_time": spec.at_time,
        "weekday": spec.weekday,
        "timezone": spec.timezone or "",
        "email_enabled": spec.email_enabled,
        "webhook_url": spec.webhook_url or "",
        "slack": spec.webhook_format == "slack",
        "search_text": spec.search_text or "",
        "member": "",
    }


def _member_form(db: DB, form: dict[str, Any], member_id: int | None) -> dict[str, Any]:
    """The form with the followed member's name (``SLUG:NAME``, which the form reads back)."""
    if member_id is not None:
        member = db.get(Member, member_id)
        if member is not None:
            slug = db.scalar(select(Jurisdiction.slug).where(Jurisdiction.id == member.jurisdiction_id))
            form["member"] = f"{slug}:{member.name}"
    return form


def _form_context(request: Request, user: User, form: dict[str, Any]) -> dict[str, Any]:
    config = request.app.state.config
    return {
        "form": form,
        "jurisdictions": [(j.slug, j.name) for j in config.jurisdictions],
        "categories": CATEGORY_LABELS,
        "directions": DIRECTION_LABELS,
        "weekdays": WEEKDAYS,
        "timezones": timezone_choices(config, str(form.get("timezone") or "")),
        "can_choose_email": user.has_role("admin"),
    }


def _page(request: Request, db: DB, user: User, *, status_code: int = 200, **extra: Any) -> Response:
    config = request.app.state.config
    now = utcnow()
    rows = [subs.describe(s, config, now) for s in db.scalars(_visible(user))]
    fresh = db.get(User, user.id)
    context: dict[str, Any] = {
        "subscriptions": rows,
        "h": template_helpers.HELPERS,
        "has_feed": bool(fresh and fresh.feed_token_hash),
        "feed_url": None,
        "bill_calendar_url": None,
        "error": None,
        **_form_context(request, user, extra.pop("form", None) or _new_form(config)),
    }
    context.update(extra)
    return render(request, "subscriptions.html", status_code=status_code, **context)


def _follow_member_form(request: Request, db: DB) -> dict[str, Any] | None:
    """The form pre-filled from a member page's "Follow" link (``?member=<id>``); anything else: None."""
    ref = request.query_params.get("member", "")
    if not ascii_digits(ref) or len(ref) > 9:
        return None
    form = _member_form(db, _new_form(request.app.state.config), int(ref))
    return form if form["member"] else None


def _saved_search_form(request: Request) -> dict[str, Any] | None:
    """The form pre-filled from the search page's "Save this search as an alert" link (``?q=`` and the
    search's city, category and direction; values the subscription cannot take are left out)."""
    params = request.query_params
    if not params.get("q"):
        return None
    from tracker.matcher.rules import CATEGORY_CODES, DIRECTIONS
    from tracker.read_model import FilterError, check_search_text

    config = request.app.state.config
    try:
        words = check_search_text(params.get("q", ""))
    except FilterError:
        return None
    form = _new_form(config)
    form["search_text"] = words
    form["confirmed_only"] = False  # a saved search is not limited to sanctuary matches
    if params.get("jurisdiction") in {j.slug for j in config.jurisdictions}:
        form["jurisdictions"] = [params["jurisdiction"]]
    if params.get("category") in CATEGORY_CODES:
        form["categories"] = [params["category"]]
    if params.get("direction") in DIRECTIONS:
        form["direction"] = params["direction"]
    return form


@router.get("/subscriptions")
def subscriptions_page(request: Request, db: DB, user: CurrentUser) -> Response:
    return _page(request, db, user, form=_saved_search_form(request) or _follow_member_form(request, db))


class SubscriptionForm(BaseModel):
    """The add and edit forms' fields (an unticked checkbox is absent: False)."""

    email: str = ""
    jurisdictions: list[str] = []
    categories: list[str] = []
    direction: str = ""
    confirmed_only: bool = False
    include_uncertain: bool = False
    status_changes: bool = False
    frequency: str = "daily"
    at_time: str = "08:00"
    weekday: str = "mon"
    timezone: str = ""
    webhook_url: str = ""
    slack: bool = False
    email_enabled: bool = False
    search_text: str = ""
    member: str = ""

    def spec(self, email: str) -> subs.SubscriptionSpec:
        return subs.SubscriptionSpec(
            email=email.strip(),
            jurisdictions=self.jurisdictions,
            categories=self.categories,
            direction=self.direction or None,
            confirmed_only=self.confirmed_only,
            include_uncertain=self.include_uncertain,
            status_changes=self.status_changes,
            frequency=self.frequency,
            at_time=self.at_time,
            weekday=self.weekday,
            timezone=self.timezone.strip() or None,
            email_enabled=self.email_enabled,
            webhook_url=self.webhook_url.strip() or None,
            webhook_format="slack" if self.slack else "json",
            search_text=self.search_text.strip() or None,
        )

    def entered(self, spec: subs.SubscriptionSpec) -> dict[str, Any]:
        """What the person entered, to show again after an error."""
        return {**_spec_form(spec), "email": self.email, "timezone": self.timezone, "member": self.member}

    def follow_member(self, db: DB, spec: subs.SubscriptionSpec) -> None:
        """The member named in the form (name, ``SLUG:NAME`` or id), or none; an unknown one is an error."""
        ref = self.member.strip()
        spec.member_id = subs.resolve_member(db, ref).id if ref else None


@router.post("/subscriptions")
def subscriptions_add(
    request: Request, db: DB, user: CurrentUser, fields: Annotated[SubscriptionForm, Form()]
) -> Response:
    email = fields.email
    if not user.has_role("admin") or not email.strip():
        email = user.email or ""
    spec = fields.spec(email)
    form = fields.entered(spec)
    if not email:
        return _page(
            request, db, user, status_code=400, form=form,
            error=auth.no_address_message(user),
        )  # fmt: skip
    try:
        fields.follow_member(db, spec)
        sub = subs.add(db, spec, request.app.state.config, utcnow())
    except subs.SubscriptionError as exc:
        return _page(request, db, user, status_code=400, error=f"{exc.on_form}.", form=form)
    return redirect("/subscriptions", f"Subscription {sub.id} added ({subs.schedule_text(sub)}).")


def _edit_page(
    request: Request, user: User, sub: Subscription, form: dict[str, Any], *, status_code: int = 200,
    error: str | None = None,
) -> Response:  # fmt: skip
    return render(
        request,
        "subscription_edit.html",
        status_code=status_code,
        sub_id=sub.id,
        sub_email=sub.email,
        error=error,
        **_form_context(request, user, form),
    )


@router.get("/subscriptions/{sub_id}/edit")
def subscription_edit_page(request: Request, db: DB, user: CurrentUser, sub_id: RowId) -> Response:
    sub = _own(db, user, sub_id)
    return _edit_page(request, user, sub, _member_form(db, _spec_form(subs.spec_of(sub)), sub.member_id))


@router.post("/subscriptions/{sub_id}/edit")
def subscription_edit(
    request: Request, db: DB, user: CurrentUser, sub_id: RowId, fields: Annotated[SubscriptionForm, Form()]
) -> Response:
    sub = _own(db, user, sub_id)
    email = fields.email
    if not user.has_role("admin") or not email.strip():
        email = sub.email  # only an admin moves a subscription to another address
    spec = fields.spec(email)
    spec.bill_id = sub.bill_id  # a followed bill stays followed
    form = fields.entered(spec)
    try:
        fields.follow_member(db, spec)
        message = subs.edit(db, sub, spec, request.app.state.config, utcnow())
    except subs.SubscriptionError as exc:
        return _edit_page(request, user, sub, form, status_code=400, error=f"{exc.on_form}.")
    return redirect("/subscriptions", message)


@router.post("/subscriptions/{sub_id}/{action}")
def subscriptions_action(request: Request, db: DB, user: CurrentUser, sub_id: RowId, action: str) -> Response:
    if action not in ("pause", "resume", "remove"):
        raise HTTPException(status_code=404, detail="Not found.")
    sub = _own(db, user, sub_id)
    message = getattr(subs, action)(db, sub, utcnow())
    return redirect("/subscriptions", message)


def _unsubscribe_target(request: Request, db: DB, token: str) -> tuple[Subscription | None, Response | None]:
    secret = request.app.state.config.digests.secret()
    if not secret:  # the link may be genuine: this server cannot check it (no $TRACKER_SECRET_KEY)
        page = render(
            request, "unsubscribe.html", status_code=503, state="unconfigured", sub=None, token=token
        )
        return None, page
    sub_id = read_token(secret, token)
    sub = db.get(Subscription, sub_id) if sub_id is not None else None
    if sub is None:
        page = render(request, "unsubscribe.html", status_code=400, state="invalid", sub=None, token=token)
        return None, page
    if sub.state == "removed":
        page = render(request, "unsubscribe.html", status_code=410, state="used", sub=sub, token=token)
        return None, page
    return sub, None


def _no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@router.get("/unsubscribe/{token}", response_class=HTMLResponse)
def unsubscribe_page(request: Request, db: DB, token: str) -> Response:
    """The confirmation page of a digest's unsubscribe link (no login: the signed token is the credential)."""
    sub, refused = _unsubscribe_target(request, db, token)
    if refused is not None:
        return _no_store(refused)
    return _no_store(render(request, "unsubscribe.html", state="confirm", sub=sub, token=token))


@router.post("/unsubscribe/{token}", response_class=HTMLResponse)
def unsubscribe(request: Request, db: DB, token: str) -> Response:
    """Remove the subscription: the confirmation form's button, or a mail client's RFC 8058 one-click POST."""
    sub, refused = _unsubscribe_target(request, db, token)
    if refused is not None:
        return _no_store(refused)
    assert sub is not None
    subs.remove(db, sub, utcnow())
    return _no_store(render(request, "unsubscribe.html", state="done", sub=sub, token=token))


@router.post("/subscriptions/feed-token")
def feed_token(request: Request, db: DB, user: CurrentUser) -> Response:
    """A new secret feed link (the old one stops working); shown on this page only."""
    fresh = db.get(User, user.id)
    assert fresh is not None
    token = auth.new_feed_token(fresh, utcnow())
    url = str(request.url_for("user_feed", token=token))
    # one bill's hearings calendar with the same token (tracker.web.routes_calendar): BILL-ID is a placeholder
    calendar = str(request.url_for("bill_calendar", token=token, bill_id="BILL-ID"))
    return _page(request, db, user, feed_url=url, bill_calendar_url=calendar, has_feed=True)


def _own_xml(data: bytes) -> ET.Element:
    # Our own output, serialised by ElementTree a moment ago: no DTD, no entities to expand.
    return ET.fromstring(data)  # noqa: S314


def user_feed_xml(db: DB, user: User, self_url: str | None) -> bytes:
    """One Atom feed of the digests of all the user's subscriptions (entries rendered by the digests'
    own Atom code, one subscription at a time, then merged newest first)."""
    header = {
        "feed_token": f"user:{user.id}",  # the feed's id: stable when the secret token changes
        "email": user.email or user.username,
        "created_at": user.created_at,
    }
    feed = _own_xml(atom_feed(header, [], self_url))
    entries: list[ET.Element] = []
    if user.email:
        for sub in db.scalars(select(Subscription).where(subs.of_address(user.email))):
            digests = list(db.scalars(select(Digest).where(Digest.subscription_id == sub.id)))
            if digests:
                entries += _own_xml(atom_feed(sub_info(sub), digests)).findall(f"{{{ATOM_NS}}}entry")
    entries.sort(key=lambda e: e.findtext(f"{{{ATOM_NS}}}updated") or "", reverse=True)
    entries = entries[:FEED_ENTRIES]
    if entries:
        updated = feed.find(f"{{{ATOM_NS}}}updated")
        assert updated is not None
        updated.text = entries[0].findtext(f"{{{ATOM_NS}}}updated")
    feed.extend(entries)
    ET.register_namespace("", ATOM_NS)
    ET.indent(feed)
    xml: bytes = ET.tostring(feed, encoding="utf-8", xml_declaration=True)
    return xml + b"\n"


@router.get("/feeds/{token}.atom", name="user_feed")
def user_feed(request: Request, db: DB, token: str) -> Response:
    user = auth.user_for_feed_token(db, token)
    if user is None:
        raise HTTPException(status_code=404, detail="No such feed.")
    self_url = str(request.url_for("user_feed", token=token))
    return Response(
        user_feed_xml(db, user, self_url),
        media_type="application/atom+xml",
        headers={"Cache-Control": "private, max-age=300", "Referrer-Policy": "no-referrer"},
    )
