"""The tests' one factory module: jurisdictions, bills (with their actions, sponsors, attachments and status
changes), matches and crawl runs written straight into the database, without a crawl.

* :func:`bill` — one bill row in a session, with the ``first_seen`` status change an import writes;
  :func:`make_bill` — one bill and its children in its own transaction, matched as an import matches it
  (the web pages' tests); :func:`add_bills` — several, by identifier (the review tests).
* :func:`match` — a stored match written as given (the digest tests choose its categories, direction and
  review state); :func:`retitle` — a changed title re-matched, as an import of a changed bill does.
* :func:`normalized_bill` — a contract bill (what a platform hands the importer), for the import tests.
* :func:`normalized_meeting` — a contract meeting; :func:`store_meetings` — meetings stored as an import
  stores them (hearing changes included); :func:`hearing` — one upcoming meeting with bills on its agenda.
* :func:`change` and :func:`status_change` — a status change in a session or in its own transaction.

Times come from :data:`T0` (a fixed instant) or from tests/clock.py.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from itertools import count
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from db.engine import session_scope
from db.models import Action, Attachment, Bill, CrawlRun, Jurisdiction, Sponsor, StatusChange
from db.models_matcher import TextEmbedding
from db.models_review import BillMatch, ReviewEvent
from tests.clock import utc_now
from tracker.contract import (
    NormalizedBill,
    NormalizedMeeting,
    NormalizedMeetingItem,
    NormalizedVote,
    identifier_key,
)
from tracker.matcher.apply import MatchSummary, match_bills
from tracker.meetings import MeetingImporter, MeetingsSummary

#: When the factories' bills were first seen (and their jurisdictions created): a fixed instant.
T0 = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)

GANG = "Ordinance abolishing the Riverton Police Department gang database"
RINK = "Agreement with Frostline Arena Management for operation of the Riverton Municipal Ice Rink"
DETAINERS = (
    "An ordinance amending Chapter 2-32 of the Municipal Code to prohibit the use of City resources to honor "
    "civil immigration detainer requests"
)
PARKING = "Ordinance establishing residential permit parking Zone 3 on Old Mill Road"
FLOCK = "Authorize a 3-year agreement with Flock Safety for automated license plate reader cameras"
XSS = "<script>alert(1)</script>"
ESCAPED_XSS = "&lt;script&gt;alert(1)&lt;/script&gt;"

#: The councils' names (those of tests/digests/helpers.py's configuration); any other slug is
#: "<Slug> City Council".
NAMES = {"riverton": "Riverton City Council", "portalder": "Port Alder City Council"}
DEFAULT_TITLE = "Ordinance limiting cooperation with civil immigration detainers"
DEFAULT_URL = "https://riverton.legistar.com/LegislationDetail.aspx?ID=1"

_ids = count(1)


def jurisdiction(session: Session, slug: str = "riverton", name: str | None = None) -> Jurisdiction:
    """The jurisdiction ``slug``, created the first time it is asked for."""
    row = session.scalar(select(Jurisdiction).where(Jurisdiction.slug == slug))
    if row is None:
        name = name or NAMES.get(slug) or f"{slug.title()} City Council"
        row = Jurisdiction(slug=slug, name=name, platform="legistar", created_at=T0)
        session.add(row)
        session.flush()
    return row


def normalized_bill(source_id: str, **fields: Any) -> NormalizedBill:
    """A contract bill as a platform hands it to the importer: file number ``F-<source_id>``, an
    introduced ordinance with every optional field empty, but for ``fields``."""
    values: dict[str, Any] = {
        "identifier": f"F-{source_id}",
        "title": None,
        "name": None,
        "type_name": "Ordinance",
        "status": "Introduced",
        "status_source_id": None,
        "stage": "introduced",
        "body_name": None,
        "version": None,
        "introduced": None,
        "agenda_date": None,
        "passed_date": None,
        "enacted_date": None,
        "enactment_number": None,
        "source_url": None,
        "public_url": None,
        "portal_modified_at": None,
        "portal_row_version": None,
        "raw": {},
    }
    return NormalizedBill(source_id=source_id, **{**values, **fields})


def bill(
    session: Session,
    slug: str = "riverton",
    *,
    title: str = DEFAULT_TITLE,
    identifier: str | None = None,
    name: str | None = None,
    city: str | None = None,
    first_seen: datetime = T0,
    stage: str = "introduced",
    status: str = "Introduced",
    url: str | None = DEFAULT_URL,
    introduced: date | None = None,
    first_seen_change: bool = True,
) -> Bill:
    """One bill of ``slug`` (``city`` names its jurisdiction when it is new), with the ``first_seen`` status
    change an import writes unless ``first_seen_change=False``."""
    n = next(_ids)
    row = Bill(
        jurisdiction_id=jurisdiction(session, slug, city).id,
        source_id=str(1000 + n),
        identifier=identifier or f"O2026-{n:04d}",
        identifier_key=identifier_key(identifier or f"O2026-{n:04d}"),
        title=title,
        name=name,
        type_name="Ordinance",
        status=status,
        stage=stage,
        introduced=introduced,
        public_url=url,
        source_url=None,
        content_hash=f"h{n}",
        raw={},
        first_seen_at=first_seen,
        updated_at=first_seen,
        sponsors_fetched_at=first_seen,
    )
    session.add(row)
    session.flush()
    if first_seen_change:
        session.add(
            StatusChange(
                bill_id=row.id,
                seq=1,
                kind="first_seen",
                new_status=status,
                new_stage=stage,
                observed_at=first_seen,
            )
        )
        session.flush()
    return row


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
    """One bill and its children in its own transaction, matched unless ``match=False``; returns its id.
    No status change is written (:func:`status_change` adds them)."""
    with session_scope(engine) as s:
        b = bill(
            s,
            slug,
            title=title,
            identifier=identifier,
            name=name,
            city=city,
            first_seen=first_seen_at or T0,
            stage=stage,
            status=status,
            url=None,
            introduced=introduced,
            first_seen_change=False,
        )
        b.public_url = (
            f"https://{slug}.legistar.com/LegislationDetail.aspx?ID={b.source_id}"
            if public_url == "default"
            else public_url
        )
        n = b.source_id
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
        s.flush()
        if match:
            match_bills(s, [b.id])
        return b.id


def add_bills(
    engine, titles: dict[str, str], *, slug: str = "riverton", match: bool = True
) -> dict[str, int]:
    """Insert bills (identifier -> title) and match them, as an import does. Returns identifier -> id."""
    with session_scope(engine) as s:
        ids = {
            ident: bill(s, slug, title=title, identifier=ident, first_seen_change=False).id
            for ident, title in titles.items()
        }
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


#: The columns of a match row that matching writes (what a precomputed result must reproduce).
MATCH_FIELDS = (
    "relevant", "score", "categories", "direction", "category_scores", "evidence", "uncertain", "learned",
    "input_hash", "rules_hash", "review_state",
)  # fmt: skip


def stored_matches(engine) -> tuple[dict[int, tuple], set[tuple[str, str, bytes]]]:
    """Every match row's :data:`MATCH_FIELDS` by bill id, and the stored embeddings."""
    with session_scope(engine) as s:
        rows = {m.bill_id: tuple(getattr(m, f) for f in MATCH_FIELDS) for m in s.scalars(select(BillMatch))}
        vectors = {(e.model, e.text_hash, e.vector) for e in s.scalars(select(TextEmbedding))}
    return rows, vectors


def match(
    session: Session,
    bill_row: Bill,
    *,
    relevant: bool = True,
    categories: tuple[str, ...] = ("detainers_warrants",),
    direction: str | None = "expands",
    review_state: str | None = "pending",
    decided_at: datetime | None = None,
    editor_categories: list[str] | None = None,
    source: str = "matcher",
    evidence: list[dict[str, Any]] | None = None,
) -> BillMatch:
    """A stored match written as given (not computed by the matcher)."""
    if evidence is None:
        evidence = (
            [
                {
                    "kind": "term",
                    "rule": categories[0],
                    "phrase": "immigration detainers",
                    "field": "title",
                    "start": 0,
                    "end": 1,
                }
            ]
            if categories
            else []
        )
    row = BillMatch(
        bill_id=bill_row.id,
        relevant=relevant,
        score=0.9 if relevant else 0.1,
        categories=list(categories),
        direction=direction,
        category_scores={c: 0.9 for c in categories},
        evidence=evidence,
        rules_version=1,
        rules_hash="r",
        input_hash="i",
        content_keys={},
        matched_at=bill_row.first_seen_at,
        source=source,
        review_state=review_state,
        decided_at=decided_at,
        decided_by="editor" if decided_at else None,
        editor_categories=editor_categories
        if editor_categories is not None
        else (list(categories) if review_state == "confirmed" else None),
        editor_direction=direction if review_state == "confirmed" else None,
        needs_review=False,
        created_at=bill_row.first_seen_at,
        updated_at=bill_row.first_seen_at,
    )
    session.add(row)
    session.flush()
    return row


def match_row(engine, bill_id: int) -> BillMatch:
    """A bill's stored match, detached from its session."""
    with session_scope(engine) as s:
        row = s.get(BillMatch, bill_id)
        assert row is not None
        s.expunge(row)
        return row


def events(engine, bill_id: int) -> list[tuple[str, str]]:
    """A bill's review events: (kind, actor), oldest first."""
    with session_scope(engine) as s:
        return [
            (e.kind, e.actor)
            for e in s.scalars(
                select(ReviewEvent).where(ReviewEvent.bill_id == bill_id).order_by(ReviewEvent.id)
            )
        ]


def change(
    session: Session,
    bill_row: Bill,
    *,
    new_status: str,
    new_stage: str,
    observed_at: datetime,
) -> StatusChange:
    """A status change of ``bill_row`` after its last one, as a crawl records it (the bill moves too)."""
    seq = (
        session.scalar(select(func.max(StatusChange.seq)).where(StatusChange.bill_id == bill_row.id)) or 0
    ) + 1
    row = StatusChange(
        bill_id=bill_row.id,
        seq=seq,
        kind="changed",
        old_status=bill_row.status,
        new_status=new_status,
        old_stage=bill_row.stage,
        new_stage=new_stage,
        observed_at=observed_at,
    )
    bill_row.status, bill_row.stage = new_status, new_stage
    session.add(row)
    session.flush()
    return row


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
    """A status change of a :func:`make_bill` bill in its own transaction (observed now unless given),
    optionally explained by one of its actions."""
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
                observed_at=observed_at or utc_now(seconds=False),
                action_id=action_id,
            )
        )


def set_first_seen(engine, bill_id: int, when: datetime) -> None:
    with session_scope(engine) as s:
        s.execute(update(Bill).where(Bill.id == bill_id).values(first_seen_at=when))


def days_ago(n: int) -> datetime:
    """``n`` days before the machine's time (the web app reads the machine's clock)."""
    return utc_now(seconds=False) - timedelta(days=n)


def crawl_run(
    session: Session, slug: str, status: str, started: datetime, message: str | None = None
) -> CrawlRun:
    """A finished crawl run of ``slug`` (one minute long)."""
    row = CrawlRun(
        jurisdiction_id=jurisdiction(session, slug).id,
        mode="incremental",
        status=status,
        started_at=started,
        finished_at=started + timedelta(minutes=1),
        since=None,
        seen=10 if status == "succeeded" else 0,
        new=0,
        changed=0,
        status_changes=0,
        vanished=0,
        errors=0 if status == "succeeded" else 1,
        requests=5,
        message=message,
    )
    session.add(row)
    session.flush()
    return row


def normalized_meeting(
    source_id: str,
    starts_at: datetime | None,
    bills: list[Bill] | None = None,
    *,
    body: str = "Public Safety Committee",
    location: str | None = "City Hall, Room 340",
    cancelled: bool = False,
    time_zone: str = "America/Los_Angeles",
    votes: dict[str, list[tuple[str, str]]] | None = None,
    result: str | None = None,
    agenda_url: str | None = "https://riverton.legistar.com/View.ashx?M=A&ID=1",
    comment_instructions: str | None = None,
    items_complete: bool = True,
    timed: bool = True,
) -> NormalizedMeeting:
    """A contract meeting whose agenda lists ``bills`` (one item each, by source id); ``votes`` maps a bill's
    source id to its roll call [(member, vote)], and gives those items ``result``. Without ``timed``, the
    portal gave no time: ``starts_at`` must be local midnight of the meeting's date."""
    from zoneinfo import ZoneInfo

    items = []
    for n, b in enumerate(bills or [], start=1):
        roll = (votes or {}).get(b.source_id, [])
        items.append(
            NormalizedMeetingItem(
                source_id=f"{source_id}-{b.source_id}",
                sequence=n,
                title=b.title,
                bill_source_id=b.source_id,
                identifier=b.identifier,
                action="Vote" if roll else None,
                result=result if roll else None,
                votes=[NormalizedVote(member=m, vote=v, text=v.title()) for m, v in roll],
            )
        )
    return NormalizedMeeting(
        source_id=source_id,
        body_name=body,
        starts_at=starts_at,
        local_date=starts_at.astimezone(ZoneInfo(time_zone)).date() if starts_at else None,
        time_zone=time_zone,
        location=location,
        agenda_url=agenda_url,
        public_url=f"https://riverton.legistar.com/MeetingDetail.aspx?ID={source_id}",
        comment_instructions=comment_instructions,
        cancelled=cancelled,
        items=items,
        items_complete=items_complete,
        raw={"EventId": source_id},
        timed=timed,
    )


def store_meetings(
    session: Session,
    meetings: list[NormalizedMeeting],
    *,
    observed_at: datetime,
    slug: str = "riverton",
    window: tuple[datetime, datetime] | None = None,
) -> MeetingsSummary:
    """Meetings stored as a crawl's import stores them, observed at ``observed_at``."""
    importer = MeetingImporter(session, jurisdiction(session, slug), None, observed_at)
    listed = {m.source_id for m in meetings}
    return importer.store(meetings, window, listed)


def hearing(
    session: Session,
    bills: list[Bill],
    starts_at: datetime,
    *,
    source_id: str | None = None,
    observed_at: datetime = T0,
    **fields: Any,
) -> str:
    """One meeting at ``starts_at`` with ``bills`` on its agenda, stored as seen at ``observed_at``; returns
    its source id."""
    source_id = source_id or f"E{next(_ids)}"
    slug = session.get(Jurisdiction, bills[0].jurisdiction_id).slug if bills else "riverton"
    store_meetings(
        session,
        [normalized_meeting(source_id, starts_at, bills, **fields)],
        observed_at=observed_at,
        slug=slug,
    )
    return source_id
