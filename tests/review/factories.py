"""Small factories for the review tests: jurisdictions and bills written straight into the database (no
crawl), and a way to change a bill as an import would."""

from __future__ import annotations

from datetime import UTC, datetime
from itertools import count

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from db.engine import session_scope
from db.models import Bill, Jurisdiction
from db.models_review import BillMatch, ReviewEvent
from tracker.matcher.apply import MatchSummary, match_bills

T0 = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
_ids = count(1)

GANG = "Ordinance abolishing the Riverton Police Department gang database"
RINK = "Agreement with Frostline Arena Management for operation of the Riverton Municipal Ice Rink"
DETAINERS = (
    "An ordinance amending Chapter 2-32 of the Municipal Code to prohibit the use of City resources to honor "
    "civil immigration detainer requests"
)
PARKING = "Ordinance establishing residential permit parking Zone 3 on Old Mill Road"
FLOCK = "Authorize a 3-year agreement with Flock Safety for automated license plate reader cameras"


def jurisdiction(session: Session, slug: str = "riverton", name: str = "Riverton City Council") -> int:
    found = session.scalar(select(Jurisdiction.id).where(Jurisdiction.slug == slug))
    if found is not None:
        return found
    j = Jurisdiction(slug=slug, name=name, platform="legistar", created_at=T0)
    session.add(j)
    session.flush()
    return j.id


def bill(
    session: Session,
    title: str,
    *,
    identifier: str | None = None,
    slug: str = "riverton",
    name: str | None = None,
    status: str = "Introduced",
) -> int:
    n = next(_ids)
    b = Bill(
        jurisdiction_id=jurisdiction(session, slug),
        source_id=str(40000 + n),
        identifier=identifier or f"O2026-{n:04d}",
        title=title,
        name=name,
        type_name="Ordinance",
        status=status,
        stage="introduced",
        content_hash=f"h{n}",
        raw={},
        first_seen_at=T0,
        updated_at=T0,
        public_url=f"https://riverton.legistar.com/LegislationDetail.aspx?ID={40000 + n}",
    )
    session.add(b)
    session.flush()
    return b.id


def add_bills(
    engine, titles: dict[str, str], *, slug: str = "riverton", match: bool = True
) -> dict[str, int]:
    """Insert bills (identifier -> title) and match them, as an import does. Returns identifier -> id."""
    with session_scope(engine) as s:
        ids = {ident: bill(s, title, identifier=ident, slug=slug) for ident, title in titles.items()}
        if match:
            match_bills(s, ids.values())
    return ids


def retitle(engine, bill_id: int, title: str, *, name: str | None = None, **kwargs) -> MatchSummary:
    """Change a bill's title (and name) and re-match it, as an import of a changed bill does."""
    with session_scope(engine) as s:
        values = {"title": title}
        if name is not None:
            values["name"] = name
        s.execute(update(Bill).where(Bill.id == bill_id).values(**values))
        return match_bills(s, [bill_id], **kwargs)


def match_row(engine, bill_id: int) -> BillMatch:
    with session_scope(engine) as s:
        row = s.get(BillMatch, bill_id)
        assert row is not None
        s.expunge(row)
        return row


def events(engine, bill_id: int) -> list[tuple[str, str]]:
    with session_scope(engine) as s:
        return [
            (e.kind, e.actor)
            for e in s.scalars(
                select(ReviewEvent).where(ReviewEvent.bill_id == bill_id).order_by(ReviewEvent.id)
            )
        ]
