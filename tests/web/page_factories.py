"""Test data for the editor and staff pages: bills written straight into the database (no crawl) with
their actions, sponsors, attachments and status changes, matched as an import matches them."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from itertools import count

from sqlalchemy import update

from db.engine import session_scope
from db.models import Action, Attachment, Bill, Sponsor, StatusChange
from db.models_review import BillMatch
from tests.clock import utc_now
from tests.review.factories import jurisdiction
from tracker.matcher.apply import match_bills

XSS = "<script>alert(1)</script>"
ESCAPED_XSS = "&lt;script&gt;alert(1)&lt;/script&gt;"
_n = count(1)


def now() -> datetime:
    return utc_now(seconds=False)  # the web app reads the machine's clock (sessions, first seen)


def make_bill(
    engine,
    title: str,
    *,
    slug: str = "riverton",
    city: str | None = None,
    identifier: str | None = None,
    name: str | None = None,
    status: str = "Introduced",
    stage: str = "introduced",
    introduced: date | None = None,
    first_seen_at: datetime | None = None,
    public_url: str | None = "default",
    actions: list[tuple[date | None, str, str | None]] = (),
    sponsors: list[str] = (),
    attachments: list[tuple[str, str]] = (),
    match: bool = True,
) -> int:
    """One bill (and its children); returns its id."""
    n = next(_n)
    with session_scope(engine) as s:
        jid = jurisdiction(s, slug, city or f"{slug.title()} City Council")
        b = Bill(
            jurisdiction_id=jid,
            source_id=str(70000 + n),
            identifier=identifier or f"O2026-{n:04d}",
            title=title,
            name=name,
            type_name="Ordinance",
            status=status,
            stage=stage,
            introduced=introduced,
            content_hash=f"h{n}",
            raw={},
            first_seen_at=first_seen_at or datetime(2026, 11, 2, 12, tzinfo=UTC),
            updated_at=first_seen_at or datetime(2026, 11, 2, 12, tzinfo=UTC),
            public_url=f"https://{slug}.legistar.com/LegislationDetail.aspx?ID={70000 + n}"
            if public_url == "default"
            else public_url,
        )
        s.add(b)
        s.flush()
        for i, (day, description, text) in enumerate(actions):
            s.add(
                Action(
                    bill_id=b.id,
                    source_id=f"{n}-{i}",
                    sequence=i,
                    action_date=day,
                    description=description,
                    text=text,
                    body_name="City Council",
                    classification="other",
                    raw={},
                )
            )
        for i, sponsor in enumerate(sponsors):
            s.add(Sponsor(bill_id=b.id, sequence=i, name=sponsor, is_primary=i == 0))
        for i, (att_name, url) in enumerate(attachments):
            s.add(Attachment(bill_id=b.id, source_id=f"{n}-{i}", sequence=i, name=att_name, url=url))
        if match:
            match_bills(s, [b.id])
        return b.id


def status_change(
    engine,
    bill_id: int,
    old: str,
    new: str,
    *,
    new_stage: str = "in_committee",
    observed_at: datetime | None = None,
    kind: str = "changed",
    action_sequence: int | None = None,
) -> None:
    with session_scope(engine) as s:
        seq = len(s.get(Bill, bill_id).status_changes)
        action_id = None
        if action_sequence is not None:
            action_id = next(a.id for a in s.get(Bill, bill_id).actions if a.sequence == action_sequence)
        s.add(
            StatusChange(
                bill_id=bill_id,
                seq=seq,
                kind=kind,
                old_status=old,
                new_status=new,
                old_stage="introduced",
                new_stage=new_stage,
                observed_at=observed_at or now(),
                action_id=action_id,
            )
        )


def set_first_seen(engine, bill_id: int, when: datetime) -> None:
    with session_scope(engine) as s:
        s.execute(update(Bill).where(Bill.id == bill_id).values(first_seen_at=when))


def match_of(engine, bill_id: int) -> BillMatch:
    with session_scope(engine) as s:
        row = s.get(BillMatch, bill_id)
        assert row is not None
        s.expunge(row)
        return row


def days_ago(n: int) -> datetime:
    return now() - timedelta(days=n)
