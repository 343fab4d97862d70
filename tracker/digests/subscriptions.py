"""Subscriptions: who gets which digest, how often and where (``tracker subscriptions``; the web interface
uses the same functions)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy.orm import Session, object_session

from db.engine import rows_affected
from db.models import Bill, Jurisdiction
from db.models_digest import FREQUENCIES, Digest, DigestDelivery, Subscription
from db.models_meetings import Member
from tracker.config import Config, check_email
from tracker.config_fields import check_timezone
from tracker.digests.channels import check_webhook_url, redact_webhook
from tracker.digests.periods import WEEKDAYS, next_run, parse_at
from tracker.errors import TrackerError
from tracker.labels import category_label, direction_label
from tracker.matcher.rules import CATEGORY_CODES, DIRECTIONS
from tracker.safe_output import ascii_digits, parse_id


class SubscriptionError(TrackerError):
    """A subscription request that cannot be honoured (unknown city, category, bad time...).

    ``str(exc)`` is the command line's wording (it names the options, ``--at``, and the configuration
    file); ``on_form`` the web form's, which names neither options nor any of the server's paths."""

    def __init__(self, message: str, *, on_form: str | None = None) -> None:
        super().__init__(message)
        self.on_form = on_form if on_form is not None else message


class InvalidSubscription(SubscriptionError):
    """A subscription asked for with a value it cannot take (an unknown city or category, a malformed
    time, an empty search...): a usage error, exit status 2, like the values click refuses (``--weekday``)."""

    exit_code = 2


@dataclass
class SubscriptionSpec:
    email: str
    jurisdictions: list[str] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)
    direction: str | None = None
    # Only measures an editor confirmed, unless the subscriber opts into unreviewed matches (each is then
    # marked "not yet reviewed" in the digest).
    confirmed_only: bool = True
    include_uncertain: bool = False
    status_changes: bool = True
    frequency: str = "daily"
    at_time: str = "08:00"
    weekday: str = "mon"
    timezone: str | None = None
    email_enabled: bool = True
    webhook_url: str | None = None
    webhook_format: str = "json"
    # A saved search: only bills containing these words (the web search's matching), sanctuary-matched or
    # not. A followed bill: that bill's status changes only.
    search_text: str | None = None
    bill_id: int | None = None
    # A followed council member: their new sponsorships of sanctuary measures and their votes on them.
    member_id: int | None = None


def _search_text(text: str | None) -> str | None:
    from tracker.read_model import FilterError, check_search_text

    try:
        checked = check_search_text(text or "")
    except FilterError as exc:
        raise InvalidSubscription(str(exc)) from None
    return checked or None


def validate(spec: SubscriptionSpec, config: Config) -> SubscriptionSpec:
    try:
        check_email(spec.email)
    except ValueError as exc:
        raise InvalidSubscription(str(exc)) from None
    known = {j.slug for j in config.jurisdictions}
    for slug in spec.jurisdictions:
        if slug not in known:
            listed = f"(known: {', '.join(sorted(known)) or 'none'})"
            raise InvalidSubscription(
                f"no jurisdiction {slug!r} in {config.source} {listed}",
                on_form=f"no jurisdiction {slug!r} {listed}",
            )
    for code in spec.categories:
        if code not in CATEGORY_CODES:
            raise InvalidSubscription(f"unknown category {code!r} (one of: {', '.join(CATEGORY_CODES)})")
    if spec.direction is not None and spec.direction not in DIRECTIONS:
        raise InvalidSubscription(f"unknown direction {spec.direction!r} (one of: {', '.join(DIRECTIONS)})")
    if spec.confirmed_only and spec.include_uncertain:  # uncertain matches are ones no editor confirmed
        raise InvalidSubscription(
            "--include-uncertain adds matches no editor has confirmed: it cannot go with --confirmed-only",
            on_form="uncertain matches are ones no editor has reviewed: to get them, untick "
            "'Only measures an editor confirmed'",
        )
    if spec.frequency not in FREQUENCIES:
        raise InvalidSubscription(f"unknown frequency {spec.frequency!r} (one of: {', '.join(FREQUENCIES)})")
    try:
        at = parse_at(spec.at_time)
    except ValueError as exc:
        raise InvalidSubscription(
            str(exc), on_form=f"the time must be HH:MM, 24-hour, not {spec.at_time[:40]!r}"
        ) from None
    if spec.weekday not in WEEKDAYS:
        raise InvalidSubscription(
            f"--weekday must be one of {', '.join(WEEKDAYS)}, got {spec.weekday!r}",
            on_form=f"the weekday must be one of {', '.join(WEEKDAYS)}, not {spec.weekday[:40]!r}",
        )
    tz = spec.timezone or config.digests.timezone
    try:
        check_timezone(tz)
    except ValueError as exc:
        raise InvalidSubscription(str(exc)) from None
    webhook_url = None
    if spec.webhook_url is not None:
        try:
            webhook_url = check_webhook_url(spec.webhook_url, config.digests.webhook_private_hosts)
        except ValueError as exc:
            raise InvalidSubscription(str(exc)) from None
    if spec.webhook_format not in ("json", "slack"):
        raise InvalidSubscription(f"unknown webhook format {spec.webhook_format!r}")
    if spec.webhook_format == "slack" and webhook_url is None:
        raise InvalidSubscription(
            "--slack needs a webhook (--webhook URL)",
            on_form="a Slack webhook needs its URL: give the webhook URL",
        )
    if spec.search_text is not None and "\ufffd" in spec.search_text:
        # what a form or argument that was not UTF-8 decodes to: a search for nothing anyone typed
        raise InvalidSubscription("the search is not valid text (it is not UTF-8)")
    search_text = _search_text(spec.search_text)
    if spec.search_text is not None and search_text is None:
        raise InvalidSubscription("the search has no words")
    if spec.bill_id is not None and search_text is not None:
        raise InvalidSubscription("a subscription follows one bill or saves a search, not both")
    if spec.member_id is not None and (spec.bill_id is not None or search_text is not None):
        raise InvalidSubscription("a subscription follows a member, a bill or a saved search: one of them")
    return SubscriptionSpec(
        **{
            **spec.__dict__,
            "jurisdictions": sorted(set(spec.jurisdictions)),
            "categories": sorted(set(spec.categories)),
            "at_time": f"{at.hour:02d}:{at.minute:02d}",
            "timezone": tz,
            "webhook_url": webhook_url,
            "search_text": search_text,
            # a followed bill is followed for its status changes
            "status_changes": True if spec.bill_id is not None else spec.status_changes,
        }
    )


def _check_bill(session: Session, bill_id: int | None) -> None:
    if bill_id is not None and session.get(Bill, bill_id) is None:
        raise SubscriptionError(f"no bill with id {bill_id}")


def _check_member(session: Session, member_id: int | None) -> None:
    if member_id is not None and session.get(Member, member_id) is None:
        raise SubscriptionError(f"no council member with id {member_id}")


def resolve_member(session: Session, ref: str) -> Member:
    """A council member from their id (``12``), their name (``Jane Doe``: any spelling
    :func:`tracker.contract.name_key` reads the same) or ``SLUG:NAME`` when several cities have that name."""
    from tracker.contract import name_key

    ref = ref.strip()
    if not ref:
        raise SubscriptionError("--member needs a council member's name or id")
    if ascii_digits(ref):
        member_id = parse_id(ref)
        by_id = session.get(Member, member_id) if member_id is not None else None
        if by_id is None:
            raise SubscriptionError(f"no council member with id {ref}")
        return by_id
    slug, sep, name = ref.partition(":")
    q = select(Member, Jurisdiction).join(Jurisdiction, Member.jurisdiction_id == Jurisdiction.id)
    if sep and slug and name and " " not in slug:
        q = q.where(Jurisdiction.slug == slug)
    else:
        name = ref
    key = name_key(name)
    rows = session.execute(q.where(Member.name_key == key).order_by(Jurisdiction.slug, Member.id)).all()
    if not rows:
        raise SubscriptionError(
            f"no council member named {name!r} (members are read from the portals' rosters and roll calls: "
            "see the members pages, or give a member's id)"
        )
    if len(rows) > 1:
        names = ", ".join(f"{j.slug}:{m.name} (id {m.id})" for m, j in rows)
        raise SubscriptionError(f"{name!r} names {len(rows)} council members: {names}; give one of them")
    found: Member = rows[0][0]
    return found


def member_name_key(session: Session, sub: Subscription) -> tuple[int, str] | None:
    """A followed member's city and name key (how sponsors are matched), or None."""
    if sub.member_id is None:
        return None
    member = session.get(Member, sub.member_id)
    return (member.jurisdiction_id, member.name_key) if member is not None else None


def of_address(email: str) -> ColumnElement[bool]:
    """Subscriptions with this address, in any case (``Ana@Example.org`` is ``ana@example.org``): stored
    addresses keep the case they were given, so both sides are lowered."""
    return func.lower(Subscription.email) == func.lower(email)


def following(session: Session, email: str, bill_id: int) -> Subscription | None:
    """The subscription of ``email`` that follows the bill (not removed), if any."""
    return session.scalar(
        select(Subscription)
        .where(of_address(email), Subscription.bill_id == bill_id, Subscription.state != "removed")
        .order_by(Subscription.id)
        .limit(1)
    )


def add(session: Session, spec: SubscriptionSpec, config: Config, now: datetime) -> Subscription:
    spec = validate(spec, config)
    _check_bill(session, spec.bill_id)
    _check_member(session, spec.member_id)
    sub = Subscription(
        email=spec.email,
        jurisdictions=spec.jurisdictions,
        categories=spec.categories,
        direction=spec.direction,
        confirmed_only=spec.confirmed_only,
        include_uncertain=spec.include_uncertain,
        status_changes=spec.status_changes,
        frequency=spec.frequency,
        at_time=spec.at_time,
        weekday=WEEKDAYS.index(spec.weekday),
        timezone=spec.timezone or config.digests.timezone,
        email_enabled=spec.email_enabled,
        webhook_url=spec.webhook_url,
        webhook_format=spec.webhook_format,
        search_text=spec.search_text,
        bill_id=spec.bill_id,
        member_id=spec.member_id,
        feed_token=secrets.token_urlsafe(24),
        state="active",
        starts_at=now,
        created_at=now,
        updated_at=now,
    )
    session.add(sub)
    session.flush()
    return sub


def spec_of(sub: Subscription) -> SubscriptionSpec:
    """A subscription's settings as a spec (the starting point of an edit)."""
    return SubscriptionSpec(
        email=sub.email,
        jurisdictions=list(sub.jurisdictions),
        categories=list(sub.categories),
        direction=sub.direction,
        confirmed_only=sub.confirmed_only,
        include_uncertain=sub.include_uncertain,
        status_changes=sub.status_changes,
        frequency=sub.frequency,
        at_time=sub.at_time,
        weekday=WEEKDAYS[sub.weekday],
        timezone=sub.timezone,
        email_enabled=sub.email_enabled,
        webhook_url=sub.webhook_url,
        webhook_format=sub.webhook_format,
        search_text=sub.search_text,
        bill_id=sub.bill_id,
        member_id=sub.member_id,
    )


def edit(session: Session, sub: Subscription, spec: SubscriptionSpec, config: Config, now: datetime) -> str:
    """Change a subscription's settings (validated first: nothing changes on an error). What it already
    received stays received; the new filters apply from its next digest."""
    if sub.state == "removed":
        raise SubscriptionError(f"subscription {sub.id} is removed")
    spec = validate(spec, config)
    _check_bill(session, spec.bill_id)
    _check_member(session, spec.member_id)
    sub.email = spec.email
    sub.jurisdictions = spec.jurisdictions
    sub.categories = spec.categories
    sub.direction = spec.direction
    sub.confirmed_only = spec.confirmed_only
    sub.include_uncertain = spec.include_uncertain
    sub.status_changes = spec.status_changes
    sub.frequency = spec.frequency
    sub.at_time = spec.at_time
    sub.weekday = WEEKDAYS.index(spec.weekday)
    sub.timezone = spec.timezone or config.digests.timezone
    sub.email_enabled = spec.email_enabled
    sub.webhook_url = spec.webhook_url
    sub.webhook_format = spec.webhook_format
    sub.search_text = spec.search_text
    sub.bill_id = spec.bill_id
    sub.member_id = spec.member_id
    sub.updated_at = now
    session.flush()
    return f"Subscription {sub.id} ({sub.email}) updated: {schedule_text(sub)}, {filters_text(sub, config)}."


def find(session: Session, ref: str) -> Subscription:
    """A subscription by id, or by e-mail address (in any case) when that address has exactly one."""
    if ascii_digits(ref.strip()):
        sub_id = parse_id(ref)
        sub = session.get(Subscription, sub_id) if sub_id is not None else None
        if sub is None:
            raise SubscriptionError(f"no subscription {ref} (see `tracker subscriptions list`)")
        if sub.state == "removed":
            raise SubscriptionError(
                f"subscription {sub.id} ({sub.email}) was removed; add a new one to subscribe again"
            )
        return sub
    subs = list(
        session.scalars(
            select(Subscription)
            .where(of_address(ref), Subscription.state != "removed")
            .order_by(Subscription.id)
        )
    )
    if not subs:
        raise SubscriptionError(f"no subscription for {ref!r} (see `tracker subscriptions list`)")
    if len(subs) > 1:
        ids = ", ".join(str(s.id) for s in subs)
        raise SubscriptionError(f"{ref} has several subscriptions ({ids}): name one by its id")
    return subs[0]


def pause(session: Session, sub: Subscription, now: datetime) -> str:
    if sub.state == "paused":
        return f"Subscription {sub.id} is already paused."
    sub.state, sub.updated_at = "paused", now
    sub.paused_at, sub.resumed_at = now, None
    return f"Subscription {sub.id} ({sub.email}) paused."


def resume(session: Session, sub: Subscription, now: datetime, *, catch_up: bool = False) -> str:
    if sub.state == "active":
        return f"Subscription {sub.id} is already active."
    sub.state, sub.updated_at = "active", now
    if catch_up:
        sub.paused_at = sub.resumed_at = None  # everything since the subscription started
    elif sub.paused_at is not None:
        # What happened while paused is not announced (--catch-up announces it); what came before the pause
        # and no digest carried yet still is.
        sub.resumed_at = now
    else:  # paused before its pauses were recorded (migration 0018): from now on, as then
        sub.starts_at = now
    return f"Subscription {sub.id} ({sub.email}) resumed."


def remove(session: Session, sub: Subscription, now: datetime) -> str:
    """Remove a subscription: no more digests; deliveries not sent yet are cancelled. Its history stays."""
    sub.state, sub.updated_at = "removed", now
    digest_ids = select(Digest.id).where(Digest.subscription_id == sub.id)
    cancelled = rows_affected(
        session,
        update(DigestDelivery)
        .where(DigestDelivery.digest_id.in_(digest_ids), DigestDelivery.status.in_(("pending", "retry")))
        .values(status="cancelled", last_error="subscription removed"),
    )
    extra = f"; {cancelled} unsent deliver{'y' if cancelled == 1 else 'ies'} cancelled" if cancelled else ""
    return f"Subscription {sub.id} ({sub.email}) removed{extra}."


def schedule_text(sub: Subscription) -> str:
    if sub.frequency == "immediate":
        return "immediate"
    if sub.frequency == "weekly":
        return f"weekly {WEEKDAYS[sub.weekday]} {sub.at_time} {sub.timezone}"
    return f"daily {sub.at_time} {sub.timezone}"


def channels_text(sub: Subscription) -> str:
    out = []
    if sub.email_enabled:
        out.append("email")
    if sub.webhook_url:
        out.append(
            f"{'slack' if sub.webhook_format == 'slack' else 'webhook'} {redact_webhook(sub.webhook_url)}"
        )
    out.append("feed")
    return ", ".join(out)


def upcoming_run(sub: Subscription, config: Config, now: datetime) -> datetime | None:
    """When the subscription's next digest is due; None unless it is active."""
    if sub.state != "active":
        return None
    return next_run(
        sub.frequency, sub.at_time, sub.weekday, sub.timezone, now, config.digests.immediate_every_minutes
    )


def describe(sub: Subscription, config: Config, now: datetime) -> dict[str, Any]:
    upcoming = upcoming_run(sub, config, now)
    return {
        "id": sub.id,
        "email": sub.email,
        "state": sub.state,
        "jurisdictions": list(sub.jurisdictions),
        "categories": list(sub.categories),
        "direction": sub.direction,
        "confirmed_only": sub.confirmed_only,
        "include_uncertain": sub.include_uncertain,
        "status_changes": sub.status_changes,
        "search": sub.search_text,
        "bill_id": sub.bill_id,
        "member_id": sub.member_id,
        "frequency": sub.frequency,
        "at": sub.at_time,
        "weekday": WEEKDAYS[sub.weekday],
        "timezone": sub.timezone,
        "channels": channels_text(sub),
        "filters": filters_text(sub, config),
        "feed": f"{sub.feed_token}.atom",
        # the hearings of its measures as an iCalendar feed (tracker.web.routes_calendar)
        "calendar": f"/calendar/subscriptions/{sub.feed_token}.ics",
        "next_run": None if upcoming is None else upcoming.isoformat(),
        "created_at": sub.created_at.isoformat(),
    }


_DIRECTION_WORDS = {
    "expands": "expand sanctuary",
    "restricts": "restrict sanctuary",
    "neutral": "are neutral",
}


def filters_text(sub: Subscription, config: Config | None = None, member: str | None = None) -> str:
    """The filters in words: city names, category and direction labels (never internal codes); ``member``:
    the followed member's name."""
    if sub.bill_id is not None:
        return f"follows bill {sub.bill_id}: its status changes and hearings, whatever its match"
    if sub.member_id is not None:
        if member is None:
            session = object_session(sub)
            found = session.get(Member, sub.member_id) if session is not None else None
            member = found.name if found is not None else None
        who = member or f"council member {sub.member_id}"
        words = "confirmed by an editor" if sub.confirmed_only else "matched"
        parts = [f"follows {who}: new sponsorships of sanctuary measures ({words}) and votes on them"]
        if sub.categories:
            parts.append(", ".join(category_label(c) for c in sub.categories))
        if sub.direction:
            parts.append(f"only measures that {_DIRECTION_WORDS.get(sub.direction, sub.direction)}")
        return "; ".join(parts)
    names = {j.slug: j.name for j in config.jurisdictions} if config is not None else {}
    cities = [names.get(slug, slug) for slug in sub.jurisdictions]
    parts = [", ".join(cities) if cities else "all cities"]
    parts.append(", ".join(category_label(c) for c in sub.categories) if sub.categories else "all categories")
    if sub.direction:
        words = _DIRECTION_WORDS.get(sub.direction, direction_label(sub.direction))
        parts.append(f"only measures that {words}")
    if sub.search_text:
        # a saved search is not limited to sanctuary matches (docs/digests.md)
        parts.insert(0, f"bills containing “{sub.search_text}”, matched or not")
    else:
        parts.append(
            "confirmed by an editor only" if sub.confirmed_only else "incl. matches not yet reviewed"
        )
        if sub.include_uncertain and not sub.confirmed_only:  # (one stored before 2026-12-07 gets none)
            parts.append("incl. uncertain matches")
    if not sub.status_changes:
        parts.append("no status changes")
    return "; ".join(parts)


def list_subscriptions(session: Session, include_removed: bool = False) -> list[Subscription]:
    q = select(Subscription).order_by(Subscription.id)
    if not include_removed:
        q = q.where(Subscription.state != "removed")
    return list(session.scalars(q))
